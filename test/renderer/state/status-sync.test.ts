import { describe, expect, it } from 'vitest';
import type { ApiResult, StatusDelta, StatusSnapshot, VersionedStatus } from '../../../shared/api.js';
import { StatusPublisher } from '../../../main/app/status-delta.js';
import { applyStatusDelta, StatusSync } from '../../../renderer/src/state/status-sync.js';
import { later, scaleStatus } from '../../support/status-fixture.js';

/**
 * The window's side of the status deltas: applied strictly in version order onto the snapshot it holds; a
 * missed one (or one that arrives before the first picture) makes it fetch the whole status once and carry on
 * from there. Driven against main's real publisher, with the transport replaced by arrays.
 */

function changed(s: StatusSnapshot, index: number, health: StatusSnapshot['connections'][number]['health']): StatusSnapshot {
  const next = later(s, new Date(Date.parse(s.generatedAt) + 1000).toISOString());
  next.connections[index] = { ...next.connections[index]!, health };
  return next;
}

/** Main (a publisher over a changing status) and one window (a StatusSync), connected by hand. */
function world(initial: StatusSnapshot) {
  let current = initial;
  const deltas: StatusDelta[] = [];
  const wholes: VersionedStatus[] = [];
  const pub = new StatusPublisher({ listening: () => true, whole: (s) => wholes.push(s), delta: (d) => deltas.push(d) });
  pub.publish(current);
  wholes.length = 0;
  let held: StatusSnapshot | null = null;
  const calls: string[] = [];
  let gate: Promise<void> | null = null;
  const sync = new StatusSync({
    fetchStatus: async (): Promise<ApiResult<VersionedStatus>> => {
      calls.push('status.get');
      const { snapshot, version } = pub.publish(current);
      if (gate) await gate;
      return { ok: true, value: { ...snapshot, version } };
    },
    fetchVersion: async () => {
      calls.push('status.sync');
      return { ok: true, value: { version: pub.publish(current).version } };
    },
    get: () => held,
    set: (s) => void (held = s),
    catchUpMs: 20,
  });
  return {
    sync,
    calls,
    deltas,
    get snapshot() {
      return held;
    },
    /** Main's status changes and is pushed; returns the delta it sent (not yet delivered to the window). */
    change(next: StatusSnapshot): StatusDelta {
      current = next;
      const before = deltas.length;
      pub.publish(current);
      expect(deltas.length).toBe(before + 1);
      return deltas[deltas.length - 1]!;
    },
    get current() {
      return current;
    },
    hold(): () => void {
      let release!: () => void;
      gate = new Promise((r) => (release = r));
      return () => {
        gate = null;
        release();
      };
    },
  };
}

describe('status deltas (window)', () => {
  it('applies deltas in order onto the snapshot it holds, keeping untouched entries as they were', async () => {
    const w = world(scaleStatus({ orgs: 100 }));
    await w.sync.resync();
    const first = w.snapshot!;
    const d1 = w.change(changed(w.current, 7, 'degraded'));
    const d2 = w.change(changed(w.current, 8, 'needs-reconnect'));
    w.sync.delta(d1);
    w.sync.delta(d2);
    expect(w.snapshot).toEqual(w.current);
    expect(w.sync.version).toBe(d2.version);
    expect(w.calls).toEqual(['status.get']);
    // Only the changed entries are new objects; the rest, and untouched collections, are the same ones.
    expect(w.snapshot!.connections[6]).toBe(first.connections[6]);
    expect(w.snapshot!.connections[7]).not.toBe(first.connections[7]);
    expect(w.snapshot!.grants).toBe(first.grants);
  });

  it('ignores a delta it already has', async () => {
    const w = world(scaleStatus({ orgs: 10 }));
    await w.sync.resync();
    const d = w.change(changed(w.current, 1, 'degraded'));
    w.sync.delta(d);
    const after = w.snapshot;
    w.sync.delta(d);
    expect(w.snapshot).toBe(after);
    expect(w.calls).toEqual(['status.get']);
  });

  it('a gap (a missed delta) fetches the whole status once, then carries on with the deltas after it', async () => {
    const w = world(scaleStatus({ orgs: 50 }));
    await w.sync.resync();
    w.change(changed(w.current, 1, 'degraded')); // lost on the way
    const d2 = w.change(changed(w.current, 2, 'degraded'));
    const release = w.hold();
    w.sync.delta(d2);
    expect(w.calls).toEqual(['status.get', 'status.get']);
    // More pushes while the whole status is on its way: held, not a second fetch.
    const d3 = w.change(changed(w.current, 3, 'forbidden'));
    w.sync.delta(d3);
    const d4 = w.change(changed(w.current, 4, 'forbidden'));
    w.sync.delta(d4);
    expect(w.calls).toEqual(['status.get', 'status.get']);
    release();
    await w.sync.resync();
    await new Promise((r) => setTimeout(r, 0));
    expect(w.snapshot).toEqual(w.current);
    expect(w.sync.version).toBe(d4.version);
    expect(w.calls).toEqual(['status.get', 'status.get']);
    expect(w.sync.resyncs).toBe(2);
  });

  it('deltas that arrive before the first picture wait for it, and those it already includes are dropped', async () => {
    const w = world(scaleStatus({ orgs: 10 }));
    const early = w.change(changed(w.current, 0, 'degraded'));
    w.sync.delta(early); // the window has no base yet
    expect(w.snapshot).toBeNull();
    expect(w.calls).toEqual([]);
    await w.sync.resync();
    expect(w.snapshot).toEqual(w.current);
    expect(w.sync.version).toBe(early.version);
  });

  it('a failed fetch keeps the held deltas; the next push tries again', async () => {
    const w = world(scaleStatus({ orgs: 10 }));
    await w.sync.resync();
    const fails = new StatusSync({
      fetchStatus: async () => ({ ok: false, error: { code: 'unreachable', message: 'down' } }),
      fetchVersion: async () => ({ ok: false, error: { code: 'unreachable', message: 'down' } }),
      get: () => w.snapshot,
      set: () => undefined,
    });
    fails.adopt({ ...w.snapshot!, version: w.sync.version! });
    w.change(changed(w.current, 1, 'degraded')); // missed
    const d = w.change(changed(w.current, 2, 'degraded'));
    fails.delta(d);
    const r = await fails.resync();
    expect(r.ok).toBe(false);
    expect(fails.version).toBe(w.sync.version);
  });

  it('after an action: when the delta came before the answer nothing more is fetched; when it was missed, the whole status is', async () => {
    const w = world(scaleStatus({ orgs: 10 }));
    await w.sync.resync();
    // Nothing changed: the version matches.
    await w.sync.catchUp();
    expect(w.calls).toEqual(['status.get', 'status.sync']);

    // The push arrives (as over the socket, before the answer): applied, no fetch.
    const d = w.change(changed(w.current, 1, 'degraded'));
    w.sync.delta(d);
    await w.sync.catchUp();
    expect(w.calls).toEqual(['status.get', 'status.sync', 'status.sync']);

    // The push was lost (the socket reconnected): the version is behind, so the whole status is fetched.
    w.change(changed(w.current, 2, 'degraded'));
    await w.sync.catchUp();
    expect(w.calls).toEqual(['status.get', 'status.sync', 'status.sync', 'status.sync', 'status.get']);
    expect(w.snapshot).toEqual(w.current);
  });

  it('a whole pushed picture replaces the one held, unless it is older', async () => {
    const w = world(scaleStatus({ orgs: 10 }));
    await w.sync.resync();
    const v = w.sync.version!;
    const other = scaleStatus({ orgs: 3, apps: 1 });
    expect(w.sync.adopt({ ...other, version: v - 1 })).toBe(false);
    expect(w.sync.adopt({ ...other, version: v + 1 })).toBe(true);
    expect(w.snapshot).toEqual(other);
    expect(w.sync.version).toBe(v + 1);
  });

  it('applying a delta removes, replaces in place, appends, and reorders only when told', () => {
    const s = scaleStatus({ orgs: 4, apps: 1, staff: 2 });
    const [a, b, c, d] = s.connections;
    const b2 = { ...b!, health: 'degraded' as const };
    const e = { ...a!, id: 'e' };
    const applied = applyStatusDelta(s, { version: 2, baseVersion: 1, generatedAt: '2026-03-02T00:00:00.000Z', connections: { upsert: [b2, e], remove: [c!.id] } });
    expect(applied.connections).toEqual([a, b2, d, e]);
    expect(applied.generatedAt).toBe('2026-03-02T00:00:00.000Z');
    const reordered = applyStatusDelta(s, { version: 2, baseVersion: 1, generatedAt: s.generatedAt, connections: { upsert: [], remove: [], order: [d!.id, c!.id, b!.id, a!.id] } });
    expect(reordered.connections).toEqual([d, c, b, a]);
    expect(applyStatusDelta(s, { version: 2, baseVersion: 1, generatedAt: s.generatedAt, clockSkewMs: 120_000 }).clockSkewMs).toBe(120_000);
    const patched = applyStatusDelta(s, { version: 2, baseVersion: 1, generatedAt: s.generatedAt, connections: { patch: [{ id: c!.id, health: 'forbidden', cause: 'role-restricted' }] } });
    expect(patched.connections).toEqual([a, b, { ...c!, health: 'forbidden', cause: 'role-restricted' }, d]);
    expect(patched.connections[0]).toBe(a);
    expect(patched.apps).toBe(s.apps);
  });
});
