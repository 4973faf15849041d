import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { statusDeltaSchema, versionedStatusSchema, type StatusDelta, type StatusSnapshot, type VersionedStatus } from '../../../shared/api.js';
import { diffStatus, sameJson, StatusPublisher } from '../../../main/app/status-delta.js';
import { applyStatusDelta } from '../../../renderer/src/state/status-sync.js';
import { later, scaleStatus } from '../../support/status-fixture.js';

/**
 * Main's side of the status deltas: what a window is sent when the status changes. At the `scale` seed's size
 * (10,000 connections), a change to one connection sends that connection and nothing else; no change sends
 * nothing at all. The diff's time is printed, not asserted.
 */

function publisher(listening = true) {
  const sent: Array<{ kind: 'whole'; status: VersionedStatus } | { kind: 'delta'; delta: StatusDelta }> = [];
  const pub = new StatusPublisher({
    listening: () => listening,
    // As the event hub does: every push checked against the contract.
    whole: (status) => sent.push({ kind: 'whole', status: versionedStatusSchema.parse(status) }),
    delta: (delta) => sent.push({ kind: 'delta', delta: statusDeltaSchema.parse(delta) }),
  });
  return { pub, sent };
}

function withConnection(s: StatusSnapshot, index: number, patch: Partial<StatusSnapshot['connections'][number]>): StatusSnapshot {
  const next = later(s);
  next.connections[index] = { ...next.connections[index]!, ...patch };
  return next;
}

describe('status deltas (main)', () => {
  it('one connection changed at the scale seed: the delta holds exactly that connection (the fields that changed), under 4 KB', () => {
    const base = scaleStatus();
    expect(base.connections).toHaveLength(10_000);
    const { pub, sent } = publisher();
    const first = pub.publish(base);
    expect(sent).toEqual([{ kind: 'whole', status: { ...base, version: first.version } }]);
    sent.length = 0;

    const next = withConnection(base, 4321, { health: 'disconnected', cause: 'app-disconnected-in-org', confidence: 'confirmed', fix: 'Connect the app again in this organisation.', fixAction: 'reconnect-in-org' });
    const t0 = performance.now();
    const pushed = pub.publish(next);
    const ms = performance.now() - t0;

    expect(sent).toHaveLength(1);
    const event = sent[0]!;
    expect(event.kind).toBe('delta');
    const delta = (event as { delta: StatusDelta }).delta;
    expect(delta).toEqual({
      version: first.version + 1,
      baseVersion: first.version,
      generatedAt: next.generatedAt,
      connections: { patch: [{ id: next.connections[4321]!.id, health: 'disconnected', cause: 'app-disconnected-in-org', confidence: 'confirmed', fix: 'Connect the app again in this organisation.', fixAction: 'reconnect-in-org' }] },
    });
    // The window's side rebuilds exactly the new picture from it.
    expect(applyStatusDelta(base, delta)).toEqual(next);
    expect(pushed.version).toBe(first.version + 1);
    const bytes = Buffer.byteLength(JSON.stringify({ type: 'event', event: 'statusDelta', payload: delta }));
    const whole = Buffer.byteLength(JSON.stringify({ type: 'event', event: 'status', payload: { ...next, version: 2 } }));
    expect(bytes).toBeLessThan(4096);
    console.log(`status delta for one connection of ${next.connections.length}: ${bytes} bytes on the wire (the whole status: ${whole} bytes); publish with the diff took ${ms.toFixed(1)} ms`);
  });

  it('a sign-in refreshed: its 50 connections\' new `since` is said once, with their ids', () => {
    const base = scaleStatus();
    const { pub, sent } = publisher();
    pub.publish(base);
    sent.length = 0;
    const next = later(base);
    const grant = next.grants[7]!;
    const at = '2026-03-01T09:30:00.000Z';
    next.grants[7] = { ...grant, lastRefreshAt: at };
    next.connections = next.connections.map((c) => (c.grantId === grant.id ? { ...c, since: at } : c));
    pub.publish(next);
    const delta = (sent[0] as { delta: StatusDelta }).delta;
    expect(delta.grants).toEqual({ patch: [{ id: grant.id, lastRefreshAt: at }] });
    const theirs = next.connections.filter((c) => c.grantId === grant.id).map((c) => c.id);
    expect(theirs).toHaveLength(50);
    // Said once for all of them.
    expect(delta.connections).toEqual({ patchAlike: [{ ids: theirs, set: { since: at } }] });
    expect(applyStatusDelta(base, delta)).toEqual(next);
    const bytes = Buffer.byteLength(JSON.stringify({ type: 'event', event: 'statusDelta', payload: delta }));
    console.log(`status delta for one sign-in refreshed (its 50 connections' since): ${bytes} bytes on the wire`);
  });

  it('nothing changed (only the time): no push at all, and the version stays', () => {
    const base = scaleStatus({ orgs: 200 });
    const { pub, sent } = publisher();
    const v = pub.publish(base).version;
    sent.length = 0;
    expect(pub.publish(later(base)).version).toBe(v);
    expect(pub.publish(later(base, '2026-03-01T09:10:00.000Z')).version).toBe(v);
    expect(sent).toEqual([]);
  });

  it('versions rise by one per change pushed, each delta naming the one before', () => {
    const { pub, sent } = publisher();
    let s = scaleStatus({ orgs: 50 });
    pub.publish(s);
    for (let i = 0; i < 5; i++) {
      s = withConnection(s, i, { health: 'degraded' });
      pub.publish(s);
    }
    const deltas = sent.flatMap((e) => (e.kind === 'delta' ? [e.delta] : []));
    expect(deltas.map((d) => [d.baseVersion, d.version])).toEqual([[1, 2], [2, 3], [3, 4], [4, 5], [5, 6]]);
  });

  it('names entries added, changed and removed by id, other fields only when they changed', () => {
    const base = scaleStatus({ orgs: 20, apps: 2, staff: 4 });
    const next = later(base);
    const gone = next.connections.splice(3, 2).map((c) => c.id);
    const added = { ...next.connections[0]!, id: 'new-connection', orgId: 'new-org', orgName: 'New Org' };
    next.connections.push(added);
    next.apps[1] = { ...next.apps[1]!, connectionCount: 19 };
    next.connections[7] = { ...next.connections[7]!, health: 'degraded' };
    next.connections[9] = { ...next.connections[9]!, health: 'degraded' };
    next.connections[10] = { ...next.connections[10]!, health: 'forbidden', cause: 'role-restricted' };
    next.staff[2] = { ...next.staff[2]!, status: 'leaving' };
    next.incidents.push({
      id: 'inc-1',
      cause: 'staff-removed',
      confidence: 'likely',
      staffId: next.staff[2]!.id,
      appId: null,
      connectionCount: 2,
      organisationCount: 2,
      summary: 'Staff Member 2 is leaving: 2 organisations depend on them',
      evidence: ['marked leaving'],
      fix: { text: 'Move the connections to another advisor.', action: 'reconnect' },
      openedAt: next.generatedAt,
      tenantIds: ['a', 'b'],
    });
    next.settings = { ...next.settings, notifications: false };
    next.keychain = 'locked';

    const diff = diffStatus(base, next)!;
    expect(diff.changes).toEqual({
      generatedAt: next.generatedAt,
      keychain: 'locked',
      settings: next.settings,
      apps: { patch: [{ id: next.apps[1]!.id, connectionCount: 19 }] },
      staff: { patch: [{ id: next.staff[2]!.id, status: 'leaving' }] },
      connections: {
        upsert: [added],
        patch: [{ id: next.connections[10]!.id, health: 'forbidden', cause: 'role-restricted' }],
        patchAlike: [{ ids: [next.connections[7]!.id, next.connections[9]!.id], set: { health: 'degraded' } }],
        remove: gone,
      },
      incidents: { upsert: [next.incidents[0]] },
    });
    expect(statusDeltaSchema.safeParse({ ...diff.changes, version: 2, baseVersion: 1 }).success).toBe(true);
    // The window's side rebuilds exactly the new picture from it.
    expect(applyStatusDelta(base, { ...diff.changes, version: 2, baseVersion: 1 })).toEqual(next);
  });

  it('says the order only when the entries moved', () => {
    const base = scaleStatus({ orgs: 10, apps: 1, staff: 2 });
    const next = later(base);
    next.connections.reverse();
    const diff = diffStatus(base, next)!;
    expect(diff.changes.connections).toEqual({ order: next.connections.map((c) => c.id) });
    expect(applyStatusDelta(base, { ...diff.changes, version: 2, baseVersion: 1 })).toEqual(next);

    // A new incident opened earlier than the last one sorts in between: the order says where.
    const inc = (id: string, openedAt: string) => ({ id, cause: 'network' as const, confidence: 'possible' as const, staffId: null, appId: null, connectionCount: 1, organisationCount: 1, summary: id, evidence: [], fix: { text: '', action: 'wait' as const }, openedAt, tenantIds: [] });
    const a = { ...later(base), incidents: [inc('i1', '2026-01-01T00:00:00.000Z'), inc('i3', '2026-01-03T00:00:00.000Z')] };
    const b = { ...later(a), incidents: [inc('i1', '2026-01-01T00:00:00.000Z'), inc('i2', '2026-01-02T00:00:00.000Z'), inc('i3', '2026-01-03T00:00:00.000Z')] };
    const d = diffStatus(a, b)!;
    expect(d.changes.incidents).toEqual({ upsert: [b.incidents[1]], order: ['i1', 'i2', 'i3'] });
    expect(applyStatusDelta(a, { ...d.changes, version: 2, baseVersion: 1 })).toEqual(b);
  });

  it('pushes the whole picture when a change touches most of it and the delta would be larger (another profile opened)', () => {
    const { pub, sent } = publisher();
    const base = scaleStatus({ orgs: 30 });
    pub.publish(base);
    sent.length = 0;
    const other = scaleStatus({ orgs: 30, apps: 2 });
    for (const name of ['apps', 'staff', 'grants', 'connections'] as const) for (const e of other[name]) e.id = `demo-${e.id}`;
    const { version } = pub.publish(other);
    expect(sent.map((e) => e.kind)).toEqual(['whole']);
    expect(sent[0]).toMatchObject({ status: { version, connections: other.connections } });

    // Every connection changed, but alike: the delta is still the smaller, so it is what is sent.
    sent.length = 0;
    const refreshed = later(other);
    for (const c of refreshed.connections) c.since = '2026-03-01T10:00:00.000Z';
    pub.publish(refreshed);
    expect(sent.map((e) => e.kind)).toEqual(['delta']);
  });

  it('without a window listening, nothing is diffed or sent; the next window starts from the version', () => {
    let listening = false;
    const sent: unknown[] = [];
    const pub = new StatusPublisher({ listening: () => listening, whole: (s) => sent.push(s), delta: (d) => sent.push(d) });
    const s = scaleStatus({ orgs: 10 });
    pub.publish(s);
    const quiet = withConnection(s, 0, { health: 'degraded' });
    const v = pub.publish(quiet).version;
    expect(sent).toEqual([]);
    listening = true;
    const next = withConnection(quiet, 1, { health: 'degraded' });
    pub.publish(next);
    expect(sent).toEqual([expect.objectContaining({ version: v + 1, baseVersion: v, connections: { patch: [{ id: next.connections[1]!.id, health: 'degraded' }] } })]);
  });

  it('compares JSON structurally', () => {
    expect(sameJson({ a: [1, { b: null }] }, { a: [1, { b: null }] })).toBe(true);
    expect(sameJson({ a: 1 }, { a: 1, b: 2 })).toBe(false);
    expect(sameJson({ a: 1, b: 2 }, { a: 1 })).toBe(false);
    expect(sameJson([1], { 0: 1 })).toBe(false);
    expect(sameJson(null, {})).toBe(false);
    expect(sameJson({ a: null }, { a: 0 })).toBe(false);
  });

  it('diffs the scale seed in linear time (printed)', () => {
    const base = scaleStatus();
    const changedOne = withConnection(base, 9999, { health: 'degraded' });
    const moved = later(base);
    moved.connections.splice(5000, 1);
    const times = (fn: () => unknown) => {
      const xs: number[] = [];
      for (let i = 0; i < 7; i++) {
        const t0 = performance.now();
        fn();
        xs.push(performance.now() - t0);
      }
      return xs.sort((a, b) => a - b)[3]!;
    };
    const unchanged = later(base);
    const same = times(() => diffStatus(base, unchanged));
    const one = times(() => diffStatus(base, changedOne));
    const removed = times(() => diffStatus(base, moved));
    expect(diffStatus(base, moved)!.changes.connections!.remove).toEqual([base.connections[5000]!.id]);
    console.log(`diff of the scale status (10,000 connections), median of 7: one connection changed ${one.toFixed(1)} ms; one removed (ids no longer aligned) ${removed.toFixed(1)} ms; nothing changed ${same.toFixed(1)} ms`);
  });
});
