import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditReportSchema, reconnectPlanSchema, trackedImportResultSchema } from '../../../shared/workflows.js';
import { Profile, stopLeftovers } from '../../support/relink-cli.js';
import { seedProfile } from '../../support/cli-profile.js';
import { JANE, TOM, TRACKED_CSV_HEADER as HEADER, seededApp, seededConnection, seededGrant, seededMetadataV1, seededOrganisation, seededStaff, seededTenant } from '../../support/seeded-metadata.js';

/**
 * The firm-workflow commands as a script or an IT person meets them: real `relink` processes on a profile whose
 * relink.json was written by the previous Relink (schema 1) — so every run here also goes through the 1 → 2
 * migration — and needs no keychain (nothing here touches a token).
 *
 *   relink tracked import FILE.csv [--skip-invalid] [--json]   relink tracked export
 *   relink plan reconnect [--staff STAFF] [--json]             relink password-changed STAFF [--json]
 *   relink audit staff STAFF [--json|--csv]                    relink export activity --from D --to D --csv
 */

const ACME = seededTenant(1);
const BAY = seededTenant(2);
const COVE = seededTenant(3);

/** What an earlier Relink left behind: Jane's grants refused by Xero (a password change), Tom created an app. */
function seed(p: Profile): void {
  const gSync = seededGrant('g-sync-jane', 'practice-sync', JANE, 'revoked');
  const gPay = seededGrant('g-pay-jane', 'payroll-bridge', JANE, 'revoked');
  const gTom = seededGrant('g-sync-tom', 'practice-sync', TOM, 'active');
  seedProfile(
    p,
    seededMetadataV1({
      revision: 3,
      apps: [
        seededApp('practice-sync', 'Practice Sync'),
        seededApp('payroll-bridge', 'Payroll Bridge', { multiOrgConsent: false, createdBy: 'tom@harbourfinch.example' }),
      ],
      staff: [seededStaff(JANE, 'jane@harbourfinch.example', 'Jane Doe'), seededStaff(TOM, 'tom@harbourfinch.example', 'Tom Walsh', 'leaving')],
      organisations: [seededOrganisation(ACME, 'Acme Ltd'), seededOrganisation(BAY, 'Bayside Bakery'), seededOrganisation(COVE, 'Cove Cafe')],
      grants: [gSync, gPay, gTom],
      connections: [
        seededConnection('c-1', gSync, ACME),
        seededConnection('c-2', gSync, BAY),
        seededConnection('c-3', gSync, COVE),
        seededConnection('c-4', gPay, ACME),
        seededConnection('c-5', gPay, BAY),
        seededConnection('c-6', gTom, COVE),
      ],
    }),
  );
}

function file(p: Profile, name: string, content: string | Buffer): string {
  const f = path.join(p.dataDir, name);
  fs.writeFileSync(f, content);
  return f;
}

const trackedCount = (p: Profile) => Object.keys(p.metadata().tracked ?? {}).length;

// Each test starts several real processes one after another: generous time on a busy machine.
describe('relink firm-workflow commands (seeded profile, no keychain needed)', { timeout: 60_000 }, () => {
  let p: Profile;
  beforeAll(() => {
    p = new Profile('workflows');
    seed(p);
  });
  afterAll(async () => {
    await stopLeftovers();
    await p.cleanup();
  });

  it('tracked import: any invalid row → nothing imported, exit 1, each bad row and why (human and --json)', async () => {
    const bad = file(
      p,
      'inventory-bad.csv',
      [
        HEADER,
        'Acme Ltd,Gusto,jane@harbourfinch.example,https://app.gusto.example/xero,Payroll',
        'Acme Ltd,"Dext"x,jane@harbourfinch.example,,',
        'Nowhere Ltd,Shopify,jane@harbourfinch.example,,',
        'acme ltd,GUSTO,JANE@harbourfinch.example,,same as line 2',
        'Bayside Bakery,HubSpot,tom@harbourfinch.example,http://hubspot.example,',
      ].join('\r\n'),
    );
    const human = await p.run(['tracked', 'import', bad]);
    expect(human.code).toBe(1);
    expect(human.stdout).toBe('');
    expect(human.stderr).toContain('Nothing was imported: 4 rows of 5 have problems. Fix them and import again, or import with skip-invalid to leave them out.');
    expect(human.stderr).toMatch(/line 3: a quoted cell has text right after its closing quote/);
    expect(human.stderr).toMatch(/line 4: no organisation called "Nowhere Ltd" is known to Relink/);
    expect(human.stderr).toMatch(/line 5: this row repeats line 2 \(same organisation, app and authoriser\)/);
    expect(human.stderr).toMatch(/line 6: the reconnect address must start with https:\/\/ \(got http\)/);
    expect(trackedCount(p)).toBe(0);

    const json = await p.run(['tracked', 'import', bad, '--json']);
    expect(json.code).toBe(1);
    const result = trackedImportResultSchema.parse(JSON.parse(json.stdout));
    expect(result).toMatchObject({ committed: false, imported: [], rows: 5 });
    expect(result.accepted.map((a) => a.line)).toEqual([2]);
    expect(result.rejected.map((r) => [r.line, r.duplicate])).toEqual([
      [3, false],
      [4, false],
      [5, true],
      [6, false],
    ]);
    expect(trackedCount(p)).toBe(0);

    // With --skip-invalid the good row goes in and the skipped ones are listed.
    const skip = await p.run(['tracked', 'import', bad, '--skip-invalid']);
    expect(skip.code, skip.stderr).toBe(0);
    expect(skip.stdout).toMatch(/^Imported 1 tracked connection; skipped 4 invalid rows\.\n\nSkipped rows:\n  line 3: /);
    expect(trackedCount(p)).toBe(1);
  });

  it('tracked import: whole-file problems and usage mistakes, each with its exit code', async () => {
    const missing = await p.run(['tracked', 'import', path.join(p.dataDir, 'nope.csv')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^There is no file .*nope\.csv\./);
    const none = await p.run(['tracked', 'import']);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/tracked import needs the CSV file/);

    const header = await p.run(['tracked', 'import', file(p, 'wrong-header.csv', 'org,app\nAcme Ltd,Gusto\n')]);
    expect(header.code).toBe(1);
    expect(header.stderr).toMatch(/^Nothing was imported\. The first line must be exactly: organisation,app,authorised_by,reconnect_url,notes/);
    const empty = await p.run(['tracked', 'import', file(p, 'empty.csv', '')]);
    expect(empty.code).toBe(1);
    expect(empty.stderr).toMatch(/The file is empty/);
    const latin1 = await p.run(['tracked', 'import', file(p, 'latin1.csv', Buffer.from(`${HEADER}\nCaf\xe9,Gusto,jane@harbourfinch.example,,\n`, 'latin1')), '--json']);
    expect(latin1.code).toBe(1);
    expect(JSON.parse(latin1.stdout)).toMatchObject({ committed: false, fileError: expect.stringMatching(/not UTF-8 text/) });
  });

  it('tracked import → export: quotes, BOM, CRLF and line breaks survive; formulas are defused; the export imports back', async () => {
    const good = file(
      p,
      'inventory.csv',
      `\uFEFF${HEADER}\r\n` +
        `${BAY},"Float, Ltd",jane@harbourfinch.example,https://float.example/connect,"Two lines:\r\nforecasting"\r\n` +
        `Cove Cafe,=Shopify,tom@harbourfinch.example,,"@note ""quoted"""\r\n`,
    );
    const r = await p.run(['tracked', 'import', good, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const result = trackedImportResultSchema.parse(JSON.parse(r.stdout));
    expect(result).toMatchObject({ committed: true, skipped: 0 });
    expect(result.imported.map((t) => [t.organisation, t.app, t.notes])).toEqual([
      ['Bayside Bakery', 'Float, Ltd', 'Two lines:\r\nforecasting'],
      ['Cove Cafe', '=Shopify', '@note "quoted"'],
    ]);

    const out = await p.run(['tracked', 'export']);
    expect(out.code, out.stderr).toBe(0);
    const rows = parse(out.stdout) as string[][];
    expect(rows[0]).toEqual(['organisation', 'app', 'authorised_by', 'reconnect_url', 'notes', 'tenant_id', 'state', 'state_reason', 'confirmed_at', 'confirmed_by']);
    expect(rows.slice(1).map((x) => x.slice(0, 7))).toEqual([
      ['Acme Ltd', 'Gusto', 'jane@harbourfinch.example', 'https://app.gusto.example/xero', 'Payroll', ACME, 'needs-reconnect'],
      ['Bayside Bakery', 'Float, Ltd', 'jane@harbourfinch.example', 'https://float.example/connect', 'Two lines:\r\nforecasting', BAY, 'needs-reconnect'],
      ['Cove Cafe', "'=Shopify", 'tom@harbourfinch.example', '', `'@note "quoted"`, COVE, 'needs-reconnect'],
    ]);
    expect(rows[3]![7]).toMatch(/^Tom Walsh is marked as leaving/);

    // Importing the export into the same inventory: every row is a duplicate, so nothing is imported (exit 1).
    const again = await p.run(['tracked', 'import', file(p, 'exported.csv', `${out.stdout}`), '--json']);
    expect(again.code).toBe(1);
    const back = trackedImportResultSchema.parse(JSON.parse(again.stdout));
    expect(back.rejected.map((x) => x.duplicate)).toEqual([true, true, true]);
    expect(back.accepted).toEqual([]);
  });

  it('plan reconnect and password-changed: the minimum consents, the tracked checklist, plain words or --json', async () => {
    const planned = await p.run(['plan', 'reconnect', '--json']);
    expect(planned.code, planned.stderr).toBe(0);
    const plan = reconnectPlanSchema.parse(JSON.parse(planned.stdout));
    // Practice Sync (multi-org): one consent for 3; Payroll Bridge: one per organisation (2), perhaps fewer if Xero
    // still holds Jane's earlier connections, which the plan says.
    expect(plan.consents.map((c) => [c.appId, c.staffId, c.orgIds.length])).toEqual([
      ['payroll-bridge', JANE, 1],
      ['payroll-bridge', JANE, 1],
      ['practice-sync', JANE, 3],
    ]);
    expect(plan.totals).toMatchObject({ consents: 3, fewestConsents: 2 });
    expect(plan.tracked.map((t) => t.app).sort()).toEqual(['Float, Ltd', 'Gusto']);

    const human = await p.run(['plan', 'reconnect', '--staff', 'jane@harbourfinch.example']);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^Reconnect plan for Jane Doe \(jane@harbourfinch\.example\): 3 consents for 3 organisations across 2 apps, then 2 third-party apps to reconnect in their own settings\./);
    expect(human.stdout).toMatch(/ {2}1\. Payroll Bridge as Jane Doe — Acme Ltd\n {5}Sign in to Xero as Jane Doe/);
    // The count is the one that always works, and the plan says why it may take fewer.
    expect(human.stdout).toMatch(/^3 approvals at most, perhaps as few as 2: Payroll Bridge as Jane Doe connects one organisation per approval/m);
    expect(human.stdout).toMatch(/Practice Sync as Jane Doe — one consent for 3 organisations/);
    expect(human.stdout).toMatch(/\[ \] Gusto — Acme Ltd — https:\/\/app\.gusto\.example\/xero/);

    const unknown = await p.run(['plan', 'reconnect', '--staff', 'zoe@harbourfinch.example']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/No staff member "zoe@harbourfinch\.example" is known to Relink/);

    const declared = await p.run(['password-changed', 'jane@harbourfinch.example', '--json']);
    expect(declared.code, declared.stderr).toBe(0);
    const after = reconnectPlanSchema.parse(JSON.parse(declared.stdout));
    expect(after.staff).toMatchObject({ id: JANE });
    expect(after.triggers.map((t) => t.kind)).toContain('declared');
    expect(after.totals.consents).toBe(3);
    expect(p.metadata().passwordChanges).toEqual({ [Object.keys(p.metadata().passwordChanges)[0]!]: expect.objectContaining({ staffId: JANE, declaredBy: 'cli' }) });

    const words = await p.run(['password-changed', JANE]);
    expect(words.code).toBe(0);
    expect(words.stdout).toMatch(
      /^Recorded: Jane Doe's Xero password changed\. Every connection they authorised needs their approval again\.\n\(If that was a mistake: relink password-changed \S+ --withdraw\)\n\nReconnect plan for Jane Doe/,
    );
    const noStaff = await p.run(['password-changed']);
    expect(noStaff.code).toBe(2);
  });

  it('audit staff: --json (validated), --csv, plain words; --json with --csv is a usage error', async () => {
    const json = await p.run(['audit', 'staff', 'tom@harbourfinch.example', '--json']);
    expect(json.code, json.stderr).toBe(0);
    const audit = auditReportSchema.parse(JSON.parse(json.stdout));
    expect(audit).toMatchObject({ staff: { id: TOM, status: 'leaving' }, verdict: 'not-safe', firmName: 'Your firm' });
    expect(audit.connections.map((c) => [c.appName, c.organisation, c.state])).toEqual([['Practice Sync', 'Cove Cafe', 'depends']]);
    expect(audit.appsCreated.map((a) => a.appName)).toEqual(['Payroll Bridge']);
    expect(audit.tracked.map((t) => t.app)).toEqual(['=Shopify']);
    expect(audit.reasons).toHaveLength(3);

    const csv = await p.run(['audit', 'staff', TOM, '--csv']);
    expect(csv.code).toBe(0);
    const rows = parse(csv.stdout) as string[][];
    expect(rows[0]!.slice(0, 6)).toEqual(['firm', 'generated_at', 'staff', 'staff_email', 'verdict', 'dependency']);
    expect(rows.slice(1).map((r) => [r[5], r[6]])).toEqual([
      ['connection', 'Practice Sync'],
      ['app-created', 'Payroll Bridge'],
      ['tracked', "'=Shopify"],
    ]);

    const human = await p.run(['audit', 'staff', 'tom@harbourfinch.example']);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^Offboarding audit: Tom Walsh \(tom@harbourfinch\.example\), leaving — Your firm, /);
    expect(human.stdout).toContain('Verdict: NOT SAFE to remove — 3 dependencies remain (0 of 3 moved).');
    expect(human.stdout).toContain('What still depends on them:');

    const both = await p.run(['audit', 'staff', TOM, '--json', '--csv']);
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/^Choose one of --json and --csv\./);
  });

  it('export activity: the log for a date range as CSV; a bad date is a usage error', async () => {
    const today = new Date().toISOString().slice(0, 10);
    const r = await p.run(['export', 'activity', '--from', today, '--to', today, '--csv']);
    expect(r.code, r.stderr).toBe(0);
    const rows = parse(r.stdout) as string[][];
    expect(rows[0]).toEqual(['time', 'actor', 'person', 'action', 'app', 'staff', 'organisations', 'detail']);
    // The window's words for each action, so a partner can file it as it is.
    const actions = rows.slice(1).map((x) => x[3]);
    expect(actions).toEqual(expect.arrayContaining(['Third-party apps imported', 'Password change declared', 'Problem found']));
    const declared = rows.find((x) => x[3] === 'Password change declared')!;
    expect(declared.slice(1, 6)).toEqual(['cli', expect.any(String), 'Password change declared', '', 'Jane Doe <jane@harbourfinch.example>']);

    const old = await p.run(['export', 'activity', '--from', '2001-01-01', '--to', '2001-01-31', '--csv']);
    expect(old.stdout).toBe('time,actor,person,action,app,staff,organisations,detail\n');
    const bad = await p.run(['export', 'activity', '--from', '2026-02-30', '--to', today, '--csv']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^--from takes a date like 2026-03-01/);
    const missing = await p.run(['export', 'activity', '--csv']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/export activity needs --from and --to/);
  });

  it('the profile is now schema 2 and kept everything from schema 1', () => {
    const doc = p.metadata();
    expect(doc.schemaVersion).toBe(2);
    expect(Object.keys(doc.grants).sort()).toEqual(['g-pay-jane', 'g-sync-jane', 'g-sync-tom']);
    expect(doc.settings.firmName).toBe('Your firm');
    expect(Object.keys(doc.tracked)).toHaveLength(3);
  });
});
