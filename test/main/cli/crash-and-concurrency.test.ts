import fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { statusSnapshotSchema } from '../../../shared/api.js';
import { NEEDS_KEYCHAIN, addAndConnect, cliWorld, hasSecretService, until } from '../../support/relink-cli.js';
import { useCliProfiles } from '../../support/cli-profile.js';

/**
 * The two ways a rotating refresh token gets lost in practice, done to real processes:
 *
 * 1. The process dies (SIGKILL: no handler runs) while a refresh is in flight and Xero has already rotated the
 *    token, so the answer carrying the new one is lost. The next run must find the write-ahead marker and
 *    retry with the stored token inside Xero's 30-minute grace — and end up healthy, with nothing lost.
 * 2. Two processes (say the app and a `relink check` from a script) refresh the same grant at the same
 *    moment. Without the cross-process lock one of them presents a token the other just rotated, which to
 *    Xero looks like token theft (invalid_grant, and the whole token family revoked).
 */

const { sb, profile } = useCliProfiles('crash', { sandbox: 'reset-each-test' });

afterEach(async () => {
  await sb.control('DELETE', '/sandbox/faults');
});

async function families(clientId: string): Promise<Array<{ revokedReason: string | null; lastRefreshAt: string | null }>> {
  const state = await sb.control('GET', '/sandbox/state');
  return state.grants.filter((g: any) => g.clientId === clientId);
}

describe('relink across crashes and concurrent processes', () => {
  it.skipIf(!hasSecretService)(
    `SIGKILL in the middle of a refresh loses nothing: the next check retries inside the grace window${NEEDS_KEYCHAIN}`,
    async () => {
      const p = profile();
      const w = await cliWorld(sb, { orgs: 2 });
      await addAndConnect(p, sb, w);
      const grantId = Object.keys(p.metadata().grants)[0]!;
      const stored = await p.vault().readGrant(grantId);
      expect(stored?.refreshToken).toBeTruthy();

      // The next token request takes effect at Xero (the token rotates) and is never answered.
      await sb.control('POST', '/sandbox/faults', { target: 'token', kind: 'drop-response' });
      await sb.control('PUT', '/sandbox/settings', { hangSeconds: 60 });
      const cli = p.spawn(['check']);
      // The marker is written in place (see refresh-journal.ts), so it can be seen empty for an instant before
      // its content lands: wait for a marker that parses, not just for the file.
      const { marker, onDisk } = await until(
        'the refresh journal marker',
        () => {
          const name = fs.readdirSync(p.journalDir).find((f) => f.endsWith('.json'));
          if (!name) return undefined;
          try {
            return { marker: name, onDisk: JSON.parse(fs.readFileSync(`${p.journalDir}/${name}`, 'utf8')) as unknown };
          } catch {
            return undefined;
          }
        },
        20_000,
        10,
      );
      expect(onDisk).toMatchObject({ grantId, pid: cli.child.pid, attempt: 1 });
      // Xero has rotated the token by now (the request is being held open, unanswered).
      await until('Xero to rotate the token', async () => (await families(w.clientId))[0]?.lastRefreshAt !== null, 10_000);
      cli.child.kill('SIGKILL');
      const killed = await cli.exited;
      expect(killed.signal).toBe('SIGKILL');

      // What the crash left: the marker, and only the old (already rotated) token in the keychain.
      expect(fs.readdirSync(p.journalDir).filter((f) => f.endsWith('.json'))).toEqual([marker]);
      expect(await p.vault().readGrant(grantId)).toEqual(stored);

      await sb.control('DELETE', '/sandbox/faults');
      const again = await p.run(['check', '--json'], { timeoutMs: 50_000 });
      expect(again.code, again.stderr).toBe(0);
      const { summary, status } = JSON.parse(again.stdout);
      expect(summary).toMatchObject({ grants: 1, refreshed: 1, transient: 0, revoked: 0 });
      const grant = statusSnapshotSchema.parse(status).grants[0]!;
      expect(grant).toMatchObject({ id: grantId, health: 'healthy', cause: null, lastFailure: null });
      expect(status.incidents).toEqual([]);

      // Nothing lost: a new token is stored, the journal is empty, Xero's token family is still active.
      const now = await p.vault().readGrant(grantId);
      expect(now?.refreshToken).toBeTruthy();
      expect(now?.refreshToken).not.toBe(stored?.refreshToken);
      expect(fs.readdirSync(p.journalDir)).toEqual([]);
      const fam = await families(w.clientId);
      expect(fam).toHaveLength(1);
      expect(fam[0]!.revokedReason).toBeNull();

      // And it keeps working from here on.
      const third = await p.run(['check', '--json']);
      expect(third.code, third.stderr).toBe(0);
      expect(JSON.parse(third.stdout).summary).toMatchObject({ refreshed: 1, revoked: 0 });
    },
    90_000,
  );

  it.skipIf(!hasSecretService)(
    `two processes checking the same grant at once never cost it an invalid_grant${NEEDS_KEYCHAIN}`,
    async () => {
      const p = profile('concurrent');
      const w = await cliWorld(sb, { orgs: 2 });
      await addAndConnect(p, sb, w);
      const grantId = Object.keys(p.metadata().grants)[0]!;

      for (let round = 1; round <= 3; round++) {
        const [a, b] = await Promise.all([p.run(['check', '--json']), p.run(['check', '--json'])]);
        for (const r of [a, b]) {
          expect(r.code, `round ${round}: ${r.stderr}`).toBe(0);
          const { summary } = JSON.parse(r.stdout);
          expect(summary, `round ${round}`).toMatchObject({ grants: 1, refreshed: 1, revoked: 0, appRejected: 0, transient: 0 });
          expect(r.stderr).not.toMatch(/invalid_grant|unexpected error/);
        }
        const fam = await families(w.clientId);
        expect(fam.map((f) => f.revokedReason), `round ${round}`).toEqual([null]);
      }

      const status = statusSnapshotSchema.parse(JSON.parse((await p.ok(['status', '--json'])).stdout));
      expect(status.grants).toHaveLength(1);
      expect(status.grants[0]).toMatchObject({ id: grantId, health: 'healthy', lastFailure: null });
      expect(status.connections.every((c) => c.health === 'healthy')).toBe(true);
      expect(status.incidents).toEqual([]);
      expect(fs.readdirSync(p.journalDir)).toEqual([]);
      const log = fs.readFileSync(`${p.dataDir}/activity.jsonl`, 'utf8');
      expect(log).not.toMatch(/grant-refused/);

      // The last rotation is what the keychain holds: one more check from here still works.
      const last = await p.run(['check', '--json']);
      expect(last.code, last.stderr).toBe(0);
      expect(JSON.parse(last.stdout).summary).toMatchObject({ refreshed: 1 });
    },
    90_000,
  );
});
