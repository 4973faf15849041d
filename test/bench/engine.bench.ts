/**
 * `npm run bench:engine` — the connection engine against the sandbox's `scale` seed (2,000 organisations ×
 * 5 apps × 40 staff = 200 grants, 10,000 connections), with the real OS keychain. Prints, never asserts:
 *
 *  - the wake-up sweep: a fresh engine (no access token in memory, as after sleep or a restart) refreshing
 *    every grant — rotation, keychain write and read-back, write-ahead marker, metadata;
 *  - a lower bound for that sweep measured in the same run: max(keychain write time × grants,
 *    sandbox round trip × grants ÷ allowed concurrency), and the ratio of the two;
 *  - CPU milliseconds per grant refresh in this process (the sandbox runs in another process);
 *  - peak RSS, and how many timers the running engine arms.
 *
 * Needs a Secret Service: run it as `bash .ci/with-keyring.sh npm run bench:engine`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { SystemClock } from '../../main/core/clock.js';
import { NapiKeychain } from '../../main/secrets/napi-keyring.js';
import { RelinkService } from '../../main/service/relink-service.js';
import { ConfBackend } from '../../main/store/document-file.js';
import { followAuthorize } from '../support/headless-browser.js';

const CONCURRENCY = 8;

async function startSandbox(): Promise<{ origin: string; apps: Array<{ name: string; clientId: string }>; child: ChildProcess }> {
  const child = spawn('node_modules/.bin/tsx', ['main/sandbox/cli.ts', '--port', '0', '--seed', 'scale', '--json'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf('\n');
      if (nl >= 0) resolve(out.slice(0, nl));
    });
    child.once('exit', (code) => reject(new Error(`sandbox exited with ${code}`)));
  });
  const parsed = JSON.parse(line) as { origin: string; apps: Array<{ name: string; clientId: string }> };
  return { ...parsed, child };
}

async function control(origin: string, method: string, p: string, body?: unknown): Promise<any> {
  const res = await fetch(`${origin}${p}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${method} ${p}: ${res.status} ${await res.text()}`);
  return res.json();
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
  const sandbox = await startSandbox();
  const keychain = new NapiKeychain();
  const open = () =>
    RelinkService.open({ dataDir, keychainService: service, keychain, backend: new ConfBackend(dataDir), clock: new SystemClock(), actor: 'cli', concurrency: CONCURRENCY });
  try {
    console.log(`Engine benchmark — Node ${process.version}, ${new Date().toISOString()}, sandbox ${sandbox.origin}`);
    const state = await control(sandbox.origin, 'GET', '/sandbox/state');
    const setup = await open();
    const t0 = performance.now();
    for (const [i, a] of sandbox.apps.entries()) {
      const app = await setup.addApp(
        { name: a.name, clientId: a.clientId, authType: 'pkce', issuer: sandbox.origin, redirectPorts: [5101 + i * 10, 5102 + i * 10], multiOrgConsent: true, scopes: ['accounting.settings'] },
        null,
      );
      for (const u of state.users as Array<{ userId: string; roles: Record<string, string> }>) {
        await control(sandbox.origin, 'POST', '/sandbox/consents', { clientId: a.clientId, userId: u.userId, tenantIds: Object.keys(u.roles) });
        await setup.connect(app.id, { open: async (url) => void (await followAuthorize(url)), timeoutMs: 30_000 });
      }
    }
    const status = setup.status();
    console.log(`setup: ${status.grants.length} grants, ${status.connections.length} connections in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    await setup.close();

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
    const grants = status.grants.length;
    const keychainBound = median(writes) * grants;
    const networkBound = (median(trips) * grants) / CONCURRENCY;
    const lowerBound = Math.max(keychainBound, networkBound);

    // The sweep: a fresh engine holds no access tokens, exactly as after a long sleep.
    const fresh = await open();
    const cpu0 = process.cpuUsage();
    const s0 = performance.now();
    const summary = await fresh.sweep();
    const sweepMs = performance.now() - s0;
    const cpu = process.cpuUsage(cpu0);
    await fresh.run();
    const timers = fresh.armedTimers;
    console.log(`metadata writes during the sweep: ${JSON.stringify(fresh.store.stats)}`);
    await fresh.close();

    const cpuPerRefresh = (cpu.user + cpu.system) / 1000 / Math.max(1, summary.refreshed);
    console.log(`sweep: ${summary.refreshed}/${summary.grants} grants refreshed (${summary.transient} transient, ${summary.revoked} refused) in ${sweepMs.toFixed(0)} ms`);
    console.log(`lower bound: ${lowerBound.toFixed(0)} ms = max(keychain write ${median(writes).toFixed(2)} ms × ${grants} = ${keychainBound.toFixed(0)} ms, round trip ${median(trips).toFixed(2)} ms × ${grants} ÷ ${CONCURRENCY} = ${networkBound.toFixed(0)} ms)`);
    console.log(`ratio sweep / lower bound: ${(sweepMs / lowerBound).toFixed(2)} (target ≤ 1.5)`);
    console.log(`CPU per refresh (this process, sandbox excluded): ${cpuPerRefresh.toFixed(2)} ms (target ≤ 2 ms)`);
    console.log(`peak RSS: ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB (target ≤ 200 MB)`);
    console.log(`timers armed by the running engine: ${timers} (target 1)`);
  } finally {
    sandbox.child.kill('SIGTERM');
    // Remove this run's keychain entries.
    const cleanup = await open().catch(() => null);
    if (cleanup) {
      for (const g of Object.keys(cleanup.store.peek().grants)) await cleanup.vault.deleteGrant(g).catch(() => undefined);
      await cleanup.close().catch(() => undefined);
    }
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
