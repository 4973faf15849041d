import { describe, expect, it } from 'vitest';
import { statusSnapshotSchema, type StatusSnapshot } from '../../../shared/api.js';
import { NEEDS_KEYCHAIN, type Profile, addAppArgs, cliWorld, extraApp, hasSecretService } from '../../support/relink-cli.js';
import { connectAs, useCliProfiles } from '../../support/cli-profile.js';

/**
 * `relink check` and `relink status`: a healthy firm after connecting, then a staff member's password change in
 * Xero (which revokes every token they hold) seen as "needs reconnect — password changed" with an open
 * incident, and the --app / --staff filters choosing which grants a check touches.
 */

const { sb, profile } = useCliProfiles('check', { sandbox: 'reset-each-test' });

interface CheckJson {
  summary: { grants: number; refreshed: number; transient: number; revoked: number; appRejected: number; probed: number };
  status: StatusSnapshot;
}

/** Two apps; Ada connected to both, Ben to the first. */
async function firm(p: Profile) {
  const w = await cliWorld(sb, { orgs: 2 });
  const second = await extraApp(sb);
  const benEmail = `ben-${Date.now()}@firm.example`;
  const { userId: benId } = await sb.control('POST', '/sandbox/users', { email: benEmail, givenName: 'Ben', familyName: 'Bookkeeper' });
  for (const t of w.tenantIds) await sb.control('PUT', `/sandbox/users/${benId}/orgs/${t}`, { role: 'standard' });

  await p.ok(addAppArgs(sb, 'Practice Sync', w));
  await p.ok(addAppArgs(sb, 'Payroll Bridge', second));
  const sync = { id: 'practice-sync', clientId: w.clientId };
  await connectAs(p, sb, sync, w.userId, w.tenantIds);
  await connectAs(p, sb, { id: 'payroll-bridge', clientId: second.clientId }, w.userId, w.tenantIds);
  await connectAs(p, sb, sync, benId, w.tenantIds);
  return { w, second, ada: { id: w.userId, email: w.email }, ben: { id: benId, email: benEmail } };
}

async function checkJson(p: Profile, args: string[] = []): Promise<CheckJson> {
  const r = await p.run(['check', ...args, '--json']);
  expect(r.code, r.stderr).toBe(0);
  const parsed = JSON.parse(r.stdout) as CheckJson;
  statusSnapshotSchema.parse(parsed.status);
  return parsed;
}

async function statusJson(p: Profile): Promise<StatusSnapshot> {
  const r = await p.run(['status', '--json']);
  expect(r.code, r.stderr).toBe(0);
  return statusSnapshotSchema.parse(JSON.parse(r.stdout));
}

describe('relink check and status', () => {
  it.skipIf(!hasSecretService)(
    `healthy after connecting; a password change → needs-reconnect (password-changed) with an open incident${NEEDS_KEYCHAIN}`,
    async () => {
      const p = profile();
      const { ada, ben } = await firm(p);

      const all = await checkJson(p);
      expect(all.summary).toMatchObject({ grants: 3, refreshed: 3, transient: 0, revoked: 0, appRejected: 0 });

      const healthy = await statusJson(p);
      expect(healthy.keychain).toBe('available');
      expect(healthy.apps.map((a) => a.id).sort()).toEqual(['payroll-bridge', 'practice-sync']);
      expect(healthy.apps.every((a) => a.credentialState === 'ok' && a.connectionCount === 2)).toBe(true);
      expect(healthy.staff.map((s) => s.email).sort()).toEqual([ada.email, ben.email].sort());
      expect(healthy.grants).toHaveLength(3);
      expect(healthy.grants.every((g) => g.health === 'healthy' && g.cause === null && g.lastRefreshAt !== null)).toBe(true);
      expect(healthy.connections).toHaveLength(6);
      expect(healthy.connections.every((c) => c.health === 'healthy')).toBe(true);
      expect(healthy.incidents).toEqual([]);
      const human = await p.ok(['status']);
      expect(human.stdout).toContain('2 apps, 2 staff, 6 connections: 6 healthy');
      expect(human.stdout).toContain('Nothing needs attention.');

      // Ada changes her Xero password: every token chain she holds is revoked.
      const changed = await sb.control('POST', `/sandbox/users/${ada.id}/password`);
      expect(changed).toBeTruthy();

      // Checking only Ben's grant does not notice (and does not touch Ada's).
      const benOnly = await checkJson(p, ['--staff', ben.email.toUpperCase()]);
      expect(benOnly.summary).toMatchObject({ grants: 1, refreshed: 1, revoked: 0 });
      expect(benOnly.status.grants.filter((g) => g.health === 'needs-reconnect')).toEqual([]);

      // Xero refused grants in this pass: the exit code says so (5), in words and with --json alike.
      const after = await p.run(['check']);
      expect(after.code, after.stderr).toBe(5);
      expect(after.stdout).toContain('Checked 3 grants: 1 refreshed, 0 could not be reached (will retry), 2 refused by Xero');

      // A later pass checks only active grants: Ben's is fine, so nothing was refused in it.
      const again = await p.run(['check', '--json']);
      expect(again.code, again.stderr).toBe(0);
      expect(JSON.parse(again.stdout).summary).toMatchObject({ grants: 1, refreshed: 1, revoked: 0 });

      const broken = await statusJson(p);
      const adas = broken.grants.filter((g) => g.staffId === ada.id);
      expect(adas).toHaveLength(2);
      for (const g of adas) expect(g).toMatchObject({ health: 'needs-reconnect', cause: 'password-changed' });
      expect(broken.grants.find((g) => g.staffId === ben.id)).toMatchObject({ health: 'healthy', cause: null });
      expect(broken.connections.filter((c) => c.staffId === ada.id).every((c) => c.health === 'needs-reconnect' && c.cause === 'password-changed')).toBe(true);
      expect(broken.connections.filter((c) => c.staffId === ben.id).every((c) => c.health === 'healthy')).toBe(true);

      expect(broken.incidents).toHaveLength(1);
      const incident = broken.incidents[0]!;
      expect(incident).toMatchObject({ cause: 'password-changed', staffId: ada.id, connectionCount: 4, organisationCount: 2 });
      expect(incident.summary).toMatch(/Ada Adviser/);
      expect(incident.fix.text.length).toBeGreaterThan(10);
      expect(incident.evidence.join(' ')).toMatch(/invalid_grant/);

      const words = await p.ok(['status']);
      expect(words.stdout).toContain(`• ${incident.summary}`);
      expect(words.stdout).toContain(incident.fix.text);
      expect(words.stdout).not.toContain('Nothing needs attention.');

      // The activity log says what the engine saw.
      const log = (await import('node:fs')).readFileSync(`${p.dataDir}/activity.jsonl`, 'utf8');
      expect(log).toMatch(/"action":"grant-refused"/);
      expect(log).toMatch(/"action":"incident-opened"/);
    },
    60_000,
  );

  it.skipIf(!hasSecretService)(`--app and --staff choose the grants a check refreshes${NEEDS_KEYCHAIN}`, async () => {
    const p = profile('check-filter');
    const { ada, ben, second } = await firm(p);

    const byId = await checkJson(p, ['--app', 'payroll-bridge']);
    expect(byId.summary).toMatchObject({ grants: 1, refreshed: 1 });
    const byName = await checkJson(p, ['--app', 'Practice Sync']);
    expect(byName.summary).toMatchObject({ grants: 2, refreshed: 2 });
    const byClientId = await checkJson(p, ['--app', second.clientId]);
    expect(byClientId.summary.grants).toBe(1);

    const adaOnly = await checkJson(p, ['--staff', ada.email]);
    expect(adaOnly.summary).toMatchObject({ grants: 2, refreshed: 2 });
    const both = await checkJson(p, ['--app', 'practice-sync', '--staff', ben.email]);
    expect(both.summary).toMatchObject({ grants: 1, refreshed: 1 });

    // Rotating the same grants from several processes in a row never cost a token family.
    const state = await sb.control('GET', '/sandbox/state');
    expect(state.grants.every((g: any) => g.revokedReason === null)).toBe(true);

    const human = await p.run(['check', '--app', 'payroll-bridge']);
    expect(human.code).toBe(0);
    expect(human.stdout).toContain('Checked 1 grant: 1 refreshed');

    const unknownStaff = await p.run(['check', '--staff', 'nobody@firm.example']);
    expect(unknownStaff.code).toBe(2);
    expect(unknownStaff.stderr).toContain('No staff member "nobody@firm.example" has connected anything yet.');
    const unknownApp = await p.run(['check', '--app', 'nope']);
    expect(unknownApp.code).toBe(2);
    expect(unknownApp.stderr).toContain('No app "nope". Known apps: practice-sync (Practice Sync), payroll-bridge (Payroll Bridge).');
  }, 60_000);

  it.skipIf(!hasSecretService)(`Xero unreachable for a pass is not a refusal: exit 0, the grants retried later; a refusal under --json exits 5${NEEDS_KEYCHAIN}`, async () => {
    const p = profile('check-exit');
    const { ada } = await firm(p);
    await sb.control('POST', '/sandbox/faults', { target: 'token', kind: 'status-503', retryAfter: 30, count: 100 });
    const down = await p.run(['check', '--json']);
    expect(down.code, down.stderr).toBe(0);
    expect(JSON.parse(down.stdout).summary).toMatchObject({ grants: 3, refreshed: 0, transient: 3, revoked: 0, appRejected: 0 });
    await sb.control('DELETE', '/sandbox/faults');

    await sb.control('POST', `/sandbox/users/${ada.id}/password`);
    const refused = await p.run(['check', '--json']);
    expect(refused.code, refused.stderr).toBe(5);
    expect(JSON.parse(refused.stdout).summary).toMatchObject({ refreshed: 1, revoked: 2 });
  }, 60_000);

  it('status on a new profile says there is nothing yet, in words and as JSON', async () => {
    const p = profile('status-empty');
    const r = await p.run(['status', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const s = statusSnapshotSchema.parse(JSON.parse(r.stdout));
    expect(s).toMatchObject({ apps: [], staff: [], grants: [], connections: [] });
    const words = await p.run(['status']);
    expect(words.code).toBe(0);
    expect(words.stdout).toContain('0 apps, 0 staff, 0 connections');
  });
});
