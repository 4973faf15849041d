import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { SystemClock } from '../../../main/core/clock.js';
import { KeychainError } from '../../../main/secrets/keychain.js';
import { NapiKeychain, classifyKeychainMessage } from '../../../main/secrets/napi-keyring.js';
import { MAX_VALUE_LENGTH, KeychainVault } from '../../../main/secrets/vault.js';

/**
 * Against the REAL OS keychain: gnome-keyring on Linux CI, through `bash .ci/with-keyring.sh npx vitest run …`
 * (a private D-Bus session with a throwaway, unlocked keyring). Without a session bus there is no Secret
 * Service, and those tests say so in their name and are reported as skipped — never passed silently.
 *
 * The "no session bus" and "locked keyring" cases run in child processes with their own environment, so they
 * never disturb the keyring the rest of the suite shares.
 */

const repo = path.resolve(fileURLToPath(new URL('.', import.meta.url)), '../../..');
const isLinux = process.platform === 'linux';
const hasSecretService = isLinux && Boolean(process.env.DBUS_SESSION_BUS_ADDRESS);
const REAL = hasSecretService
  ? ''
  : ' [SKIPPED: no Secret Service — DBUS_SESSION_BUS_ADDRESS is not set; run via `bash .ci/with-keyring.sh npx vitest run`]';

const which = (tool: string) => {
  try {
    execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};
const canStartPrivateKeyring = isLinux && ['dbus-run-session', 'dbus-send', 'gnome-keyring-daemon'].every(which);
const PRIVATE = canStartPrivateKeyring ? '' : ' [SKIPPED: needs dbus-run-session, dbus-send and gnome-keyring-daemon]';

const service = `Relink-test-${process.pid}-${randomBytes(4).toString('hex')}`;
const keychain = new NapiKeychain();
const written: string[] = [];

afterEach(async () => {
  if (!hasSecretService) return;
  for (const account of written.splice(0)) await keychain.delete(service, account).catch(() => false);
});

describe('NapiKeychain on the real keychain', () => {
  it.skipIf(!hasSecretService)(`round-trips a value, then deletes it${REAL}`, async () => {
    written.push('round-trip');
    await expect(keychain.get(service, 'round-trip')).resolves.toBeNull();
    await keychain.set(service, 'round-trip', 'value-1');
    await expect(keychain.get(service, 'round-trip')).resolves.toBe('value-1');
    await keychain.set(service, 'round-trip', 'value-2');
    await expect(keychain.get(service, 'round-trip')).resolves.toBe('value-2');
    await expect(keychain.delete(service, 'round-trip')).resolves.toBe(true);
    await expect(keychain.get(service, 'round-trip')).resolves.toBeNull();
    await expect(keychain.delete(service, 'round-trip')).resolves.toBe(false);
  });

  it.skipIf(!hasSecretService)(`keeps entries of different services and accounts apart${REAL}`, async () => {
    written.push('a', 'b');
    await keychain.set(service, 'a', 'A');
    await keychain.set(service, 'b', 'B');
    await expect(keychain.get(service, 'a')).resolves.toBe('A');
    await expect(keychain.get(service, 'b')).resolves.toBe('B');
    await expect(keychain.get(`${service}-other`, 'a')).resolves.toBeNull();
  });

  it.skipIf(!hasSecretService)(`stores 5,000 characters on Linux, yet the vault refuses over 1,280${REAL}`, async () => {
    written.push('big');
    const big = 'z'.repeat(5_000);
    await keychain.set(service, 'big', big);
    await expect(keychain.get(service, 'big')).resolves.toBe(big);

    const vault = new KeychainVault(keychain, service, new SystemClock());
    expect(await vault.probe()).toBe('available');
    const error = await vault.saveInitial('too-big', 'r'.repeat(MAX_VALUE_LENGTH)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KeychainError);
    expect((error as KeychainError).kind).toBe('too-large');
    // Refused before touching the keychain.
    await expect(keychain.get(service, 'grant:too-big')).resolves.toBeNull();
  });

  it.skipIf(!hasSecretService)(`the vault probes available and keeps one verified entry per grant${REAL}`, async () => {
    written.push('grant:g1');
    const vault = new KeychainVault(keychain, service, new SystemClock());
    expect(await vault.probe()).toBe('available');
    await vault.saveInitial('g1', 'rt-A');
    await vault.saveRotated('g1', 'rt-B', 'rt-A');
    const stored = await vault.readGrant('g1');
    expect(stored).toMatchObject({ refreshToken: 'rt-B', previous: 'rt-A' });
    expect(JSON.parse((await keychain.get(service, 'grant:g1'))!)).toMatchObject({ v: 1, rt: 'rt-B', prev: 'rt-A' });
    await expect(vault.deleteGrant('g1')).resolves.toBe(true);
  });
});

// --- Child processes -----------------------------------------------------------------------------------------

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'relink-keyring-test-'));
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

/** A tiny program that probes the vault and tries a read and a write through NapiKeychain directly. */
function writeProbeScript(): string {
  const file = path.join(scratch, 'probe-vault.mts');
  const mod = (p: string) => pathToFileURL(path.join(repo, p)).href;
  fs.writeFileSync(
    file,
    `
import { SystemClock } from ${JSON.stringify(mod('main/core/clock.ts'))};
import { NapiKeychain } from ${JSON.stringify(mod('main/secrets/napi-keyring.ts'))};
import { KeychainVault } from ${JSON.stringify(mod('main/secrets/vault.ts'))};
const service = process.env.PROBE_SERVICE ?? 'Relink-probe';
const keychain = new NapiKeychain();
const outcome = async (f) => {
  try { return { ok: await f() }; } catch (e) { return { kind: e.kind, message: e.message }; }
};
const rawWrite = await outcome(() => keychain.set(service, 'raw', 'v'));
const rawRead = await outcome(() => keychain.get(service, 'raw'));
const vault = new KeychainVault(keychain, service, new SystemClock());
const state = await vault.probe();
const read = await outcome(() => vault.readGrant('g1'));
await keychain.delete(service, 'raw').catch(() => false);
console.log(JSON.stringify({ state, read, rawWrite, rawRead }));
`,
  );
  return file;
}

interface ProbeOutcome {
  state: string;
  read: { ok?: unknown; kind?: string; message?: string };
  rawWrite: { ok?: unknown; kind?: string; message?: string };
  rawRead: { ok?: unknown; kind?: string; message?: string };
}

/** Run to completion; TypeScript children run as `node --import tsx`, from the repository (where tsx resolves). */
function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { env, cwd: repo, timeout: 60_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${cmd} failed: ${error.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

const lastJsonLine = (out: string): ProbeOutcome => JSON.parse(out.trim().split('\n').filter((l) => l.startsWith('{')).pop()!);

describe('keychain states outside a working Secret Service', () => {
  it.skipIf(!isLinux)('with NO session bus the probe reports not available and a read never answers "no token"', async () => {
    const script = writeProbeScript();
    const env: NodeJS.ProcessEnv = { ...process.env, PROBE_SERVICE: service };
    delete env.DBUS_SESSION_BUS_ADDRESS;
    const result = lastJsonLine(await run(process.execPath, ['--import', 'tsx', script], env));
    expect(result.state).not.toBe('available');
    expect(result.state).toBe('unavailable');
    expect(result.read.ok).toBeUndefined();
    expect(result.read.kind).toBe('unavailable');
    expect(result.read.message).toContain('Unlock your keychain');
    // NapiKeychain pins the Secret Service, so even a raw read fails loudly instead of answering null.
    expect(result.rawRead.kind).toBe('unavailable');
    expect(result.rawWrite.kind).toBe('unavailable');
    expect(result.rawWrite.message).toMatch(/DBus error|DBUS_SESSION_BUS_ADDRESS/);
  });

  it.skipIf(!canStartPrivateKeyring)(`with a LOCKED keyring the probe reports locked${PRIVATE}`, async () => {
    const script = writeProbeScript();
    const root = fs.mkdtempSync(path.join(scratch, 'locked-'));
    // A private bus and keyring, locked right after it is created: the shared keyring is never touched.
    const shell = `
set -eu
export XDG_DATA_HOME="$ROOT/data" XDG_CONFIG_HOME="$ROOT/config" XDG_RUNTIME_DIR="$ROOT/run"
mkdir -m 700 -p "$XDG_DATA_HOME" "$XDG_CONFIG_HOME" "$XDG_RUNTIME_DIR"
dbus-update-activation-environment XDG_DATA_HOME XDG_CONFIG_HOME XDG_RUNTIME_DIR
gnome-keyring-daemon --foreground --unlock --components=secrets < <(printf '%s' throwaway) >/dev/null 2>&1 &
daemon=$!
trap 'kill $daemon 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  dbus-send --session --print-reply=literal --dest=org.freedesktop.DBus /org/freedesktop/DBus \\
    org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null | grep -q true && break
  sleep 0.1
done
dbus-send --session --dest=org.freedesktop.secrets --print-reply /org/freedesktop/secrets \\
  org.freedesktop.Secret.Service.Lock array:objpath:/org/freedesktop/secrets/collection/login >/dev/null
"$NODE" --import tsx "$SCRIPT"
`;
    const env: NodeJS.ProcessEnv = { ...process.env, ROOT: root, NODE: process.execPath, SCRIPT: script, PROBE_SERVICE: service };
    delete env.DBUS_SESSION_BUS_ADDRESS;
    delete env.DISPLAY;
    delete env.WAYLAND_DISPLAY;
    const result = lastJsonLine(await run('dbus-run-session', ['--', 'bash', '-c', shell], env));
    expect(result.state).toBe('locked');
    expect(result.read.kind).toBe('locked');
    expect(result.read.message).toContain(
      'Unlock your keychain (GNOME Keyring / macOS Keychain / Windows Credential Manager) and try again',
    );
    expect(result.rawWrite.kind).toBe('locked');
    expect(result.rawWrite.message).toContain('unlock prompt was dismissed');
  });
});

describe('classifyKeychainMessage (messages observed from @napi-rs/keyring 2.1.2 / gnome-keyring 42.1)', () => {
  it.each([
    ["Couldn't access platform storage: Secret Service: unlock prompt was dismissed", 'locked'],
    ['Secret Service: object locked', 'locked'],
    [
      'Platform failure: DBus error: Using X11 for dbus-daemon autolaunch was disabled at compile time, set your DBUS_SESSION_BUS_ADDRESS instead',
      'unavailable',
    ],
    ["Couldn't access platform storage: AccessDenied", 'unavailable'],
    ["Couldn't access platform storage: Secret Service: no result found", 'unavailable'],
    ["Attribute 'password' is longer than the platform limit of 1280 chars", 'too-large'],
    ['Entry is matched by 2 credentials: ...', 'failed'],
  ] as const)('%s → %s', (message, kind) => {
    expect(classifyKeychainMessage(message)).toBe(kind);
  });
});
