import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { reconnectPlanSchema, trackedImportResultSchema } from '../../../shared/workflows.js';
import { seedProfile, useCliProfiles } from '../../support/cli-profile.js';
import { type Profile, addAppArgs, cliWorld } from '../../support/relink-cli.js';
import { JANE, TRACKED_CSV_HEADER as HEADER, seededApp, seededConnection, seededGrant, seededMetadataV1, seededOrganisation, seededStaff, seededTenant } from '../../support/seeded-metadata.js';

/**
 * What the CLI prints, logs and exports keeps the firm's own words — app names and the ids made from them,
 * reconnect addresses, notes — exactly, and still never shows a token (core/redact.ts). Real processes, no
 * keychain needed.
 */

const ACME = seededTenant(1);
const BAY = seededTenant(2);
const APP_NAME = 'Harbour Practice Sync 2024 Edition Plus';
const APP_ID = 'harbour-practice-sync-2024-edition-plus';
// A JWT shape no one registered (header.payload.signature): scrubbed wherever it turns up, notes included.
const JWT =
  'eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJuYmYiOjE3MDAwMDAwMDAsImV4cCI6MTcwMDAwMTgwMH0.dGhpc2lzbm90YXJlYWxzaWduYXR1cmVfLQ';

/**
 * Reconnect addresses and notes that the old shape heuristics turned into [REDACTED] (`code=`, `token=`,
 * `password:`, `secret=`, `Bearer …`, long hex and random-looking runs), so the export no longer imported back.
 */
const TRICKY: Array<{ org: string; app: string; url: string; notes: string }> = [
  {
    org: 'Acme Ltd',
    app: 'Hubdoc 2024 Edition',
    url: 'https://app.hubdoc.example/reconnect?code=HF2024&token=q3Zr8KfXw1Lm0TbVn5YcHs2Ea7UoJd9GiRkPx4NtWe6',
    notes: 'password: ask Jane; client_secret=in the blue folder; Authorization: pending; ref 7f3a9c1e5b2d4f6a8c0e1f3a5b7d9c2e4f6a8b0c1d3e5f7a',
  },
  {
    org: 'Bayside Bakery',
    app: 'HarbourPracticeSync2024EditionPlus Receipts',
    url: 'https://receipts.example/x/Zk9yVGhlUmVjb3JkVGhpc0lzTm90QVNlY3JldA/settings',
    notes: 'Basic plan; Bearer Token2024Ltd signs; code=ABC-123; secret: Friday',
  },
];

/** Jane's grant of Practice Sync, refused by Xero, for two organisations. */
function seed(p: Profile): void {
  const grant = seededGrant('g-sync-jane', 'practice-sync', JANE, 'revoked');
  seedProfile(
    p,
    seededMetadataV1({
      revision: 1,
      apps: [seededApp('practice-sync', 'Practice Sync', { clientId: '0123456789ABCDEF0123456789ABCDEF' })],
      staff: [seededStaff(JANE, 'jane@harbourfinch.example', 'Jane Doe')],
      organisations: [seededOrganisation(ACME, 'Acme Ltd'), seededOrganisation(BAY, 'Bayside Bakery')],
      grants: [grant],
      connections: [seededConnection('c-1', grant, ACME), seededConnection('c-2', grant, BAY)],
    }),
  );
}

const cell = (v: string) => `"${v.replace(/"/g, '""')}"`;
const csvOf = (rows: typeof TRICKY) => [HEADER, ...rows.map((r) => [r.org, r.app, 'jane@harbourfinch.example', r.url, r.notes].map(cell).join(','))].join('\r\n') + '\r\n';

const { sb, profile } = useCliProfiles('redact', { sandbox: 'shared', cleanUp: 'after-all' });

describe('the firm’s own words come back as they went in; tokens never do', { timeout: 90_000 }, () => {
  it(`"${APP_NAME}": its id is printed, listed, logged and exported whole, never as [REDACTED]`, async () => {
    const p = profile('redact-name');
    const added = await p.run(addAppArgs(sb, APP_NAME, await cliWorld(sb)));
    expect(added.code, added.stderr).toBe(0);
    expect(added.stdout).toContain(`Added ${APP_NAME} (${APP_ID}), PKCE app.`);
    expect(added.stdout).toContain(`Connect it with: relink connect ${APP_ID}\n`);
    expect(added.stdout).not.toContain('[REDACTED]');
    const list = await p.run(['apps', 'list', '--json']);
    expect(JSON.parse(list.stdout).map((a: { id: string }) => a.id)).toEqual([APP_ID]);
    expect((await p.run(['apps', 'list'])).stdout).toContain(`${APP_ID}  ${APP_NAME}  (pkce`);

    const log = fs.readFileSync(path.join(p.dataDir, 'activity.jsonl'), 'utf8');
    expect(log).not.toContain('[REDACTED]');
    const entry = log.trim().split('\n').map((l) => JSON.parse(l)).find((e: { action: string }) => e.action === 'app-added');
    expect(entry, log).toMatchObject({ appId: APP_ID, detail: `${APP_NAME} (pkce)` });

    const csv = await p.run(['export', 'activity', '--from', '2000-01-01', '--to', '2100-01-01', '--csv']);
    expect(csv.code, csv.stderr).toBe(0);
    expect(csv.stdout).not.toContain('[REDACTED]');
    const rows = parse(csv.stdout, { columns: true }) as Array<Record<string, string>>;
    // The row for the app being added names it whole, in the app column and the detail alike.
    const row = rows.find((r) => r.app === APP_NAME);
    expect(row, csv.stdout).toBeDefined();
    expect(row!.detail).toContain(APP_NAME);
  });

  it('tracked export → import into a new profile → export: identical, with the addresses and notes that used to be redacted', async () => {
    const p = profile('redact-roundtrip');
    seed(p);
    const source = path.join(p.dataDir, 'tricky.csv');
    fs.writeFileSync(source, csvOf(TRICKY));
    const imported = await p.run(['tracked', 'import', source, '--json']);
    expect(imported.code, imported.stderr).toBe(0);
    // The import's own report shows them as they are too.
    const result = trackedImportResultSchema.parse(JSON.parse(imported.stdout));
    expect(result.imported.map((t) => [t.app, t.reconnectUrl, t.notes])).toEqual(TRICKY.map((t) => [t.app, t.url, t.notes]));

    const first = await p.run(['tracked', 'export']);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).not.toContain('[REDACTED]');
    const rows = (parse(first.stdout) as string[][]).slice(1);
    expect(rows.map((r) => [r[0], r[1], r[3], r[4]])).toEqual(TRICKY.map((t) => [t.org, t.app, t.url, t.notes]));

    // The exported file imports into another profile and exports again byte for byte (state columns included).
    const q = profile('redact-roundtrip-2');
    seed(q);
    const exported = path.join(q.dataDir, 'exported.csv');
    fs.writeFileSync(exported, first.stdout);
    const back = await q.run(['tracked', 'import', exported]);
    expect(back.code, back.stderr).toBe(0);
    const second = await q.run(['tracked', 'export']);
    expect(second.stdout).toBe(first.stdout);

    // The reconnect plan lists them for the advisor to click, as typed.
    const plan = reconnectPlanSchema.parse(JSON.parse((await p.run(['plan', 'reconnect', '--json'])).stdout));
    expect(plan.tracked.map((t) => t.reconnectUrl).sort()).toEqual(TRICKY.map((t) => t.url).sort());
    const words = await p.run(['plan', 'reconnect']);
    for (const t of TRICKY) expect(words.stdout).toContain(`[ ] ${t.app} — ${t.org} — ${t.url}`);
  });

  it('a token pasted into a note is scrubbed from the import report, the plan and the export', async () => {
    const p = profile('redact-token');
    seed(p);
    const source = path.join(p.dataDir, 'token.csv');
    fs.writeFileSync(
      source,
      csvOf([{ org: 'Acme Ltd', app: 'Pasted', url: `https://pasted.example/connect?id_token=${JWT}`, notes: `header was Authorization: Bearer ${JWT}` }]),
    );
    const imported = await p.run(['tracked', 'import', source, '--json']);
    expect(imported.code, imported.stderr).toBe(0);
    const outputs = [imported.stdout, (await p.run(['tracked', 'export'])).stdout, (await p.run(['plan', 'reconnect'])).stdout, (await p.run(['plan', 'reconnect', '--json'])).stdout];
    for (const out of outputs) {
      expect(out).not.toContain('eyJhbGciOiJSUzI1NiIs');
      expect(out).toContain('[REDACTED]');
    }
    expect(outputs[1]).toContain('header was Authorization: Bearer [REDACTED]');
    expect(outputs[1]).toContain('https://pasted.example/connect?id_token=[REDACTED]');
  });
});
