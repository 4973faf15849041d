import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { RelinkApp } from '../../../main/app/relink-app.js';
import { SystemClock } from '../../../main/core/clock.js';
import { NapiKeychain } from '../../../main/secrets/napi-keyring.js';
import { ConfBackend, type WriteFs } from '../../../main/store/document-file.js';

/**
 * The window on a full disk: a change it asks for comes back as a `disk-full` value whose message is true —
 * the change is kept in the running app and written as soon as the disk has room again. The disk is simulated
 * (an injected fs whose writes fail with ENOSPC while `full` is set); nothing here needs the keychain.
 */

let full = false;
const diskFs: WriteFs = {
  ...fs,
  writeSync: ((...args: Parameters<typeof fs.writeSync>) => {
    if (full) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    return (fs.writeSync as (...a: unknown[]) => number)(...args);
  }) as WriteFs['writeSync'],
};

const opened: Array<{ app: RelinkApp; dir: string }> = [];
afterEach(async () => {
  full = false;
  for (const o of opened.splice(0)) {
    await o.app.close().catch(() => undefined);
    fs.rmSync(o.dir, { recursive: true, force: true });
  }
});

describe('RelinkApp on a full disk', () => {
  it('a settings change is refused as a disk-full value, kept, and saved once there is room', { timeout: 30_000 }, async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relink-app-full-'));
    const app = await RelinkApp.open({
      host: 'browser',
      version: '0.0.0-test',
      dataDir: dir,
      keychainService: `Relink-diskfull-${process.pid}`,
      keychain: new NapiKeychain(),
      backendFor: (d) => new ConfBackend(d, { fs: diskFs }),
      clock: new SystemClock(),
      openAuthorizeUrl: async () => undefined,
      openHelpUrl: async () => undefined,
    });
    opened.push({ app, dir });
    const file = path.join(dir, 'relink.json');
    const before = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : null;

    full = true;
    expect(await app.dispatch('settings.update', { notifications: false })).toEqual({
      ok: false,
      error: {
        code: 'disk-full',
        message: 'The disk is full, so this change is not saved yet. Free some space and keep Relink open: it saves the change as soon as there is room. (ENOSPC)',
      },
    });
    expect(fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : null).toBe(before);

    full = false;
    for (const end = Date.now() + 20_000; Date.now() < end; await new Promise((r) => setTimeout(r, 50))) {
      if (fs.existsSync(file) && JSON.parse(fs.readFileSync(file, 'utf8')).settings.notifications === false) break;
    }
    expect(JSON.parse(fs.readFileSync(file, 'utf8')).settings.notifications).toBe(false);
  });
});
