import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { statusSnapshotSchema } from '../../../shared/api.js';
import {
  NEEDS_KEYCHAIN,
  addAndConnect,
  cliWorld,
  extraApp,
  addAppArgs,
  backdateGrants,
  hasSecretService,
  until,
} from '../../support/relink-cli.js';
import { connectAs, useCliProfiles } from '../../support/cli-profile.js';

/**
 * `relink run`: the long-running keeper. It says how many grants it keeps alive, tends the ones that are overdue
 * (here: grants last refreshed and checked two days ago, as after a weekend with the laptop off), and stops
 * cleanly — exit 0, records saved, no refresh left marked in flight — on SIGINT (Ctrl-C) and on SIGTERM (a
 * service manager), within a few seconds.
 */

const { sb, profile } = useCliProfiles('run', { sandbox: 'reset-each-test' });

/** When the sandbox last saw each of the app's token families refreshed. */
async function familyRefreshes(clientId: string): Promise<Array<string | null>> {
  const state = await sb.control('GET', '/sandbox/state');
  return state.grants.filter((g: any) => g.clientId === clientId).map((g: any) => g.lastRefreshAt);
}

describe('relink run', () => {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it.skipIf(!hasSecretService)(`keeps the grants alive and stops cleanly on ${signal}${NEEDS_KEYCHAIN}`, async () => {
      const p = profile();
      const w = await cliWorld(sb, { orgs: 2 });
      await addAndConnect(p, sb, w);
      const second = await extraApp(sb);
      await p.ok(addAppArgs(sb, 'Payroll Bridge', second));
      await connectAs(p, sb, { id: 'payroll-bridge', clientId: second.clientId }, w.userId, w.tenantIds);
      expect(await familyRefreshes(w.clientId)).toEqual([null]);
      backdateGrants(p, 48);

      const cli = p.spawn(['run']);
      await cli.waitFor('stdout', /Relink is keeping 2 grants alive\. Stop with Ctrl-C\.\n/, 20_000);
      // It really works: both overdue token families are refreshed by the running engine (the scheduler
      // spreads overdue work over up to 10 s).
      await until(
        'the running engine to refresh both grants',
        async () => (await familyRefreshes(w.clientId))[0] !== null && (await familyRefreshes(second.clientId))[0] !== null,
        25_000,
      );
      expect(cli.child.exitCode).toBeNull();

      const sentAt = performance.now();
      cli.child.kill(signal);
      const r = await cli.exited;
      const stopMs = performance.now() - sentAt;
      expect(r.signal).toBeNull();
      expect(r.code, r.stderr).toBe(0);
      expect(stopMs).toBeLessThan(5_000);
      expect(r.stdout).toContain(`Stopping (${signal})…`);
      expect(r.stderr).not.toMatch(/unexpected error|Could not save/);

      // Stopped cleanly: nothing left marked in flight, no lock left behind, the records say healthy.
      expect(fs.readdirSync(p.journalDir)).toEqual([]);
      expect(p.files().filter((f) => f.startsWith('locks/') && f.endsWith('.lock'))).toEqual([]);
      const status = statusSnapshotSchema.parse(JSON.parse((await p.ok(['status', '--json'])).stdout));
      expect(status.grants).toHaveLength(2);
      expect(status.grants.every((g) => g.health === 'healthy')).toBe(true);
      const log = fs.readFileSync(`${p.dataDir}/activity.jsonl`, 'utf8');
      expect(log).not.toMatch(/task-failed/);
    }, 60_000);
  }

  it.skipIf(!hasSecretService)(`SIGTERM with a refresh in flight lets it finish and store the rotated token, then exits 0${NEEDS_KEYCHAIN}`, async () => {
    const p = profile();
    const w = await cliWorld(sb);
    await addAndConnect(p, sb, w);
    const grantId = Object.keys(p.metadata().grants)[0]!;
    const before = await p.vault().readGrant(grantId);
    backdateGrants(p, 48);
    // The next token response is lost after the refresh took effect: the socket hangs for 2 s, then closes.
    await sb.control('PUT', '/sandbox/settings', { hangSeconds: 2 });
    await sb.control('POST', '/sandbox/faults', { target: 'token', kind: 'drop-response', count: 1 });

    const cli = p.spawn(['run']);
    await cli.waitFor('stdout', /Relink is keeping 1 grant alive/, 20_000);
    await until('the refresh to be in flight (its journal marker)', () => fs.readdirSync(p.journalDir).some((f) => f.endsWith('.json')), 20_000);
    cli.child.kill('SIGTERM');
    const r = await cli.exited;
    expect(r.code, r.stderr).toBe(0);
    expect(r.ms).toBeLessThan(30_000);

    // The refresh was retried inside the grace window and its new token stored before the process ended.
    expect(fs.readdirSync(p.journalDir)).toEqual([]);
    const after = await p.vault().readGrant(grantId);
    expect(after?.refreshToken).toBeTruthy();
    expect(after?.refreshToken).not.toBe(before?.refreshToken);
    const state = await sb.control('GET', '/sandbox/state');
    expect(state.grants.filter((g: any) => g.clientId === w.clientId).map((g: any) => g.revokedReason)).toEqual([null]);
    const check = await p.run(['check', '--json']);
    expect(check.code, check.stderr).toBe(0);
    expect(JSON.parse(check.stdout).summary).toMatchObject({ grants: 1, refreshed: 1, revoked: 0 });
  }, 60_000);

  it.skipIf(!hasSecretService)(`with one grant says "1 grant", and stops at once on SIGTERM while idle${NEEDS_KEYCHAIN}`, async () => {
    const p = profile();
    const w = await cliWorld(sb);
    await addAndConnect(p, sb, w);
    backdateGrants(p, 48);
    const cli = p.spawn(['run']);
    await cli.waitFor('stdout', /Relink is keeping 1 grant alive\. Stop with Ctrl-C\.\n/, 20_000);
    await until('the refresh', async () => (await familyRefreshes(w.clientId))[0] !== null, 25_000);
    // Idle now: the next refresh is ~25 minutes away.
    await new Promise((r) => setTimeout(r, 500));
    const sentAt = performance.now();
    cli.child.kill('SIGTERM');
    const r = await cli.exited;
    expect(r.code, r.stderr).toBe(0);
    expect(performance.now() - sentAt).toBeLessThan(3_000);
  }, 60_000);

  it.skipIf(!hasSecretService)(`with nothing connected, keeps 0 grants alive and still stops cleanly${NEEDS_KEYCHAIN}`, async () => {
    const p = profile();
    const cli = p.spawn(['run']);
    await cli.waitFor('stdout', /Relink is keeping 0 grants alive/, 20_000);
    cli.child.kill('SIGINT');
    const r = await cli.exited;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('Stopping (SIGINT)…');
  });

  it('refuses extra arguments with exit 2', async () => {
    const p = profile();
    const r = await p.run(['run', '--forever']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--forever/);
  });
});
