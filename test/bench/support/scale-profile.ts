/**
 * The benchmarks' large firm: the sandbox's `scale` seed (by default 2,000 organisations × 5 apps × 40 staff =
 * 200 grants, 10,000 connections) in a sandbox process of its own, and a Relink profile in which every
 * (app, staff member) pair is connected through Relink's real consent flow — loopback callback, code exchange,
 * keychain write, `/connections` — exactly as an advisor's approvals would have made it.
 *
 * Used by `bench:ui` (test/bench/ui.bench.ts); `bench:engine` has the same steps inline and could use these.
 * Needs a Secret Service (`bash .ci/with-keyring.sh …`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { SystemClock } from '../../../main/core/clock.js';
import { ThreadedKeychain } from '../../../main/secrets/threaded-keychain.js';
import { createRelink, localProfile } from '../../../main/app/create-relink.js';
import { ConfBackend } from '../../../main/store/document-file.js';
import { followAuthorize } from '../../support/headless-browser.js';

/** Benches run through npm scripts, which start in the project folder (also when bench:engine runs bundled). */
const ROOT = process.cwd();

export interface ScaleSandbox {
  origin: string;
  apps: Array<{ name: string; clientId: string }>;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** `npm run sandbox -- --seed scale --json` on a free port, in its own process (so it never competes with the measured one). */
export async function startScaleSandbox(size?: { orgs?: number; apps?: number; staff?: number }): Promise<ScaleSandbox> {
  const sizeArgs = Object.entries(size ?? {}).flatMap(([k, v]) => [`--${k}`, String(v)]);
  const child = spawn(path.join(ROOT, 'node_modules/.bin/tsx'), ['main/sandbox/cli.ts', '--port', '0', '--seed', 'scale', ...sizeArgs, '--json'], {
    cwd: ROOT,
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
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    ...parsed,
    child,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

export async function control(origin: string, method: string, p: string, body?: unknown): Promise<any> {
  const res = await fetch(`${origin}${p}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${method} ${p}: ${res.status} ${await res.text()}`);
  return res.json();
}

/**
 * Adds every app of the scale seed to the profile (its registered loopback ports) and connects every
 * (app, staff member) with one consent covering all that person's organisations. Returns how many consents
 * were made. Uses the real keychain under `keychainService`.
 */
export async function connectScaleProfile(
  origin: string,
  dataDir: string,
  keychainService: string,
  onProgress?: (done: number, total: number) => void,
): Promise<number> {
  const keychain = new ThreadedKeychain();
  const svc = await createRelink({ storage: localProfile({ dataDir, keychainService, keychain, backend: new ConfBackend(dataDir) }), clock: new SystemClock(), actor: 'cli' });
  let done = 0;
  try {
    const state = await control(origin, 'GET', '/sandbox/state');
    const apps = state.apps as Array<{ name: string; clientId: string }>;
    const users = state.users as Array<{ userId: string; roles: Record<string, string> }>;
    for (const [i, a] of apps.entries()) {
      const app = await svc.addApp(
        { name: a.name, clientId: a.clientId, authType: 'pkce', issuer: origin, redirectPorts: [5101 + i * 10, 5102 + i * 10], multiOrgConsent: true, scopes: ['accounting.settings'] },
        null,
      );
      for (const u of users) {
        await control(origin, 'POST', '/sandbox/consents', { clientId: a.clientId, userId: u.userId, tenantIds: Object.keys(u.roles) });
        await svc.connect(app.id, { open: async (url) => void (await followAuthorize(url)), timeoutMs: 30_000 });
        done += 1;
        onProgress?.(done, apps.length * users.length);
      }
    }
  } finally {
    await svc.close();
    await keychain.close();
  }
  return done;
}
