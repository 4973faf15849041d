import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { assertOpenableUrl, BrowserOpenError, openInBrowser, splitCommand, systemOpener } from '../../../main/oauth/browser.js';

const AUTHORIZE =
  'https://login.xero.com/identity/connect/authorize?response_type=code&client_id=ABC&redirect_uri=http%3A%2F%2F127.0.0.1%3A5001%2Fcallback&scope=openid+profile&state=s%20t&code_challenge=x';

describe('oauth: opening the system browser', () => {
  const dir = mkdtempSync(join(tmpdir(), 'relink-browser-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** A fake browser: a shell script that writes each of its arguments on its own line. */
  function fakeBrowser(name: string): { program: string; out: string } {
    const out = join(dir, `${name}.argv`);
    const program = join(dir, name);
    writeFileSync(program, `#!/bin/sh\nfor a in "$@"; do printf '%s\\n' "$a"; done > "${out}"\n`);
    chmodSync(program, 0o755);
    return { program, out };
  }

  async function readArgv(out: string): Promise<string[]> {
    for (let i = 0; i < 100 && !existsSync(out); i++) await new Promise((r) => setTimeout(r, 20));
    return readFileSync(out, 'utf8').split('\n').slice(0, -1);
  }

  describe('splitCommand', () => {
    it('splits words like a POSIX shell, without expanding anything', () => {
      expect(splitCommand('firefox --private-window', { windows: false })).toEqual(['firefox', '--private-window']);
      expect(splitCommand(`  "/opt/My Browser/run"   --profile 'Work Profile'  `, { windows: false })).toEqual([
        '/opt/My Browser/run',
        '--profile',
        'Work Profile',
      ]);
      expect(splitCommand('a\\ b "c \\"d\\"" e"f"g', { windows: false })).toEqual(['a b', 'c "d"', 'efg']);
      expect(splitCommand(`x '' ""`, { windows: false })).toEqual(['x', '', '']);
      // Shell syntax is just text: nothing here can run a second program.
      expect(splitCommand('browser; rm -rf ~ && echo $HOME | cat `id` *', { windows: false })).toEqual([
        'browser;', 'rm', '-rf', '~', '&&', 'echo', '$HOME', '|', 'cat', '`id`', '*',
      ]);
    });

    it('keeps backslashes on Windows, where they are path separators', () => {
      expect(splitCommand('"C:\\Program Files\\Mozilla Firefox\\firefox.exe" -new-tab', { windows: true })).toEqual([
        'C:\\Program Files\\Mozilla Firefox\\firefox.exe',
        '-new-tab',
      ]);
    });

    it('refuses an empty command, an unclosed quote or a trailing backslash', () => {
      for (const bad of ['', '   ', '"firefox', "it's", 'firefox \\']) {
        expect(() => splitCommand(bad, { windows: false })).toThrow(BrowserOpenError);
      }
    });
  });

  describe('which URLs may be opened', () => {
    it('allows https, and http only on the loopback interface (the sandbox)', () => {
      expect(assertOpenableUrl(AUTHORIZE)).toBe(new URL(AUTHORIZE).href);
      expect(assertOpenableUrl('http://127.0.0.1:4417/connect/authorize?x=1')).toContain('127.0.0.1:4417');
      expect(assertOpenableUrl('http://localhost:4417/')).toBe('http://localhost:4417/');
      expect(assertOpenableUrl('http://[::1]:4417/')).toBe('http://[::1]:4417/');
    });

    it('refuses anything else with a clear error', async () => {
      for (const bad of [
        'http://login.xero.com/identity/connect/authorize',
        'http://127.0.0.1.evil.example/',
        'http://192.168.1.10:4417/',
        'file:///etc/passwd',
        'javascript:alert(1)',
        'ftp://example.com/',
        'xero://callback',
        'not a url',
        'https://user:pass@login.xero.com/',
      ]) {
        expect(() => assertOpenableUrl(bad), bad).toThrow(BrowserOpenError);
        const err = await openInBrowser(bad, { kind: 'none', print: () => {} }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(BrowserOpenError);
        expect((err as BrowserOpenError).reason).toBe('refused-url');
      }
      await expect(openInBrowser('http://example.com/', { kind: 'system' })).rejects.toThrow(/only https addresses/);
    });
  });

  it('runs a configured command with its arguments and the URL as one last argument, through no shell', async () => {
    const { program, out } = fakeBrowser('fake browser');
    const quoted = `'${program}' --new-window "--profile=Work Profile" ';' '$HOME'`;
    await openInBrowser(AUTHORIZE, { kind: 'command', command: quoted });
    expect(await readArgv(out)).toEqual(['--new-window', '--profile=Work Profile', ';', '$HOME', new URL(AUTHORIZE).href]);
  });

  it('passes a URL full of shell metacharacters through untouched', async () => {
    const { program, out } = fakeBrowser('meta');
    const url = "https://login.example/authorize?a=1&b=$(touch%20pwned)&c=`id`;d|e>f'g";
    await openInBrowser(url, { kind: 'command', command: `'${program}'` });
    const argv = await readArgv(out);
    expect(argv).toEqual([new URL(url).href]);
    expect(existsSync(join(dir, 'pwned'))).toBe(false);
  });

  it('reports a missing program clearly', async () => {
    const err = await openInBrowser(AUTHORIZE, { kind: 'command', command: join(dir, 'no-such-browser') + ' --x' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BrowserOpenError);
    expect((err as BrowserOpenError).reason).toBe('program-missing');
    expect((err as Error).message).toContain('no-such-browser');
    expect((err as Error).message).toMatch(/not found/);
    expect((err as Error).message).not.toContain('state=');
    expect((err as BrowserOpenError).detail).toBe(`the program “${join(dir, 'no-such-browser')}” was not found`);
  });

  it('reports a launcher that fails at once (like xdg-open finding no browser)', async () => {
    const program = join(dir, 'failing');
    writeFileSync(program, '#!/bin/sh\nexit 3\n');
    chmodSync(program, 0o755);
    const err = await openInBrowser(AUTHORIZE, { kind: 'command', command: `'${program}'` }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BrowserOpenError);
    expect((err as Error).message).toMatch(/exit status 3/);
    expect((err as BrowserOpenError).detail).toBe(`“${program}” stopped with exit status 3`);
  });

  it('treats a launcher still running after the settle time as opened', async () => {
    const program = join(dir, 'slow');
    writeFileSync(program, '#!/bin/sh\nsleep 2\n');
    chmodSync(program, 0o755);
    await expect(openInBrowser(AUTHORIZE, { kind: 'command', command: `'${program}'` }, { settleMs: 100 })).resolves.toBeUndefined();
  });

  it('with kind none, prints the URL instead', async () => {
    const printed: string[] = [];
    await openInBrowser(AUTHORIZE, { kind: 'none', print: (u) => printed.push(u) });
    expect(printed).toEqual([new URL(AUTHORIZE).href]);
  });

  it('picks the platform opener, never a shell', () => {
    expect(systemOpener('linux')).toEqual({ program: 'xdg-open', args: [] });
    expect(systemOpener('freebsd')).toEqual({ program: 'xdg-open', args: [] });
    expect(systemOpener('darwin')).toEqual({ program: 'open', args: [] });
    // Not `cmd /c start "" URL`: cmd.exe would split the URL at `&` and run the rest as commands.
    expect(systemOpener('win32')).toEqual({ program: 'rundll32.exe', args: ['url.dll,FileProtocolHandler'] });
  });
});
