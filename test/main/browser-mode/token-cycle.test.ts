import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { HAS_SECRET_SERVICE, RENDERER_BUILT, connectedProfile, newProfile, startBrowserMode, stopLeftovers, type BrowserMode, type E2eProfile } from '../../support/browser-mode.js';
import { followAuthorize } from '../../support/headless-browser.js';
import { sandboxApp, sandboxFirm } from '../../support/relink-harness.js';
import { useSandbox } from '../../support/use-sandbox.js';

/**
 * Acceptance test for the busy-spin of issue 9: browser mode kept running through two full access-token cycles
 * and probed over HTTP every second. With Xero's 30-minute tokens the engine used to spin for three minutes
 * after each refresh (100 % CPU, no request answered); with short tokens it refreshed without pause. Here the
 * sandbox's tokens live 40 s, so two cycles take about 67 s: every probe must be answered, the token must be
 * refreshed once per cycle — not continuously — and the process must stay near idle in between.
 *
 * Real everything: browser mode as a child process (`tsx main/browser-mode/start.ts`), the sandbox over
 * loopback, the connection made through the window's API with the real keychain (run under
 * .ci/with-keyring.sh). Linux only (CPU time is read from /proc).
 */

/** Sandbox access-token lifetime: refreshed 1/6 before expiry (access-tokens.ts), so every 33.3 s. */
const TOKEN_SECONDS = 40;
const CYCLE_MS = (TOKEN_SECONDS * 1000 * 5) / 6;
/** Probing lasts two full cycles plus a few seconds after the second refresh. */
const WINDOW_MS = 2 * CYCLE_MS + 6_000;
/** One HTTP probe a second; one that is not answered within this counts as failed. */
const PROBE_EVERY_MS = 1_000;
const PROBE_TIMEOUT_MS = 2_000;
/**
 * CPU seconds per wall second the browser-mode process may use over the window. It idles at a few per cent
 * (one page and one status call a second, two refreshes); the spinning bug held it at ~100 %. A correctness
 * check of "not spinning", not a speed target: generous on purpose.
 */
const MAX_CPU_FRACTION = 0.25;

const CAN_RUN = process.platform === 'linux' && HAS_SECRET_SERVICE && RENDERER_BUILT;
const SKIP_REASON = CAN_RUN
  ? ''
  : ` [SKIPPED: needs Linux (/proc), dist/renderer built (npm run build:renderer) and a Secret Service (run via bash .ci/with-keyring.sh)]`;

const sb = useSandbox();
const profiles: E2eProfile[] = [];
afterEach(async () => {
  await stopLeftovers();
  for (const p of profiles.splice(0)) await p.dispose();
});
afterAll(() => stopLeftovers());

/** User + system CPU time of a process (all its threads), in seconds. */
function cpuSeconds(pid: number, ticksPerSecond: number): number {
  // /proc/<pid>/stat: "pid (comm) state ..." — comm may hold spaces, so count fields after the last ')'.
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields 14 and 15 of the whole line (utime, stime) are the 12th and 13th after the comm.
  return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
}

/** The window's WebSocket API, as the renderer speaks it: hello with the per-run key, then requests. */
async function openApi(run: BrowserMode) {
  const ws = new WebSocket(`ws://${new URL(run.origin).host}/api`, { origin: run.origin });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  ws.send(JSON.stringify({ type: 'hello', key: run.key }));
  let next = 1;
  const pending = new Map<number, (result: any) => void>();
  ws.on('message', (data) => {
    const m = JSON.parse(data.toString());
    if (m.type === 'response') pending.get(m.id)?.(m.result);
  });
  return {
    /** Calls `channel`; rejects if no answer within `timeoutMs`. */
    call(channel: string, args: unknown = {}, timeoutMs = 10_000): Promise<{ ok: boolean; value?: any; error?: any }> {
      const id = next++;
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(new Error(`${channel}: no answer within ${timeoutMs} ms`));
        }, timeoutMs);
        pending.set(id, (result) => {
          clearTimeout(timer);
          pending.delete(id);
          resolve(result);
        });
        ws.send(JSON.stringify({ type: 'request', id, channel, args }));
      });
    },
    close: () => ws.close(),
  };
}

async function waitFor<T>(what: string, fn: () => Promise<T | null | undefined | false>, timeoutMs: number): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('browser mode through two access-token cycles', () => {
  it.skipIf(!CAN_RUN)(
    `answers every probe, refreshes once per cycle and stays near idle${SKIP_REASON}`,
    async () => {
      const ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
      await sb.control('PUT', '/sandbox/settings', { accessTokenSeconds: TOKEN_SECONDS });
      const firm = await sandboxFirm(sb, 2);
      const app = await sandboxApp(sb);
      const profile = newProfile('token-cycle');
      profiles.push(profile);
      // The app is set up beforehand; the connection is made in the running window, as an advisor would.
      const { appId } = await connectedProfile(sb, profile, { ...app, name: 'Token cycle app' }, []);

      const run = await startBrowserMode({ profile });
      const api = await openApi(run);
      try {
        await sb.control('POST', '/sandbox/consents', { clientId: app.clientId, userId: firm.userId, tenantIds: firm.tenantIds });
        const started = await api.call('connect.start', { appId, staffId: null, tenantId: null });
        expect(started.ok, JSON.stringify(started)).toBe(true);
        const operationId: string = started.value.id;
        const operation = async () => {
          const list = await api.call('operations.list');
          return (list.value as any[]).find((o) => o.id === operationId);
        };
        const authorizeUrl: string = await waitFor('the sign-in address', async () => (await operation())?.authorizeUrl, 15_000);
        await followAuthorize(authorizeUrl);
        const done = await waitFor('the connection to be made', async () => ((await operation())?.finishedAt ? operation() : null), 20_000);
        expect(done.state, JSON.stringify(done)).toBe('succeeded');

        // The grant now holds a fresh 40-second token, and the engine keeps it alive from here on.
        const family = async () => {
          const state = await sb.control('GET', '/sandbox/state');
          return state.grants.find((g: any) => g.clientId === app.clientId);
        };
        const refreshes = new Set<string>();
        const probes: { ok: boolean; detail: string }[] = [];
        const wallStart = performance.now();
        const cpuStart = cpuSeconds(run.pid, ticksPerSecond);
        while (performance.now() - wallStart < WINDOW_MS) {
          const tick = performance.now();
          const [page, status] = await Promise.allSettled([
            fetch(`${run.origin}/`, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) }).then(async (r) => ({ status: r.status, body: await r.text() })),
            api.call('status.get', {}, PROBE_TIMEOUT_MS),
          ]);
          const pageOk = page.status === 'fulfilled' && page.value.status === 200 && page.value.body.includes('<div id="root">');
          const statusOk = status.status === 'fulfilled' && status.value.ok;
          probes.push({
            ok: pageOk && statusOk,
            detail: `${page.status === 'fulfilled' ? page.value.status : String(page.reason)} / ${status.status === 'fulfilled' ? status.value.ok : String(status.reason)}`,
          });
          const last = (await family())?.lastRefreshAt;
          if (typeof last === 'string') refreshes.add(last);
          await new Promise((r) => setTimeout(r, Math.max(0, PROBE_EVERY_MS - (performance.now() - tick))));
        }
        const wallSeconds = (performance.now() - wallStart) / 1000;
        const cpuFraction = (cpuSeconds(run.pid, ticksPerSecond) - cpuStart) / wallSeconds;
        const summary = {
          wallSeconds: Math.round(wallSeconds),
          probes: probes.length,
          failedProbes: probes.filter((p) => !p.ok).map((p) => p.detail),
          refreshesSeen: refreshes.size,
          cpuFraction: Math.round(cpuFraction * 1000) / 1000,
        };
        // Printed so that a run shows the measured figures, not only pass or fail.
        console.log(`token-cycle: ${JSON.stringify(summary)}`);

        expect(probes.length).toBeGreaterThan((WINDOW_MS / PROBE_EVERY_MS) * 0.8);
        expect(summary.failedProbes).toEqual([]);
        // Once per cycle: at about 33 s and 67 s. A spinning or continuously refreshing engine shows dozens.
        expect(summary.refreshesSeen).toBe(2);
        expect(cpuFraction).toBeLessThan(MAX_CPU_FRACTION);

        // Still healthy after two rotations, and the window's status says so.
        const status = await api.call('status.get');
        expect(status.value.grants.map((g: any) => g.health)).toEqual(['healthy']);
      } finally {
        api.close();
        // Ctrl-C is acted on: a clean exit 0 of its own (stop() would SIGKILL after 10 s, failing this).
        const sentAt = performance.now();
        const exit = await run.stop();
        console.log(`token-cycle: stopped ${Math.round(performance.now() - sentAt)} ms after SIGINT`);
        expect({ ...exit, stderr: run.stderr() }).toMatchObject({ code: 0, signal: null });
      }
    },
    150_000,
  );
});
