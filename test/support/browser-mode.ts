import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AsyncEntry, findCredentialsAsync } from '@napi-rs/keyring';
import { expect, type Page } from '@playwright/test';
import { SystemClock } from '../../main/core/clock.js';
import { NapiKeychain } from '../../main/secrets/napi-keyring.js';
import { createRelink, localProfile } from '../../main/app/create-relink.js';
import { ConfBackend } from '../../main/store/document-file.js';
import { followAuthorize } from './headless-browser.js';
import type { SandboxApp } from './relink-harness.js';
import type { TestSandbox } from './sandbox.js';

/**
 * Relink in browser mode, as the end-to-end specs and the UI benchmark run it: `tsx main/browser-mode/start.ts`
 * as a real child process (so SIGINT reaches Relink itself), against the renderer already built in
 * dist/renderer, on a throwaway data folder and a keychain service name of its own, with `--browser none` (Xero's
 * sign-in pages are not opened by a program; the window shows "Open the sign-in page again" with the address,
 * which the spec opens in a second page — what the advisor does in their own browser).
 *
 * `stop()` sends SIGINT, waits for the process to exit, deletes every keychain entry under the profile's service
 * names (the profile's and the demo's "<name> Demo") and the folder.
 */

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** A Secret Service is reachable: the specs run inside `bash .ci/with-keyring.sh`. */
export const HAS_SECRET_SERVICE = process.platform === 'linux' ? Boolean(process.env.DBUS_SESSION_BUS_ADDRESS) : true;
export const NO_SECRET_SERVICE_REASON =
  'SKIPPED: no Secret Service (DBUS_SESSION_BUS_ADDRESS is not set). Relink keeps refresh tokens in the OS keychain only; ' +
  'run these specs via `bash .ci/with-keyring.sh npm run test:e2e`.';

/**
 * Appended to the title of every test that needs the keychain: Playwright's list reporter prints a skipped
 * test's title but not the reason given to test.skip, so the title says why.
 */
export const NEEDS_KEYCHAIN = HAS_SECRET_SERVICE
  ? ''
  : ' [SKIPPED: no Secret Service — DBUS_SESSION_BUS_ADDRESS is not set; run via `bash .ci/with-keyring.sh npm run test:e2e`]';

export const RENDERER_BUILT = fs.existsSync(path.join(ROOT, 'dist/renderer/index.html'));

const URL_LINE = /^Relink is running at (http:\/\/127\.0\.0\.1:(\d+)\/#key=([A-Za-z0-9_-]{43})) \(press Ctrl\+C to stop\)$/m;

/** A data folder and keychain service name used by one test; browser mode and the CLI can share it. */
export interface E2eProfile {
  dataDir: string;
  keychainService: string;
  /** Deletes the keychain entries under the profile's service names, then the folder. */
  dispose(): Promise<void>;
}

export function newProfile(label = 'e2e'): E2eProfile {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `relink-${label}-`));
  const keychainService = `Relink-${label}-${process.pid}-${randomBytes(5).toString('hex')}`;
  return {
    dataDir,
    keychainService,
    async dispose() {
      if (HAS_SECRET_SERVICE) {
        // The demo keeps its own profile under "<name> Demo" (main/app/relink-app.ts).
        for (const service of [keychainService, `${keychainService} Demo`]) await clearKeychainService(service);
      }
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Deletes every keychain entry whose service is exactly `service` (grants, app secrets, anything else). */
export async function clearKeychainService(service: string): Promise<number> {
  let deleted = 0;
  try {
    for (const c of await findCredentialsAsync(service)) {
      if (await new AsyncEntry(service, c.account, { linux: { store: 'secret-service' } }).deleteCredential()) deleted += 1;
    }
  } catch {
    // No Secret Service after all: nothing could have been stored.
  }
  return deleted;
}

export interface BrowserMode {
  /** The window's address, with its per-run key in the fragment. */
  url: string;
  origin: string;
  profile: E2eProfile;
  stdout(): string;
  stderr(): string;
  /** The per-run key the window presents on its WebSocket (`#key=…` in `url`). */
  key: string;
  /** The browser-mode process (Relink itself, not a wrapper), e.g. to read its CPU time from /proc. */
  pid: number;
  /** SIGINT, then waits for a clean exit (SIGKILL after 10 s). Returns what the process said. */
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const running = new Set<ChildProcess>();

/** The environment for children: Node 22 (the one running the tests) first on PATH, for tsx's `env node`. */
export function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH ?? ''}`, NO_COLOR: '1', ...extra };
  delete env.RELINK_DATA_DIR;
  delete env.RELINK_KEYCHAIN_SERVICE;
  return env;
}

/**
 * Starts `tsx main/browser-mode/start.ts --no-open --port 0 --browser none` on `profile` (a new one if not
 * given) and waits for its address line.
 */
/**
 * The environment of a computer without a keychain: no D-Bus session bus to find a Secret Service on (nor a
 * display to start one from, nor a runtime folder holding a bus socket), as on a fresh Debian install.
 */
export function noKeychainEnv(): NodeJS.ProcessEnv {
  const env = childEnv({ XDG_RUNTIME_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'relink-no-bus-')) });
  for (const name of ['DBUS_SESSION_BUS_ADDRESS', 'DISPLAY', 'WAYLAND_DISPLAY', 'GNOME_KEYRING_CONTROL']) delete env[name];
  return env;
}

export async function startBrowserMode(
  opts: { demo?: boolean; profile?: E2eProfile; timeoutMs?: number; nodeArgs?: string[]; env?: NodeJS.ProcessEnv } = {},
): Promise<BrowserMode> {
  if (!RENDERER_BUILT) throw new Error('dist/renderer is not built: run `npm run build:renderer` first (npm test does).');
  const profile = opts.profile ?? newProfile();
  const child = spawn(
    process.execPath,
    [
      ...(opts.nodeArgs ?? []),
      '--import',
      'tsx',
      'main/browser-mode/start.ts',
      '--no-open',
      '--port',
      '0',
      '--browser',
      'none',
      '--data-dir',
      profile.dataDir,
      '--keychain-service',
      profile.keychainService,
      ...(opts.demo ? ['--demo'] : []),
    ],
    { cwd: ROOT, env: opts.env ?? childEnv(), stdio: ['ignore', 'pipe', 'pipe'] },
  );
  running.add(child);
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('close', (code, signal) => {
      running.delete(child);
      resolve({ code, signal });
    }),
  );

  const match = await new Promise<RegExpExecArray>((resolve, reject) => {
    const deadline = setTimeout(() => done(new Error(`browser mode printed no address within ${opts.timeoutMs ?? 30_000} ms`)), opts.timeoutMs ?? 30_000);
    const check = () => {
      const m = URL_LINE.exec(out);
      if (m) done(null, m);
    };
    const onClose = () => done(new Error('browser mode exited before printing its address'));
    const done = (e: Error | null, m?: RegExpExecArray) => {
      clearTimeout(deadline);
      child.stdout!.off('data', check);
      child.off('close', onClose);
      if (e) {
        child.kill('SIGKILL');
        reject(new Error(`${e.message}\nstdout: ${out}\nstderr: ${err}`));
      } else resolve(m!);
    };
    child.stdout!.on('data', check);
    child.once('close', onClose);
    check();
  });
  const url = match[1]!;
  const origin = new URL(url).origin;
  const key = match[3]!;

  let stopped: Promise<{ code: number | null; signal: NodeJS.Signals | null }> | null = null;
  return {
    url,
    origin,
    profile,
    stdout: () => out,
    stderr: () => err,
    key,
    pid: child.pid!,
    stop() {
      stopped ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
        const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        const result = await exited;
        clearTimeout(killer);
        return result;
      })();
      return stopped;
    },
  };
}

/** SIGKILLs any browser-mode process a failed test left running (by its own pid only). */
export async function stopLeftovers(): Promise<void> {
  const left = [...running];
  for (const c of left) c.kill('SIGKILL');
  await Promise.all(left.map((c) => (c.exitCode !== null || c.signalCode !== null ? undefined : new Promise((r) => c.once('close', r)))));
}

/**
 * Opens the window. The page reads its key from `#key=…` and then routes by hash, so opening a view directly is
 * two steps: load with the key, then set the hash.
 */
export async function openWindow(page: Page, run: BrowserMode, route?: string): Promise<void> {
  await page.goto(run.url);
  if (route) await page.evaluate((r) => (window.location.hash = r), `#/${route}`);
}

/**
 * The sandbox's login and consent pages, as the advisor meets them in their browser: log in as `email`, tick
 * `tick` (checkboxes, or the one radio for a one-organisation-per-approval app), leave the others unticked, and
 * press Allow access.
 */
export async function approveInSandbox(page: Page, authorizeUrl: string, email: string, tick: string[], appName?: string | RegExp): Promise<void> {
  await page.goto(authorizeUrl);
  await expect(page.getByRole('heading', { name: 'Log in to Xero' })).toBeVisible();
  await page.getByLabel('Log in as').selectOption(email);
  await page.getByRole('button', { name: 'Log in' }).click();
  await expect(page.getByRole('heading', { name: appName ?? /wants access/ })).toBeVisible();
  // Nothing is ticked to begin with (organisations already connected carry an "Already connected" badge,
  // which is part of the box's name, hence no exact match).
  const multi = (await page.getByRole('checkbox').count()) > 0;
  for (const name of tick) await page.getByRole(multi ? 'checkbox' : 'radio', { name }).check();
  await page.getByRole('button', { name: 'Allow access' }).click();
  await expect(page.getByText('You can close this window')).toBeVisible();
}

/** Where screenshots go: the folder the sandbox spec uses, kept as CI artifacts. */
export function screenshotPath(name: string): string {
  return path.join(ROOT, 'test-results', 'screenshots', `${name}.png`);
}

/**
 * Sets a profile up the way an advisor would have before this session: `app` added (signing in at the
 * sandbox) and connected once per entry of `consents` (a consent arranged through the control API, then
 * Relink's real connect — loopback callback, token exchange, keychain, /connections). Relink is closed again
 * afterwards, so browser mode can open the profile.
 */
export async function connectedProfile(
  sb: TestSandbox,
  profile: E2eProfile,
  app: SandboxApp & { name: string },
  consents: Array<{ userId: string; tenantIds: string[] }>,
): Promise<{ appId: string }> {
  const service = await createRelink({
    storage: localProfile({ dataDir: profile.dataDir, keychainService: profile.keychainService, keychain: new NapiKeychain(), backend: new ConfBackend(profile.dataDir) }),
    clock: new SystemClock(),
    actor: 'cli',
  });
  try {
    const added = await service.addApp(
      { name: app.name, clientId: app.clientId, authType: app.clientSecret ? 'web' : 'pkce', issuer: sb.origin, redirectPorts: app.ports, multiOrgConsent: true },
      app.clientSecret,
    );
    for (const c of consents) {
      await sb.control('POST', '/sandbox/consents', { clientId: app.clientId, userId: c.userId, tenantIds: c.tenantIds });
      await service.connect(added.id, { open: async (url) => void (await followAuthorize(url)), timeoutMs: 10_000 });
    }
    return { appId: added.id };
  } finally {
    await service.close();
  }
}
