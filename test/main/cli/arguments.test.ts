import { afterEach, describe, expect, it } from 'vitest';
import type { AddAppInput } from '../../../shared/api.js';
import { appsAdd, check, connect, UsageError, type Io } from '../../../main/cli/commands.js';
import { main } from '../../../main/cli/relink.js';
import type { RelinkService } from '../../../main/service/relink-service.js';

/**
 * The argument checks of `relink`, called in-process: every number is bounded, every address checked, every
 * message names its flag, and an empty value never silently means "none". Each case must be refused before the
 * service is asked anything, so the service here is a stub that fails the test if it is reached (the same
 * commands against the real service, keychain and sandbox are in apps.test.ts and connect.test.ts).
 */

function io(): Io & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    out: (t) => lines.push(t),
    err: (t) => lines.push(t),
    readStdin: async () => '',
    stopSignal: () => new Promise(() => {}),
  };
}

const CLIENT_ID = '0123456789ABCDEF0123456789ABCDEF';

/** A service that records what `apps add` would have added, and refuses everything else. */
function service() {
  const added: AddAppInput[] = [];
  const unexpected = (what: string) => () => {
    throw new Error(`the service was asked to ${what}`);
  };
  const s = {
    addApp: async (input: AddAppInput) => {
      added.push(input);
      return { ...input, id: 'x', redirectPorts: [5001], authType: 'pkce' };
    },
    findApp: unexpected('find an app'),
    connect: unexpected('connect'),
    check: unexpected('check'),
  } as unknown as RelinkService;
  return { s, added };
}

async function refused(run: () => Promise<unknown>): Promise<string> {
  const err = await run().then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(UsageError);
  return (err as Error).message;
}

describe('numbers are bounded, naming the flag and the range', () => {
  it('--timeout: 1 to 86400 seconds (past 2^31 − 1 ms Node fires the timer at once)', async () => {
    const { s } = service();
    for (const bad of ['2147484', '86401', '0', '99999999999999999999', '1.5', '5m', '+5']) {
      expect(await refused(() => connect(s, ['app', '--timeout', bad], io())), bad).toBe(`--timeout takes a whole number of seconds from 1 to 86400, not "${bad}".`);
    }
    expect(await refused(() => connect(s, ['app', '--timeout=-5'], io()))).toBe('--timeout takes a whole number of seconds from 1 to 86400, not "-5".');
  });

  it('--connection-cap: 1 to 1,000,000 organisations', async () => {
    const { s, added } = service();
    for (const bad of ['0', '1000001', 'lots', '2.5']) {
      const message = await refused(() => appsAdd(s, ['--name', 'Capped', '--client-id', CLIENT_ID, '--connection-cap', bad], io()));
      expect(message, bad).toBe(`--connection-cap takes the number of organisations the app may connect, from 1 to 1000000, not "${bad}".`);
    }
    await appsAdd(s, ['--name', 'Capped', '--client-id', CLIENT_ID, '--connection-cap', '1000000'], io());
    expect(added.map((a) => a.connectionCap)).toEqual([1_000_000]);
  });

  it('--redirect-ports: 1024 to 65535, each one', async () => {
    const { s } = service();
    for (const bad of ['80', '65536', 'http', '5001.5']) {
      const message = await refused(() => appsAdd(s, ['--name', 'P', '--client-id', CLIENT_ID, '--redirect-ports', `5001,${bad}`], io()));
      expect(message, bad).toMatch(new RegExp(`^--redirect-ports takes ports from 1024 to 65535, .* not "${bad.replace('.', '\\.')}"\\.$`));
    }
  });
});

describe('--issuer and --api-base', () => {
  const add = (flag: string, value: string) => {
    const { s, added } = service();
    return { run: () => appsAdd(s, ['--name', 'Issuer', '--client-id', CLIENT_ID, flag, value], io()), added };
  };

  it('https anywhere; http only on this computer (the sandbox); a bare address with at most a path', async () => {
    for (const good of ['https://identity.xero.com', 'https://login.example.com/tenant/x', 'http://127.0.0.1:4417', 'http://localhost:4417/identity', 'http://[::1]:4417']) {
      const a = add('--issuer', good);
      await a.run();
      expect(a.added[0]?.issuer, good).toBe(good);
    }
    const api = add('--api-base', 'https://api.xero.com/api.xro/2.0');
    await api.run();
    expect(api.added[0]?.apiBase).toBe('https://api.xero.com/api.xro/2.0');
  });

  it('refuses the rest, each with a message that names the flag', async () => {
    const cases: Array<[string, string, string]> = [
      ['--issuer', 'http://evil.example', '--issuer must be an https address like https://identity.xero.com; http is allowed only on this computer (127.0.0.1, localhost or [::1], for the sandbox), not "http://evil.example".'],
      ['--issuer', 'http://127.0.0.1.evil.example', '--issuer must be an https address like https://identity.xero.com;'],
      ['--api-base', 'http://api.evil.example/api.xro/2.0', '--api-base must be an https address like https://api.xero.com;'],
      ['--issuer', 'https://identity.xero.com/?next=https://evil.example', '--issuer is the service\'s address alone, like https://identity.xero.com, without "?…" or "#…", not "https://identity.xero.com/?next=https://evil.example".'],
      ['--issuer', 'https://identity.xero.com/#x', '--issuer is the service\'s address alone'],
      ['--issuer', 'ftp://identity.xero.com', '--issuer takes an address like https://identity.xero.com, not "ftp://identity.xero.com".'],
      ['--issuer', 'identity.xero.com', '--issuer takes an address like https://identity.xero.com, not "identity.xero.com".'],
      ['--issuer', 'https://admin:hunter22@identity.xero.com', '--issuer must not carry a user name or password.'],
    ];
    for (const [flag, value, message] of cases) {
      const a = add(flag, value);
      const got = await refused(a.run);
      expect(got, value).toContain(message);
      expect(got).not.toContain('hunter22');
      expect(a.added).toEqual([]);
    }
  });
});

describe('every message names its flag', () => {
  it("the service's schema, in terms of the options typed", async () => {
    const { s, added } = service();
    expect(await refused(() => appsAdd(s, ['--name', 'S', '--client-id', CLIENT_ID, '--scopes', 'accounting.settings bad-scope!'], io()))).toBe(
      '--scopes: Scopes are words like accounting.settings, separated by spaces.',
    );
    expect(await refused(() => appsAdd(s, ['--name', 'n'.repeat(201), '--client-id', CLIENT_ID], io()))).toBe('--name takes at most 200 characters.');
    const ports = Array.from({ length: 21 }, (_, i) => 5001 + i).join(',');
    expect(await refused(() => appsAdd(s, ['--name', 'P', '--client-id', CLIENT_ID, '--redirect-ports', ports], io()))).toBe('--redirect-ports takes at most 20 values.');
    expect(added).toEqual([]);
  });

  it('an empty value is refused instead of meaning "none" (check --app "" used to check every grant)', async () => {
    const { s } = service();
    const cases: Array<[(args: string[]) => Promise<unknown>, string[], string]> = [
      [(a) => check(s, a, io()), ['--app', ''], '--app needs a value, not an empty one.'],
      [(a) => check(s, a, io()), ['--staff', ' '], '--staff needs a value, not an empty one.'],
      [(a) => connect(s, a, io()), ['app', '--browser', ''], '--browser needs a value, not an empty one.'],
      [(a) => appsAdd(s, a, io()), ['--name', 'X', '--client-id', CLIENT_ID, '--created-by', ''], '--created-by needs a value, not an empty one.'],
      [(a) => appsAdd(s, a, io()), ['--name', 'X', '--client-id', CLIENT_ID, '--scopes', ''], '--scopes needs a value, not an empty one.'],
      [(a) => appsAdd(s, a, io()), ['--name', '', '--client-id', CLIENT_ID], '--name needs a value, not an empty one.'],
    ];
    for (const [run, args, message] of cases) expect(await refused(() => run(args)), args.join(' ')).toBe(message);
  });

  it('a --browser command that cannot be split is a usage error before any app is looked up', async () => {
    const { s } = service();
    expect(await refused(() => connect(s, ['app', '--browser', "'firefox"], io()))).toBe(
      '--browser: The browser command has an unclosed single quote. Give a program and its arguments (--browser "firefox --new-window"), or --browser none to print the address.',
    );
  });
});

describe('global options (before the command)', () => {
  const saved = { dir: process.env.RELINK_DATA_DIR, service: process.env.RELINK_KEYCHAIN_SERVICE };
  afterEach(() => {
    for (const [k, v] of [['RELINK_DATA_DIR', saved.dir], ['RELINK_KEYCHAIN_SERVICE', saved.service]] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });

  it('an unknown one is a usage error (exit 2) naming it', async () => {
    for (const flag of ['--bogus', '-x', '--data-directory=/tmp/x']) {
      const o = io();
      expect(await main([flag, 'status'], o), flag).toBe(2);
      expect(o.lines[0], flag).toMatch(new RegExp(`^Unknown option ${flag.split('=')[0]}\\. Before the command Relink takes only --data-dir DIR and --keychain-service NAME`));
    }
  });

  it('an empty --data-dir or --keychain-service, or one without its value, is a usage error (exit 2)', async () => {
    const cases: Array<[string[], string]> = [
      [['--data-dir', '', 'status'], '--data-dir needs a folder (--data-dir DIR), not an empty value.'],
      [['--data-dir=', 'status'], '--data-dir needs a folder (--data-dir DIR), not an empty value.'],
      [['--data-dir'], '--data-dir needs a folder (--data-dir DIR), not an empty value.'],
      [['--keychain-service', ' ', 'status'], '--keychain-service needs a name (--keychain-service NAME), not an empty value.'],
    ];
    for (const [argv, message] of cases) {
      const o = io();
      expect(await main(argv, o), argv.join(' ')).toBe(2);
      expect(o.lines[0]!.startsWith(`${message}\n\nUsage: relink`), o.lines[0]).toBe(true);
    }
  });

  it('RELINK_DATA_DIR or RELINK_KEYCHAIN_SERVICE set but empty is a usage error too (exit 2)', async () => {
    process.env.RELINK_DATA_DIR = '';
    const o = io();
    expect(await main(['status'], o)).toBe(2);
    expect(o.lines[0]).toMatch(/^RELINK_DATA_DIR is set but empty: set it to a folder, or unset it to use the default\./);
    process.env.RELINK_DATA_DIR = '/tmp/relink-never-opened';
    process.env.RELINK_KEYCHAIN_SERVICE = '';
    const o2 = io();
    expect(await main(['status'], o2)).toBe(2);
    expect(o2.lines[0]).toMatch(/^RELINK_KEYCHAIN_SERVICE is set but empty/);
  });
});
