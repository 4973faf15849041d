import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { statusSnapshotSchema } from '../../../shared/api.js';
import { NEEDS_KEYCHAIN, addAndConnect, addAppArgs, cliWorld, hasSecretService } from '../../support/relink-cli.js';
import { useCliProfiles } from '../../support/cli-profile.js';

/**
 * A damaged metadata file (a disk filled up, a sync tool wrote half a file, someone "fixed" it in an editor):
 * the next command says so on stderr, moves the damaged file aside (never deletes it), restores the last good
 * copy and carries on with its job.
 */

const { sb, profile } = useCliProfiles('recovery', { sandbox: 'reset-each-test' });

const RESTORED = /Relink's data file was damaged \((.+)\)\. It was moved to (\S+relink\.corrupt[.-][^ ]+\.json) and the last good copy was restored; changes made since that copy was saved may need to be checked again\./;

describe('relink with a damaged relink.json', () => {
  for (const [what, garbage] of [
    ['binary garbage', Buffer.from([0x00, 0xff, 0x13, 0x37, 0x0a, 0x7b, 0x7b])],
    ['half a file', Buffer.from('{"version": 1, "apps": {"practice-sync": {"id": "prac')],
    ['valid JSON of the wrong shape', Buffer.from('{"apps": "none", "hello": "world"}')],
  ] as const) {
    it(`${what}: says so, keeps the damaged file, restores the last good copy and still works`, async () => {
      const p = profile();
      const w = await cliWorld(sb);
      await p.ok(addAppArgs(sb, 'Practice Sync', w));
      await p.ok(['apps', 'list']); // opened cleanly: the last good copy now holds the app

      fs.writeFileSync(p.metadataPath, garbage);
      const r = await p.run(['apps', 'list', '--json']);
      expect(r.code, r.stderr).toBe(0);
      const m = RESTORED.exec(r.stderr);
      expect(m, r.stderr).not.toBeNull();
      expect(JSON.parse(r.stdout).map((a: { id: string }) => a.id)).toEqual(['practice-sync']);

      // The damaged file is kept, byte for byte, where the message says.
      const quarantined = m![2]!;
      expect(path.dirname(quarantined)).toBe(p.dataDir);
      expect(fs.readFileSync(quarantined)).toEqual(garbage);
      // The restored file is good again: the next command says nothing about damage.
      expect(p.metadata().apps['practice-sync'].clientId).toBe(w.clientId);
      const next = await p.run(['apps', 'list']);
      expect(next.code).toBe(0);
      expect(next.stderr).toBe('');

      const log = fs.readFileSync(path.join(p.dataDir, 'activity.jsonl'), 'utf8');
      expect(log).toMatch(/"action":"metadata-recovered"/);
    });
  }

  it(`both the file and its last good copy damaged: starts empty, says to contact support, deletes nothing`, async () => {
    const p = profile();
    const w = await cliWorld(sb);
    await p.ok(addAppArgs(sb, 'Practice Sync', w));
    await p.ok(['apps', 'list']);
    fs.writeFileSync(p.metadataPath, 'garbage');
    fs.writeFileSync(path.join(p.dataDir, 'relink.last-good.json'), 'more garbage');
    const r = await p.run(['status', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/Relink's data file was damaged .* Relink started with no organisations, apps or grants\./);
    expect(r.stderr).toMatch(/contact support before reconnecting/);
    expect(r.stderr).toMatch(/Refresh tokens in the keychain were not touched\./);
    expect(statusSnapshotSchema.parse(JSON.parse(r.stdout)).apps).toEqual([]);
    const kept = p.files().filter((f) => f.startsWith('relink.') && f.includes('corrupt'));
    expect(kept).toHaveLength(2);
    const contents = kept.map((f) => fs.readFileSync(path.join(p.dataDir, f), 'utf8')).sort();
    expect(contents).toEqual(['garbage', 'more garbage']);
  });

  it.skipIf(!hasSecretService)(`after connecting: the restored copy still knows the grant, and check keeps it healthy${NEEDS_KEYCHAIN}`, async () => {
    const p = profile();
    const w = await cliWorld(sb, { orgs: 2 });
    await addAndConnect(p, sb, w);
    await p.ok(['check']); // a clean open after the connect: the last good copy now has the grant
    const grantId = Object.keys(p.metadata().grants)[0]!;

    fs.writeFileSync(p.metadataPath, '{"version": 1, "grants": {');
    const r = await p.run(['check', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(RESTORED);
    const { summary, status } = JSON.parse(r.stdout);
    expect(summary).toMatchObject({ grants: 1, refreshed: 1, revoked: 0 });
    const s = statusSnapshotSchema.parse(status);
    expect(s.grants.map((g) => [g.id, g.health])).toEqual([[grantId, 'healthy']]);
    expect(s.connections).toHaveLength(2);
    expect(s.connections.every((c) => c.health === 'healthy')).toBe(true);

    // The message is printed once: the file is good again.
    const after = await p.run(['status']);
    expect(after.code).toBe(0);
    expect(after.stderr).toBe('');
    expect(after.stdout).toContain('Nothing needs attention.');
  }, 60_000);
});
