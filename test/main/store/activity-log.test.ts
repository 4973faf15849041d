import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Clock } from '../../../main/core/clock.js';
import { REDACTED, forgetSecret, registerSecret } from '../../../main/core/redact.js';
import { ActivityLog } from '../../../main/store/activity-log.js';

function steppingClock(startIso: string, stepMs = 1_000): Clock {
  let now = Date.parse(startIso);
  return {
    now: () => (now += stepMs) - stepMs,
    monotonic: () => now,
    setTimer: () => ({ id: 0 }),
    clearTimer: () => undefined,
  };
}

const JWT = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJlLXNpZ25hdHVyZQ';

describe('ActivityLog', () => {
  let dir: string;
  let log: ActivityLog;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relink-activity-'));
    log = new ActivityLog(dir, steppingClock('2026-03-01T09:00:00.000Z'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const lines = () => fs.readFileSync(path.join(dir, 'activity.jsonl'), 'utf8').split('\n');

  it('appends one JSON line per entry to activity.jsonl, stamped by the clock', async () => {
    await log.append({ actor: 'engine', action: 'grant-refreshed', grantId: 'g1', appId: 'app-sync' });
    await log.append({ actor: 'advisor', action: 'staff-marked-leaving', staffId: 'staff-tom', detail: 'Leaving on Friday' });
    const raw = lines();
    expect(raw).toHaveLength(3);
    expect(raw[2]).toBe('');
    expect(JSON.parse(raw[0]!)).toEqual({ ts: '2026-03-01T09:00:00.000Z', actor: 'engine', action: 'grant-refreshed', grantId: 'g1', appId: 'app-sync' });
    expect(JSON.parse(raw[1]!)).toMatchObject({ ts: '2026-03-01T09:00:01.000Z', actor: 'advisor', staffId: 'staff-tom' });
  });

  it('never rewrites: earlier bytes stay exactly as they were', async () => {
    await log.append({ actor: 'cli', action: 'export-started' });
    const before = fs.readFileSync(path.join(dir, 'activity.jsonl'), 'utf8');
    await log.append({ actor: 'cli', action: 'export-finished' });
    const after = fs.readFileSync(path.join(dir, 'activity.jsonl'), 'utf8');
    expect(after.startsWith(before)).toBe(true);
    expect(after.length).toBeGreaterThan(before.length);
  });

  it('keeps call order for concurrent appends', async () => {
    await Promise.all(Array.from({ length: 50 }, (_, i) => log.append({ actor: 'engine', action: 'tick', detail: `n=${i}` })));
    const details = (await log.read()).map((e) => e.detail);
    expect(details).toEqual(Array.from({ length: 50 }, (_, i) => `n=${i}`));
  });

  it('scrubs secrets before writing: JWTs, Bearer/Basic, long opaque runs, registered values', async () => {
    registerSecret('the-client-secret-value');
    try {
      await log.append({
        actor: 'engine',
        action: 'token-call-failed',
        grantId: 'g1',
        detail:
          `access ${JWT}; header Authorization: Bearer abcdef0123456789abcdef; Basic Y2xpZW50OnNlY3JldA==; ` +
          `rt 9f8e7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a3928; secret the-client-secret-value`,
      });
    } finally {
      forgetSecret('the-client-secret-value');
    }
    const text = fs.readFileSync(path.join(dir, 'activity.jsonl'), 'utf8');
    expect(text).not.toContain('eyJhbGci');
    expect(text).not.toContain('abcdef0123456789abcdef');
    expect(text).not.toContain('Y2xpZW50OnNlY3JldA');
    expect(text).not.toContain('9f8e7d6c5b4a3928');
    expect(text).not.toContain('the-client-secret-value');
    const [entry] = await log.read();
    expect(entry!.detail).toBe(
      `access ${REDACTED}; header Authorization: Bearer ${REDACTED}; Basic ${REDACTED}; rt ${REDACTED}; secret ${REDACTED}`,
    );
    // The grant id is not secret-shaped and survives.
    expect(entry!.grantId).toBe('g1');
  });

  it('keeps tenant ids (UUIDs) readable', async () => {
    const tenants = ['5b8e3a0f-1c2d-4e5f-8a9b-0c1d2e3f4a5b', '0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0'];
    await log.append({ actor: 'engine', action: 'orgs-disconnected', tenantIds: tenants, detail: `missing ${tenants[0]}` });
    const [entry] = await log.read();
    expect(entry!.tenantIds).toEqual(tenants);
    expect(entry!.detail).toBe(`missing ${tenants[0]}`);
  });

  it('rejects malformed entries and writes nothing', async () => {
    await expect(log.append({ actor: 'robot' as 'engine', action: 'x' })).rejects.toThrow(/actor/);
    await expect(log.append({ actor: 'engine', action: 'Not A Verb!' })).rejects.toThrow(/action/);
    await expect(log.append({ actor: 'engine', action: 'ok', detail: 'x'.repeat(2_001) })).rejects.toThrow(/detail/);
    expect(fs.existsSync(path.join(dir, 'activity.jsonl'))).toBe(false);
  });

  it('reads by time range (from inclusive, to exclusive), action and limit (newest N, oldest first)', async () => {
    for (let i = 0; i < 10; i++) await log.append({ actor: 'engine', action: i % 2 ? 'odd' : 'even', detail: `#${i}` });
    // Entries are at 09:00:00 … 09:00:09.
    const ranged = await log.read({ from: '2026-03-01T09:00:03.000Z', to: '2026-03-01T09:00:07.000Z' });
    expect(ranged.map((e) => e.detail)).toEqual(['#3', '#4', '#5', '#6']);
    expect((await log.read({ action: 'odd' })).map((e) => e.detail)).toEqual(['#1', '#3', '#5', '#7', '#9']);
    expect((await log.read({ limit: 3 })).map((e) => e.detail)).toEqual(['#7', '#8', '#9']);
    expect((await log.read({ action: 'even', limit: 2 })).map((e) => e.detail)).toEqual(['#6', '#8']);
  });

  it('reads an absent log as empty and skips a torn last line', async () => {
    expect(await log.read()).toEqual([]);
    await log.append({ actor: 'engine', action: 'ok', detail: 'whole' });
    fs.appendFileSync(path.join(dir, 'activity.jsonl'), '{"ts":"2026-03-01T09:00:05.000Z","actor":"eng');
    expect((await log.read()).map((e) => e.detail)).toEqual(['whole']);
  });
});
