import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { statusSnapshotSchema } from '../../../shared/api.js';
import { NEEDS_KEYCHAIN, addAndConnect, addAppArgs, cliWorld, hasSecretService } from '../../support/relink-cli.js';
import { useCliProfiles } from '../../support/cli-profile.js';

/**
 * The keychain cannot be reached: the CLI runs with DBUS_SESSION_BUS_ADDRESS removed from its environment, so
 * the Secret Service is out of reach (the same as an SSH session on a desktop that never unlocked it). Every
 * command that needs a key exits 3 and says to unlock or check the keychain; nothing is deleted — not the
 * metadata, not the journal, not the keys themselves — and everything works again once the keychain is back.
 */

const { sb, profile } = useCliProfiles('keychain', { sandbox: 'reset-each-test' });
const NO_BUS = { env: { DBUS_SESSION_BUS_ADDRESS: undefined } };

const UNLOCK = /The keychain is not available \(on Linux, GNOME Keyring or another Secret Service must be running in your desktop session\)\. Unlock your keychain \(GNOME Keyring, macOS Keychain or Windows Credential Manager\) and try again; nothing was changed or deleted\./;

describe('relink without a reachable keychain', () => {
  it('check, run, connect and adding a web app exit 3 and say to unlock the keychain', async () => {
    const p = profile();
    const w = await cliWorld(sb);
    // A PKCE app holds no secret, so it can be added without the keychain.
    const add = await p.run(addAppArgs(sb, 'Practice Sync', w), NO_BUS);
    expect(add.code, add.stderr).toBe(0);

    for (const args of [['check'], ['check', '--json'], ['run'], ['connect', 'practice-sync', '--browser', 'none', '--timeout', '5']]) {
      const r = await p.run(args, NO_BUS);
      expect(r.code, `relink ${args.join(' ')}: ${r.stderr}`).toBe(3);
      expect(r.stderr).toMatch(UNLOCK);
      expect(r.stderr).not.toContain('Open this address'); // no consent is started whose key could not be kept
      expect(r.stdout).toBe('');
    }

    const web = await cliWorld(sb, { type: 'web' });
    const addWeb = await p.run(addAppArgs(sb, 'Reporting', web), { ...NO_BUS, stdin: web.clientSecret! });
    expect(addWeb.code).toBe(3);
    expect(addWeb.stderr).toMatch(/keychain is not available/);
    expect(addWeb.stderr).toMatch(/Unlock your keychain/);
    expect(addWeb.stderr).not.toContain(web.clientSecret!);
    expect(Object.keys(p.metadata().apps)).toEqual(['practice-sync']);

    // status still answers (exit 0) and says what is wrong, in words and as JSON.
    const words = await p.run(['status'], NO_BUS);
    expect(words.code).toBe(0);
    expect(words.stdout).toContain('The keychain is not available: unlock it to let Relink check connections.');
    const json = await p.run(['status', '--json'], NO_BUS);
    expect(json.code).toBe(0);
    const s = statusSnapshotSchema.parse(JSON.parse(json.stdout));
    expect(s.keychain).toBe('unavailable');
    expect(s.incidents.map((i) => i.cause)).toContain('keychain-unavailable');
  });

  it.skipIf(!hasSecretService)(`deletes nothing, and works again once the keychain is back${NEEDS_KEYCHAIN}`, async () => {
    const p = profile();
    const w = await cliWorld(sb, { orgs: 2 });
    await addAndConnect(p, sb, w);
    await p.ok(['check']);
    const before = p.metadata();
    const grantId = Object.keys(before.grants)[0]!;
    const key = await p.vault().readGrant(grantId);
    expect(key?.refreshToken).toBeTruthy();
    const filesBefore = p.files();
    expect(filesBefore).toContain('relink.json');

    for (const args of [['check'], ['run'], ['check', '--app', 'practice-sync']]) {
      const r = await p.run(args, NO_BUS);
      expect(r.code, r.stderr).toBe(3);
      expect(r.stderr).toMatch(UNLOCK);
    }
    const locked = await p.run(['status', '--json'], NO_BUS);
    expect(locked.code).toBe(0);
    const lockedStatus = statusSnapshotSchema.parse(JSON.parse(locked.stdout));
    expect(lockedStatus.keychain).toBe('unavailable');
    // The grants are not declared dead because their keys could not be read.
    expect(lockedStatus.grants.map((g) => g.health)).not.toContain('needs-reconnect');

    // Nothing was deleted: every file is still there, the grant, app and connections unchanged, the key intact.
    const filesAfter = p.files();
    for (const f of filesBefore) expect(filesAfter).toContain(f);
    const after = p.metadata();
    expect(after.apps).toEqual(before.apps);
    expect(after.grants).toEqual(before.grants);
    expect(Object.keys(after.connections).sort()).toEqual(Object.keys(before.connections).sort());
    expect(fs.readdirSync(path.join(p.dataDir, 'refresh-journal'))).toEqual([]);
    expect(await p.vault().readGrant(grantId)).toEqual(key);

    // Back with the keychain: the same grant refreshes, and the keychain incident closes.
    const back = await p.run(['check', '--json']);
    expect(back.code, back.stderr).toBe(0);
    const { summary, status } = JSON.parse(back.stdout);
    expect(summary).toMatchObject({ grants: 1, refreshed: 1 });
    expect(status.keychain).toBe('available');
    expect(status.grants[0].health).toBe('healthy');
    expect(status.incidents).toEqual([]);
  }, 60_000);
});
