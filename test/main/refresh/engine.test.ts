import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_SETTINGS, type App, type Grant, type Settings } from '../../../shared/domain.js';
import { AccessTokenCache } from '../../../main/refresh/access-tokens.js';
import { Engine, MIN_RERUN_MS, type ConnectionsPort, type EngineStore, type SchedulerPort } from '../../../main/refresh/engine.js';
import type { RefreshResult } from '../../../main/refresh/refresher.js';
import { Scheduler } from '../../../main/refresh/scheduler.js';
import { ManualClock } from '../../support/manual-clock.js';
import { eventLoopTurns, runsWithoutATurnBetween } from './support/event-loop.js';
import { mulberry32 } from './support/prng.js';

/**
 * The engine's per-grant task over hours of schedule on the manual clock, with the real scheduler and the real
 * access-token cache (the refresher, the store and Xero's /connections are in-memory stand-ins: what they do
 * is tested elsewhere against the sandbox).
 *
 * The bug these pin down: the deadline called a 30-minute token due five minutes before expiry while the cache
 * still handed it out until two minutes before, so for three minutes of every cycle the task woke, found
 * nothing to do, rescheduled itself for "now" and ran again in the same microtask chain — 100 % CPU and no
 * HTTP request answered.
 */

const SEC = 1000;
const MIN = 60 * SEC;
const HOUR = 60 * MIN;

/** More runs than this and the task is looping: the stand-in scheduler stops passing them on, so a spin ends. */
const RUN_CAP = 2000;

const turns = eventLoopTurns();
afterAll(() => turns.stop());

function setup(opts: { tokenSeconds: number; probeIntervalMinutes?: number; failRefreshes?: number }) {
  const clock = new ManualClock();
  const t0 = clock.now();
  const iso = (ms: number) => new Date(ms).toISOString();
  const app: App = {
    id: 'app',
    name: 'App',
    provider: 'xero',
    clientId: 'client',
    authType: 'pkce',
    issuer: 'https://identity.xero.com',
    apiBase: 'https://api.xero.com',
    redirectPorts: [5001],
    scopes: ['openid', 'offline_access', 'accounting.settings'],
    connectionCap: null,
    multiOrgConsent: true,
    createdBy: null,
    createdAt: iso(t0),
  };
  // Just connected: refreshed and probed at t0, with a fresh access token in memory (as connect leaves it).
  const grant: Grant = {
    id: 'g1',
    appId: app.id,
    staffId: 'staff',
    scopes: app.scopes,
    authEventIds: [],
    connectedAt: iso(t0),
    refreshTokenIssuedAt: iso(t0),
    lastRefreshAt: iso(t0),
    lastProbeAt: iso(t0),
    consecutiveFailures: 0,
    lastFailure: null,
    state: 'active',
    stateSince: iso(t0),
  };
  const settings: Settings = { ...DEFAULT_SETTINGS, probeIntervalMinutes: opts.probeIntervalMinutes ?? 15 };
  const accessTokens = new AccessTokenCache(clock);
  accessTokens.set(grant.id, 'token-0', t0 + opts.tokenSeconds * SEC);

  const refreshes: number[] = [];
  const probes: number[] = [];
  const store: EngineStore = {
    grants: () => ({ [grant.id]: grant }),
    connectionsOf: () => [],
    app: (id) => (id === app.id ? app : undefined),
    settings: () => settings,
    recordConnections: async (_id, _listed, at) => {
      grant.lastProbeAt = iso(at);
    },
    recordProbeFailure: async () => undefined,
    recordTenantProbe: async () => undefined,
  };
  let failuresLeft = opts.failRefreshes ?? 0;
  const refresh = async (grantId: string): Promise<RefreshResult> => {
    await Promise.resolve(); // a real refresh awaits I/O
    if (failuresLeft > 0) {
      failuresLeft--;
      throw new Error('EISDIR: illegal operation on a directory, open refresh-journal/g1');
    }
    const at = clock.now();
    refreshes.push(at);
    accessTokens.set(grantId, `token-${refreshes.length}`, at + opts.tokenSeconds * SEC);
    grant.lastRefreshAt = iso(at);
    return { kind: 'refreshed', accessTokenExpiresAt: at + opts.tokenSeconds * SEC };
  };
  const connections: ConnectionsPort = {
    list: async () => {
      probes.push(clock.now());
      return { ok: true, connections: [] };
    },
    canProbe: () => true,
    probe: async () => ({ ok: true }),
  };

  const scheduler = new Scheduler(clock, { random: mulberry32(7), onTaskError: (key, err) => errors.push({ key, err }) });
  const errors: { key: string; err: unknown }[] = [];
  /** Each run of the grant's task: when, and in which turn of the event loop. */
  const runs: { at: number; turn: number }[] = [];
  let scheduled = 0;
  const port: SchedulerPort = {
    schedule(key, at, task) {
      if (++scheduled > RUN_CAP) return;
      scheduler.schedule(key, at, () => {
        runs.push({ at: clock.now(), turn: turns.now() });
        return task();
      });
    },
    cancel: (key) => void scheduler.cancel(key),
    start: () => scheduler.start(),
    stop: () => scheduler.stop(),
    resume: () => scheduler.resume(),
  };
  const engine = new Engine({
    clock,
    scheduler: port,
    store,
    accessTokens,
    refresh,
    connectionsFor: () => connections,
    interruptedGrants: async () => [],
    onChange: () => undefined,
    random: mulberry32(3),
  });

  /** Moves time on in `stepMs` steps up to `totalMs`, noting how many task runs each step saw. */
  async function runFor(totalMs: number, stepMs: number): Promise<number[]> {
    const perStep: number[] = [];
    for (let t = 0; t < totalMs; t += stepMs) {
      const before = runs.length;
      await clock.advanceAsync(stepMs);
      perStep.push(runs.length - before);
    }
    return perStep;
  }

  return { clock, t0, engine, scheduler, accessTokens, refreshes, probes, runs, errors, runFor };
}

describe('Engine: a token cycle costs a handful of runs, never a spin', () => {
  it('with Xero’s 30-minute tokens: refreshes at 25, 50, 75, 100 minutes and runs the task only at its deadlines', async () => {
    const w = setup({ tokenSeconds: 30 * 60 });
    await w.engine.start();
    const perMinute = await w.runFor(2 * HOUR, MIN);
    w.engine.stop();

    expect(w.runs.length).toBeLessThan(RUN_CAP);
    // Probes every 15 minutes and refreshes every 25: never more than one run in any minute.
    expect(Math.max(...perMinute)).toBe(1);
    expect(w.refreshes.map((at) => (at - w.t0) / MIN)).toEqual([25, 50, 75, 100]);
    expect(w.probes.map((at) => (at - w.t0) / MIN)).toEqual([15, 30, 45, 60, 75, 90, 105, 120]);
    // Every run is one the deadlines asked for: refreshes and probes, none with nothing to do.
    expect(w.runs.map((r) => (r.at - w.t0) / MIN)).toEqual([15, 25, 30, 45, 50, 60, 75, 90, 100, 105, 120]);
    expect(runsWithoutATurnBetween(w.runs.map((r) => r.turn))).toBe(0);
    expect(w.scheduler.armedTimers).toBe(0);
    expect(w.errors).toEqual([]);
  });

  it('with tokens shortened to 60 s (the sandbox setting): refreshes every 50 s — the margin scales — not continuously', async () => {
    const w = setup({ tokenSeconds: 60 });
    await w.engine.start();
    const perSecond = await w.runFor(10 * MIN, SEC);
    w.engine.stop();

    expect(w.runs.length).toBeLessThan(RUN_CAP);
    expect(Math.max(...perSecond)).toBe(1);
    // min(5 min, 60 s / 6) = 10 s before expiry.
    expect(w.refreshes.map((at) => (at - w.t0) / SEC)).toEqual(Array.from({ length: 12 }, (_, i) => (i + 1) * 50));
    expect(runsWithoutATurnBetween(w.runs.map((r) => r.turn))).toBe(0);
  });

  it('a server that gives tokens no life at all is asked again once a second, not in a loop', async () => {
    const w = setup({ tokenSeconds: 0 });
    await w.engine.start();
    const perSecond = await w.runFor(20 * SEC, SEC);
    w.engine.stop();

    expect(w.runs.length).toBeLessThan(RUN_CAP);
    expect(Math.max(...perSecond)).toBe(1);
    const gaps = w.refreshes.slice(1).map((at, i) => at - w.refreshes[i]!);
    expect(gaps.length).toBeGreaterThan(10);
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(MIN_RERUN_MS);
    expect(runsWithoutATurnBetween(w.runs.map((r) => r.turn))).toBe(0);
  });

  it('a refresh that throws (a journal folder it cannot write) leaves the grant watched: retried with backoff, not dropped', async () => {
    const w = setup({ tokenSeconds: 30 * 60, failRefreshes: 2 });
    await w.engine.start();
    await w.runFor(2 * HOUR, MIN);
    w.engine.stop();

    // Both failures reached onTaskError, and the grant kept its schedule: it refreshed after them and went on.
    expect(w.errors.map((e) => e.key)).toEqual(['grant:g1', 'grant:g1']);
    expect(w.refreshes.length).toBeGreaterThanOrEqual(4);
    expect(w.runs.length).toBeLessThan(RUN_CAP);
    expect(runsWithoutATurnBetween(w.runs.map((r) => r.turn))).toBe(0);
  });
});
