import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SystemClock } from '../../main/core/clock.js';
import { NapiKeychain } from '../../main/secrets/napi-keyring.js';
import { KeychainVault, appAccount, grantAccount } from '../../main/secrets/vault.js';
import { buildWorld, type TestSandbox, type World } from './sandbox.js';

/**
 * The `relink` CLI as a script or an IT person meets it: a real Node process (`node --import tsx
 * main/cli/relink.ts …`, so a signal sent to the child reaches Relink itself, not a tsx wrapper), its own data
 * folder and its own keychain service name, its stdout/stderr and exit code.
 *
 * Every spawned process is remembered, so `stopLeftovers()` can SIGKILL anything a failed test left running,
 * and every line a profile's processes printed is kept in `transcript` for the secrets scan.
 */

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const TSX = path.join(ROOT, 'node_modules/.bin/tsx');

/** `--browser` value that follows an ARRANGED consent (POST /sandbox/consents) to the CLI's loopback callback. */
export const HEADLESS_BROWSER = `"${TSX}" "${path.join(ROOT, 'test/support/headless-browser.ts')}"`;

/** A Secret Service is reachable (in CI: `bash .ci/with-keyring.sh npx vitest run …`). */
export const hasSecretService = process.platform === 'linux' && Boolean(process.env.DBUS_SESSION_BUS_ADDRESS);
/** Appended to the name of every test that needs the real keychain, so a skip says why. */
export const NEEDS_KEYCHAIN = hasSecretService
  ? ''
  : ' [SKIPPED: no Secret Service — DBUS_SESSION_BUS_ADDRESS is not set; run via `bash .ci/with-keyring.sh npx vitest run test/main/cli`]';

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

export interface CliProcess {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  exited: Promise<CliResult>;
  /** Resolves with the match once `pattern` appears on the stream; rejects if the process exits first. */
  waitFor(stream: 'stdout' | 'stderr', pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
}

export interface SpawnOptions {
  /** Written to the child's stdin, which is then closed. Without it stdin is empty (closed at once). */
  stdin?: string;
  /** Extra environment; a value of `undefined` removes the variable from the child's environment. */
  env?: Record<string, string | undefined>;
  /** Leave out --data-dir and --keychain-service (e.g. to test the environment variables instead). */
  noGlobals?: boolean;
}

const running = new Set<ChildProcess>();

/** SIGKILLs every CLI process a test started and left running (by its own pid, nothing else). */
export async function stopLeftovers(): Promise<void> {
  const left = [...running];
  for (const child of left) child.kill('SIGKILL');
  await Promise.all(left.map((c) => (c.exitCode !== null || c.signalCode !== null ? undefined : new Promise((r) => c.once('exit', r)))));
}

export function childEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    // The headless browser's tsx runs `env node`: make that the Node running these tests (Node 22).
    PATH: `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH ?? ''}`,
    NO_COLOR: '1',
  };
  delete env.RELINK_DATA_DIR;
  delete env.RELINK_KEYCHAIN_SERVICE;
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

export function spawnCli(args: string[], opts: { env?: Record<string, string | undefined>; stdin?: string } = {}): CliProcess {
  const started = performance.now();
  const child = spawn(process.execPath, ['--import', 'tsx', 'main/cli/relink.ts', ...args], {
    cwd: ROOT,
    env: childEnv(opts.env),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  running.add(child);
  child.stdin!.on('error', () => undefined); // the CLI may exit without reading its stdin
  child.stdin!.end(opts.stdin ?? '');
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<CliResult>((resolve) =>
    // 'close', not 'exit': the pipes are drained by then, so stdout/stderr are complete.
    child.on('close', (code, signal) => {
      running.delete(child);
      resolve({ code, signal, stdout: out, stderr: err, ms: Math.round(performance.now() - started) });
    }),
  );
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitFor(stream, pattern, timeoutMs = 15_000) {
      const text = () => (stream === 'stdout' ? out : err);
      const source = stream === 'stdout' ? child.stdout! : child.stderr!;
      return new Promise((resolve, reject) => {
        const check = () => {
          const m = pattern.exec(text());
          if (!m) return;
          cleanup();
          resolve(m);
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`no ${pattern} on ${stream} within ${timeoutMs} ms; stdout: ${out}; stderr: ${err}`));
        }, timeoutMs);
        const onExit = () => {
          check();
          cleanup();
          reject(new Error(`relink exited before printing ${pattern} on ${stream}; stdout: ${out}; stderr: ${err}`));
        };
        const cleanup = () => {
          clearTimeout(timer);
          source.off('data', check);
          child.off('close', onExit);
        };
        source.on('data', check);
        child.once('close', onExit);
        check();
      });
    },
  };
}

/**
 * One Relink profile: a temp data folder and a keychain service name of its own. `cleanup()` deletes the
 * keychain entries of every grant and web-app secret the metadata names, then the folder.
 */
export class Profile {
  readonly dataDir: string;
  readonly keychainService: string;
  /** Everything every process of this profile printed, stdout and stderr, in order of completion. */
  readonly transcript: string[] = [];

  /** `env`: added to every process of this profile (a private keyring's bus, say). */
  constructor(
    label = 'cli',
    private readonly env: Record<string, string> = {},
  ) {
    this.dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `relink-${label}-`));
    this.keychainService = `relink-test-${label}-${process.pid}-${randomBytes(4).toString('hex')}`;
  }

  argv(args: string[], noGlobals = false): string[] {
    return noGlobals ? args : ['--data-dir', this.dataDir, '--keychain-service', this.keychainService, ...args];
  }

  spawn(args: string[], opts: SpawnOptions = {}): CliProcess {
    const p = spawnCli(this.argv(args, opts.noGlobals), { ...opts, env: { ...this.env, ...opts.env } });
    void p.exited.then((r) => this.transcript.push(r.stdout, r.stderr));
    return p;
  }

  /** Runs to completion (SIGKILLed after `timeoutMs`, which then fails the caller's assertions). */
  async run(args: string[], opts: SpawnOptions & { timeoutMs?: number } = {}): Promise<CliResult> {
    const p = this.spawn(args, opts);
    const timer = setTimeout(() => p.child.kill('SIGKILL'), opts.timeoutMs ?? 40_000);
    try {
      return await p.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Runs and insists on exit 0, showing the output otherwise. */
  async ok(args: string[], opts: SpawnOptions & { timeoutMs?: number } = {}): Promise<CliResult> {
    const r = await this.run(args, opts);
    if (r.code !== 0) {
      throw new Error(`relink ${args.join(' ')} exited ${r.code ?? r.signal}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
    }
    return r;
  }

  get metadataPath(): string {
    return path.join(this.dataDir, 'relink.json');
  }

  metadata(): any {
    return JSON.parse(fs.readFileSync(this.metadataPath, 'utf8'));
  }

  get journalDir(): string {
    return path.join(this.dataDir, 'refresh-journal');
  }

  /** A vault on the same keychain service the CLI uses, for reading what it stored. */
  vault(): KeychainVault {
    return new KeychainVault(new NapiKeychain(), this.keychainService, new SystemClock());
  }

  /** Every file under the data folder (relative paths), sorted. */
  files(): string[] {
    const out: string[] = [];
    const walk = (dir: string) => {
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const full = path.join(dir, e.name);
        if (e.isDirectory()) walk(full);
        else out.push(path.relative(this.dataDir, full));
      }
    };
    if (fs.existsSync(this.dataDir)) walk(this.dataDir);
    return out.sort();
  }

  async cleanup(): Promise<void> {
    if (hasSecretService && fs.existsSync(this.metadataPath)) {
      try {
        const doc = this.metadata();
        const keychain = new NapiKeychain();
        for (const id of Object.keys(doc.grants ?? {})) await keychain.delete(this.keychainService, grantAccount(id)).catch(() => false);
        for (const id of Object.keys(doc.apps ?? {})) await keychain.delete(this.keychainService, appAccount(id)).catch(() => false);
      } catch {
        // A test that corrupted the file on purpose: nothing more to find.
      }
    }
    fs.rmSync(this.dataDir, { recursive: true, force: true });
  }
}

/** A port on 127.0.0.1 that was free a moment ago (for an app's registered redirect URI). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface CliWorld extends World {
  /** The redirect port registered for the app in the sandbox (and given to `apps add --redirect-ports`). */
  port: number;
}

/**
 * A sandbox world for the CLI: `orgs` organisations, one adviser in all of them, one app whose redirect URI
 * is a free loopback port (so CLI tests never fight each other, or other suites, over port 5001).
 */
export async function cliWorld(sb: TestSandbox, opts: { orgs?: number; type?: 'pkce' | 'web'; multiOrgConsent?: boolean; email?: string } = {}): Promise<CliWorld> {
  const port = await freePort();
  const w = await buildWorld(sb, { ...opts, app: { redirectUris: [`http://127.0.0.1:${port}/callback`] } });
  return { ...w, port };
}

/** Another app in the same sandbox, for the same tenants (its own redirect port). */
export async function extraApp(sb: TestSandbox, type: 'pkce' | 'web' = 'pkce'): Promise<{ clientId: string; clientSecret?: string; port: number }> {
  const port = await freePort();
  const app = await sb.control('POST', '/sandbox/apps', {
    name: `App ${randomBytes(3).toString('hex')}`,
    type,
    redirectUris: [`http://127.0.0.1:${port}/callback`],
    multiOrgConsent: true,
    tier: 'advanced',
  });
  return { clientId: app.clientId, clientSecret: app.clientSecret, port };
}

/** Arguments of `relink apps add` for a sandbox app (the secret, for a web app, goes on stdin separately). */
export function addAppArgs(sb: TestSandbox, name: string, app: { clientId: string; port: number; clientSecret?: string | undefined }, extra: string[] = []): string[] {
  return [
    'apps', 'add',
    '--name', name,
    '--client-id', app.clientId,
    '--issuer', sb.origin,
    '--redirect-ports', String(app.port),
    '--scopes', 'accounting.settings',
    '--multi-org-consent',
    ...(app.clientSecret ? ['--client-secret-stdin'] : []),
    ...extra,
  ];
}

/** Arrange a consent so the next authorize request for the app completes headless. */
export async function arrangeConsent(sb: TestSandbox, clientId: string, userId: string, tenantIds: string[], decision: 'allow' | 'deny' = 'allow'): Promise<void> {
  await sb.control('POST', '/sandbox/consents', { clientId, userId, tenantIds, decision });
}

/** `apps add` + an arranged consent + `connect` with the headless browser. Returns the app id. */
export async function addAndConnect(p: Profile, sb: TestSandbox, w: CliWorld, name = 'Practice Sync'): Promise<string> {
  const added = await p.ok([...addAppArgs(sb, name, w), '--json'], w.clientSecret ? { stdin: `${w.clientSecret}\n` } : {});
  const appId = JSON.parse(added.stdout).id as string;
  await arrangeConsent(sb, w.clientId, w.userId, w.tenantIds);
  await p.ok(['connect', appId, '--browser', HEADLESS_BROWSER, '--timeout', '20']);
  return appId;
}

/** Polls until `fn` returns a truthy value (or throws after `timeoutMs`). */
export async function until<T>(what: string, fn: () => T | Promise<T>, timeoutMs = 15_000, everyMs = 25): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/**
 * Makes every grant of a stopped profile look `hours` older — last refreshed and last checked that long ago,
 * as after a laptop was off over a weekend — so the next `relink run` finds them overdue and tends them at once
 * (a freshly connected grant is otherwise not due for its first check for 15 minutes).
 */
export function backdateGrants(p: Profile, hours: number): void {
  const doc = p.metadata();
  const back = (iso: string | null) => (iso === null ? null : new Date(Date.parse(iso) - hours * 3_600_000).toISOString());
  for (const g of Object.values(doc.grants) as Array<Record<string, string | null>>) {
    g.lastRefreshAt = back(g.lastRefreshAt!);
    g.refreshTokenIssuedAt = back(g.refreshTokenIssuedAt!);
    g.lastProbeAt = back(g.lastProbeAt!);
  }
  fs.writeFileSync(p.metadataPath, JSON.stringify(doc, null, 2));
}
