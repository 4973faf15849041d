import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { browserFrom } from '../../../main/app/browser-option.js';
import { EXIT, failureExit, UsageError } from '../../../main/app/exit-codes.js';
import { DEFAULT_KEYCHAIN_SERVICE, resolveProfile } from '../../../main/app/profile.js';
import { failureExit as cliFailureExit, USAGE } from '../../../main/cli/commands.js';
import { ServiceError } from '../../../main/service/relink-service.js';
import { DiskFullError } from '../../../main/store/document-file.js';

/**
 * The helpers the hosts share (main/app, since no host imports another): which profile a process opens, the
 * `--browser` option, and how a terminal host ends. The CLI and browser mode must read them alike.
 */
describe('shared host helpers', () => {
  it('the profile: the option wins over the environment, which wins over the default', () => {
    const env = { RELINK_DATA_DIR: '/tmp/from-env', RELINK_KEYCHAIN_SERVICE: 'Relink-env' };
    expect(resolveProfile({ 'data-dir': 'rel/dir', 'keychain-service': 'Relink-opt' }, env)).toEqual({ dataDir: path.resolve('rel/dir'), keychainService: 'Relink-opt' });
    expect(resolveProfile({}, env)).toEqual({ dataDir: '/tmp/from-env', keychainService: 'Relink-env' });
    expect(resolveProfile({}, {}).keychainService).toBe(DEFAULT_KEYCHAIN_SERVICE);
    expect(path.isAbsolute(resolveProfile({}, {}).dataDir)).toBe(true);
  });

  it('--browser: the system browser, a command, or none (which prints the address); a broken command is a usage error', () => {
    const printed: string[] = [];
    expect(browserFrom(undefined, { err: (t) => printed.push(t) })).toEqual({ kind: 'system' });
    expect(browserFrom('firefox --new-window', { err: (t) => printed.push(t) })).toEqual({ kind: 'command', command: 'firefox --new-window' });
    const none = browserFrom('none', { err: (t) => printed.push(t) });
    if (none.kind !== 'none') throw new Error('expected none');
    none.print('https://login.example/authorize');
    expect(printed).toEqual(['Open this address in a browser to approve the connection:\nhttps://login.example/authorize']);
    expect(() => browserFrom('firefox "unclosed', { err: () => undefined })).toThrow(UsageError);
  });

  it('exit codes: the same code for the same failure in every terminal host; only the CLI adds its usage text', () => {
    expect(failureExit(new ServiceError('keychain', 'locked'))).toEqual({ code: EXIT.keychain, message: 'locked' });
    expect(failureExit(new ServiceError('unreachable', 'down'))).toEqual({ code: EXIT.unreachable, message: 'down' });
    expect(failureExit(new DiskFullError('ENOSPC', '/tmp/x')).code).toBe(EXIT.failure);
    expect(failureExit(new Error('boom'))).toEqual({ code: EXIT.failure, message: 'Relink stopped on an unexpected error: boom' });
    expect(failureExit(new UsageError('--port takes a number'))).toEqual({ code: EXIT.usage, message: '--port takes a number' });
    expect(cliFailureExit(new UsageError('--port takes a number'))).toEqual({ code: EXIT.usage, message: `--port takes a number\n\n${USAGE}` });
    expect(cliFailureExit(new ServiceError('not-authorised', 'declined'))).toEqual(failureExit(new ServiceError('not-authorised', 'declined')));
  });
});
