/**
 * `npm run bench:engine` — the connection engine against the sandbox's `scale` seed (2,000 organisations ×
 * 5 apps × 40 staff = 200 grants, 10,000 connections), with the real OS keychain. Prints, never asserts:
 *
 *  - the wake-up sweep: the computer slept for two hours, so every access token the running engine holds has
 *    expired, and it refreshes every grant — rotation, keychain write and read-back, write-ahead marker,
 *    metadata. Before it, and printed too, the cold sweep of a process that has just started (it must also
 *    read every refresh token from the keychain, as it has never seen them);
 *  - a lower bound for that sweep measured in the same run: max(keychain write time × grants,
 *    sandbox round trip × grants ÷ allowed concurrency), and the ratio of the two;
 *  - CPU milliseconds per grant refresh in this process (the sandbox runs in another process);
 *  - peak RSS, and how many timers the running engine arms.
 *
 * Needs a Secret Service: run it as `bash .ci/with-keyring.sh npm run bench:engine`. The script bundles this
 * file with esbuild and runs plain Node, as the packaged app does, so the memory figure is the engine's and
 * not the TypeScript loader's (tsx alone adds ~40 MB). Refreshes run 16 at a time, with a libuv pool of 16
 * for the file I/O of the journal and locks.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { SystemClock, type Clock, type TimerHandle } from '../../main/core/clock.js';
import { ThreadedKeychain } from '../../main/secrets/threaded-keychain.js';
import { createRelink, localProfile } from '../../main/app/create-relink.js';
import { MetadataStore } from '../../main/store/metadata-store.js';
import { ConfBackend } from '../../main/store/document-file.js';
import { followAuthorize } from '../support/headless-browser.js';
import { control, startScaleSandbox } from './support/scale-profile.js';

/** The service's default; RELINK_BENCH_CONCURRENCY overrides it to explore. */
const CONCURRENCY = Number(process.env.RELINK_BENCH_CONCURRENCY ?? 16);

/** The system clock, moved forward when the benchmark says the computer slept. */
class OffsetClock implements Clock {
  readonly #base = new SystemClock();
  offsetMs = 0;
  now(): number {
    return this.#base.now() + this.offsetMs;
  }
  monotonic(): number {
    return this.#base.monotonic();
  }
  setTimer(callback: () => void, delayMs: number): TimerHandle {
    return this.#base.setTimer(callback, delayMs);
  }
  clearTimer(handle: TimerHandle): void {
    this.#base.clearTimer(handle);
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function main(): Promise<void> {
  if (!process.env.DBUS_SESSION_BUS_ADDRESS) {
    console.error('bench:engine needs a Secret Service: run `bash .ci/with-keyring.sh npm run bench:engine`.');
    process.exit(2);
  }
  const dataDir = mkdtempSync(path.join(tmpdir(), 'relink-bench-'));
  const service = `relink-bench-${process.pid}`;
  const sandbox = await startScaleSandbox();
  const keychain = new ThreadedKeychain();
  const clock = new OffsetClock();
  const open = () =>
    createRelink({ storage: localProfile({ dataDir, keychainService: service, keychain, backend: new ConfBackend(dataDir) }), clock, actor: 'cli', concurrency: CONCURRENCY });
  try {
    console.log(`Engine benchmark — Node ${process.version}, ${new Date().toISOString()}, sandbox ${sandbox.origin}`);
    // Connecting 200 grants happens in a child process, so this process's peak memory is the engine's.
    const t0 = performance.now();
    await new Promise<void>((resolve, reject) => {
      const child = spawn(process.execPath, [process.argv[1]!, 'setup', sandbox.origin, dataDir, service], { stdio: 'inherit' });
      child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`setup exited with ${code}`))));
    });
    console.log(`setup (child process): done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

    // The lower bound, measured now on this machine: keychain writes of a refresh-token-sized entry…
    const writes: number[] = [];
    for (let i = 0; i < 50; i++) {
      const value = JSON.stringify({ v: 1, rt: 'x'.repeat(43), prev: 'y'.repeat(43), prevSavedAt: new Date().toISOString() });
      const t = performance.now();
      await keychain.set(`${service}-lb`, `grant:lower-bound-${i % 5}`, value);
      writes.push(performance.now() - t);
    }
    for (let i = 0; i < 5; i++) await keychain.delete(`${service}-lb`, `grant:lower-bound-${i}`);
    // …and the sandbox's round trip for a token call (an unknown refresh token: full request, no rotation).
    const trips: number[] = [];
    for (let i = 0; i < 50; i++) {
      const t = performance.now();
      const res = await fetch(`${sandbox.origin}/connect/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: `bench-${i}`, client_id: sandbox.apps[0]!.clientId }),
      });
      await res.text();
      trips.push(performance.now() - t);
    }
    const grants = 200;
    const keychainBound = median(writes) * grants;
    const networkBound = (median(trips) * grants) / CONCURRENCY;
    const lowerBound = Math.max(keychainBound, networkBound);

    // The sweep: a fresh engine holds no access tokens, exactly as after a long sleep.
    const mb = (n: number) => `${(n / 1048576).toFixed(0)} MB`;
    const rssBefore = process.memoryUsage();
    const fresh = await open();
    const rssOpen = process.memoryUsage();
    const c0 = performance.now();
    const cold = await fresh.sweep();
    const coldMs = performance.now() - c0;
    // The computer sleeps for two hours: every access token in memory is now expired.
    clock.offsetMs += 2 * 3_600_000;
    const profiler = process.env.RELINK_BENCH_PROFILE ? new Session() : null;
    if (profiler) {
      profiler.connect();
      await profiler.post('Profiler.enable');
      await profiler.post('Profiler.start');
    }
    const thread0 = process.threadCpuUsage();
    const cpu0 = process.cpuUsage();
    const s0 = performance.now();
    const summary = await fresh.sweep();
    const sweepMs = performance.now() - s0;
    const cpu = process.cpuUsage(cpu0);
    const thread = process.threadCpuUsage(thread0);
    if (profiler) {
      const { profile } = await profiler.post('Profiler.stop');
      writeFileSync(process.env.RELINK_BENCH_PROFILE!, JSON.stringify(profile));
    }
    await fresh.run();
    const timers = fresh.armedTimers;
    const rssAfter = process.memoryUsage();
    console.log(`memory: before open rss ${mb(rssBefore.rss)} heap ${mb(rssBefore.heapUsed)}; after open rss ${mb(rssOpen.rss)} heap ${mb(rssOpen.heapUsed)}; after sweep rss ${mb(rssAfter.rss)} heap ${mb(rssAfter.heapUsed)}`);
    console.log(`metadata writes during the sweep: ${JSON.stringify(fresh.store instanceof MetadataStore ? fresh.store.stats : null)}`);
    await fresh.close();

    const n = Math.max(1, summary.refreshed);
    const mainUser = thread.user / 1000 / n;
    const mainAll = (thread.user + thread.system) / 1000 / n;
    const processAll = (cpu.user + cpu.system) / 1000 / n;
    console.log(`cold sweep (just started, every token read from the keychain first): ${cold.refreshed}/${cold.grants} grants refreshed in ${coldMs.toFixed(0)} ms (ratio ${(coldMs / lowerBound).toFixed(2)})`);
    console.log(`wake-up sweep (after 2 h asleep, every access token expired): ${summary.refreshed}/${summary.grants} grants refreshed (${summary.transient} transient, ${summary.revoked} refused) in ${sweepMs.toFixed(0)} ms`);
    console.log(`lower bound: ${lowerBound.toFixed(0)} ms = max(keychain write ${median(writes).toFixed(2)} ms × ${grants} = ${keychainBound.toFixed(0)} ms, round trip ${median(trips).toFixed(2)} ms × ${grants} ÷ ${CONCURRENCY} = ${networkBound.toFixed(0)} ms)`);
    console.log(`ratio wake-up sweep / lower bound: ${(sweepMs / lowerBound).toFixed(2)} (target ≤ 1.5)`);
    console.log(`CPU per refresh, main thread, excluding I/O (user time): ${mainUser.toFixed(2)} ms (target ≤ 2 ms); main thread incl. system calls ${mainAll.toFixed(2)} ms`);
    console.log(`CPU per refresh, whole process incl. the keychain client's worker threads: ${processAll.toFixed(2)} ms (sandbox excluded: separate process)`);
    console.log(`peak RSS: ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB (target ≤ 200 MB)`);
    console.log(`timers armed by the running engine: ${timers} (target 1)`);
  } finally {
    await sandbox.stop();
    await keychain.close();
    // Remove this run's keychain entries.
    const cleanup = await open().catch(() => null);
    if (cleanup) {
      for (const g of Object.keys(cleanup.store.peek().grants)) await cleanup.vault.deleteGrant(g).catch(() => undefined);
      await cleanup.close().catch(() => undefined);
    }
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** Child-process mode: connect every (app, staff member) of the scale seed through the real consent flow. */
async function setup(origin: string, dataDir: string, service: string): Promise<void> {
  const keychain = new ThreadedKeychain();
  const svc = await createRelink({ storage: localProfile({ dataDir, keychainService: service, keychain, backend: new ConfBackend(dataDir) }), clock: new SystemClock(), actor: 'cli' });
  const state = await control(origin, 'GET', '/sandbox/state');
  for (const [i, a] of (state.apps as Array<{ name: string; clientId: string }>).entries()) {
    const app = await svc.addApp(
      { name: a.name, clientId: a.clientId, authType: 'pkce', issuer: origin, redirectPorts: [5101 + i * 10, 5102 + i * 10], multiOrgConsent: true, scopes: ['accounting.settings'] },
      null,
    );
    for (const u of state.users as Array<{ userId: string; roles: Record<string, string> }>) {
      await control(origin, 'POST', '/sandbox/consents', { clientId: a.clientId, userId: u.userId, tenantIds: Object.keys(u.roles) });
      await svc.connect(app.id, { open: async (url) => void (await followAuthorize(url)), timeoutMs: 30_000 });
    }
  }
  await svc.close();
  await keychain.close();
}

(process.argv[2] === 'setup' ? setup(process.argv[3]!, process.argv[4]!, process.argv[5]!) : main()).then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
