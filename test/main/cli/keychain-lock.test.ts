import fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { CAN_START_PRIVATE_KEYRING, NEEDS_PRIVATE_KEYRING, startPrivateKeyring, type PrivateKeyring } from '../../support/keyring-control.js';
import { Profile, addAndConnect, backdateGrants, cliWorld, stopLeftovers, until } from '../../support/relink-cli.js';
import { useSandbox } from '../../support/use-sandbox.js';

/**
 * The real gnome-keyring locked and unlocked while `relink run` keeps a grant alive (issue 9, item 3): the
 * refresh that falls due while it is locked is not sent (Xero would rotate a token Relink could not save),
 * `run` says the keychain is locked, and after the unlock it notices by itself, refreshes, and the token it
 * keeps is the one Xero issued last.
 *
 * The keyring is a private one on a private D-Bus (test/support/keyring-control.ts), so locking it disturbs no
 * other test. The sandbox's access tokens live 30 s (refreshed every 25 s) and its grace for a rotated-out
 * token is 0, so a token Relink failed to keep would be refused at the final check.
 */

const sb = useSandbox({ resetEachTest: true });
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  await stopLeftovers();
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function lastRefresh(clientId: string): Promise<string | null> {
  const state = await sb.control('GET', '/sandbox/state');
  return state.grants.find((g: any) => g.clientId === clientId)?.lastRefreshAt ?? null;
}

describe('relink run while the keychain locks and unlocks (real gnome-keyring)', () => {
  it.skipIf(!CAN_START_PRIVATE_KEYRING)(
    `sends no refresh it cannot save, says the keychain is locked, and carries on by itself after the unlock${NEEDS_PRIVATE_KEYRING}`,
    async () => {
      const keyring: PrivateKeyring = await startPrivateKeyring();
      cleanups.push(() => keyring.close());
      const p = new Profile('keychain-lock', keyring.env);
      cleanups.push(() => p.cleanup());
      await sb.control('PUT', '/sandbox/settings', { accessTokenSeconds: 30, graceSeconds: 0 });
      const w = await cliWorld(sb, { orgs: 2 });
      await addAndConnect(p, sb, w);
      backdateGrants(p, 48); // overdue: `run` tends it at once

      const cli = p.spawn(['run']);
      await cli.waitFor('stdout', /Relink is keeping 1 grant alive\./, 20_000);
      const first = await until('the first refresh by run', () => lastRefresh(w.clientId), 20_000, 200);
      // Xero answers before Relink saves: lock only once the rotated token is in the keychain (its journal marker
      // gone), so what follows is the refresh that falls due while locked (a save cut off by the lock is the
      // service test's case: test/main/service/keychain-locks.test.ts).
      await until('the rotated token to be saved', () => (fs.readdirSync(p.journalDir).some((f) => f.endsWith('.json')) ? null : true), 10_000, 50);

      await keyring.lock();
      // The next refresh falls due 25 s after the first: it finds the keychain locked and is not sent.
      await cli.waitFor('stdout', /The keychain is locked: Relink sends no refresh until it is back/, 45_000);
      await new Promise((r) => setTimeout(r, 3_000));
      expect(await lastRefresh(w.clientId)).toBe(first);

      await keyring.unlock();
      await cli.waitFor('stdout', /The keychain is unlocked again: Relink carries on\./, 30_000);
      await until('a refresh after the unlock', async () => ((await lastRefresh(w.clientId)) !== first ? true : null), 30_000, 200).catch((e: Error) => {
        // What `run` said and recorded, for whoever reads a failure.
        throw new Error(`${e.message}\nrun said:\n${cli.stdout()}${cli.stderr()}\ngrants: ${JSON.stringify(Object.values(p.metadata().grants))}`);
      });

      cli.child.kill('SIGINT');
      const stopped = await cli.exited;
      expect(stopped.code, stopped.stderr).toBe(0);

      // With no grace at Xero, only the token it issued last works: the keychain holds that one.
      const check = await p.run(['check', '--json'], { timeoutMs: 40_000 });
      expect(check.code, check.stderr).toBe(0);
      expect(JSON.parse(check.stdout).summary).toMatchObject({ grants: 1, refreshed: 1, transient: 0, revoked: 0 });
    },
    150_000,
  );
});
