import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { statusSnapshotSchema } from '../../../shared/api.js';
import { emptyMetadata, validateMetadata, type MetadataDocument } from '../../../main/store/schema.js';
import { Profile, stopLeftovers } from '../../support/relink-cli.js';
import { JANE, TOM, TRACKED_CSV_HEADER as HEADER, byId, seededApp, seededConnection, seededGrant, seededOrganisation, seededStaff, seededTenant } from '../../support/seeded-metadata.js';
import { NEEDS_TMPFS, TMPFS_UNAVAILABLE, fillLeaving, mountTmpfs, unmountTmpfs } from '../../support/tmpfs.js';

/**
 * The real `relink` on a nearly full disk: its data folder is a 128 KB tmpfs filled to leave 4 or 8 KB. The
 * metadata file is bigger than what is left, so no complete new copy of it fits. Relink must refuse the change
 * (exit 1, "The disk is full: nothing was changed…"), leave relink.json and its last good copy exactly as they
 * were, and a read-only `status` must not write at all. After space is freed the next start has everything.
 */

const ORGS = 12;
const tenant = seededTenant;
const DISK_FULL = 'The disk is full: nothing was changed. Free some space and try again. (ENOSPC)';

/** A firm with two apps, two advisers, 12 organisations and 24 connections: about 14 KB of metadata. */
function firm(): MetadataDocument {
  const doc = emptyMetadata();
  doc.revision = 7;
  doc.apps = { 'practice-sync': seededApp('practice-sync', 'Practice Sync'), 'payroll-bridge': seededApp('payroll-bridge', 'Payroll Bridge') };
  doc.staff = byId([seededStaff(JANE, 'jane@harbourfinch.example', 'Jane Doe'), seededStaff(TOM, 'tom@harbourfinch.example', 'Tom Walsh')]);
  // Tom's grant was refused by Xero: an open incident, which `status` must not rewrite on every run.
  const grants = [seededGrant('g-sync-jane', 'practice-sync', JANE), seededGrant('g-pay-tom', 'payroll-bridge', TOM, 'revoked')];
  doc.grants = byId(grants);
  for (let i = 1; i <= ORGS; i++) {
    doc.organisations[tenant(i)] = seededOrganisation(tenant(i), `Client ${i} Ltd`);
    for (const g of grants) {
      const id = `c-${g.id}-${i}`;
      doc.connections[id] = seededConnection(id, g, tenant(i));
    }
  }
  return validateMetadata(doc);
}

function csv(rows: number, app: string): string {
  const lines = [HEADER];
  for (let i = 1; i <= rows; i++) lines.push(`Client ${i} Ltd,${app},jane@harbourfinch.example,https://${app.toLowerCase()}.example/xero/reconnect,Imported from the practice inventory`);
  return `${lines.join('\n')}\n`;
}

/** Byte-for-byte copies of the metadata files, and whatever else lies in the data folder. */
function snapshot(p: Profile) {
  const read = (name: string) => fs.readFileSync(path.join(p.dataDir, name));
  return { main: read('relink.json'), lastGood: read('relink.last-good.json'), lastGoodStat: fs.statSync(path.join(p.dataDir, 'relink.last-good.json')) };
}

const parse = (bytes: Buffer) => validateMetadata(JSON.parse(bytes.toString('utf8')));

describe.skipIf(TMPFS_UNAVAILABLE !== null)(`relink on a nearly full disk (a 128 KB tmpfs)${NEEDS_TMPFS}`, { timeout: 90_000 }, () => {
  let p: Profile;
  let csvDir: string;
  beforeAll(() => {
    csvDir = fs.mkdtempSync(path.join(os.tmpdir(), 'relink-diskfull-csv-'));
    fs.writeFileSync(path.join(csvDir, 'one.csv'), csv(1, 'Gusto'));
    fs.writeFileSync(path.join(csvDir, 'ten.csv'), csv(10, 'Dext'));
  });
  afterAll(() => fs.rmSync(csvDir, { recursive: true, force: true }));
  beforeEach(() => {
    p = new Profile('diskfull');
    mountTmpfs(p.dataDir, 128 * 1024);
    fs.writeFileSync(p.metadataPath, JSON.stringify(firm()));
  });
  afterEach(async () => {
    await stopLeftovers();
    unmountTmpfs(p.dataDir);
    await p.cleanup();
  });

  it('a command whose own bookkeeping cannot be saved (status opening an incident) exits 1 and says why', async () => {
    // No incident is recorded yet for Tom's refused grant: this `status` opens one, which must be saved.
    const before = fs.readFileSync(p.metadataPath);
    fillLeaving(p.dataDir, 4096);
    const r = await p.run(['status', '--json']);
    expect(statusSnapshotSchema.parse(JSON.parse(r.stdout)).incidents.length).toBeGreaterThan(0);
    expect(r.code).toBe(1);
    expect(r.stderr.split(DISK_FULL)).toHaveLength(2);
    expect(fs.readFileSync(p.metadataPath).equals(before)).toBe(true);
    expect(fs.readdirSync(p.dataDir).filter((f) => f.startsWith('relink.'))).toEqual(['relink.json']);
  });

  it.each([4096, 8192])(
    'with %i bytes free: tracked import fails with exit 1 and the disk-full message, status writes nothing, nothing is lost',
    async (leave) => {
      // A first import with room to spare: relink.json and its last good copy both hold it.
      const first = await p.run(['tracked', 'import', path.join(csvDir, 'one.csv')]);
      expect(first.code, first.stderr).toBe(0);
      const before = snapshot(p);
      expect(Object.keys(parse(before.main).tracked)).toHaveLength(1);
      expect(parse(before.lastGood).revision).toBe(parse(before.main).revision);
      expect(before.main.length).toBeGreaterThan(leave + 4096);

      const filler = fillLeaving(p.dataDir, leave);
      const full = await p.run(['tracked', 'import', path.join(csvDir, 'ten.csv')]);
      expect(full.code).toBe(1);
      expect(full.stdout).not.toMatch(/Imported/);
      // Said once: the failed command says it, and closing the store (which tries again) does not repeat it.
      expect(full.stderr.split(DISK_FULL)).toHaveLength(2);
      expect(full.stderr).not.toMatch(/unexpected error/i);
      // Both files exactly as they were, and no half-written temporary file left taking up the space.
      const during = snapshot(p);
      expect(during.main.equals(before.main)).toBe(true);
      expect(during.lastGood.equals(before.lastGood)).toBe(true);
      expect(fs.readdirSync(p.dataDir).filter((f) => f.includes('.tmp'))).toEqual([]);

      // A read-only command on the full disk works and writes nothing, the last good copy included.
      const status = await p.run(['status', '--json']);
      expect(status.code, status.stderr).toBe(0);
      expect(statusSnapshotSchema.parse(JSON.parse(status.stdout)).connections).toHaveLength(2 * ORGS);
      const afterStatus = snapshot(p);
      expect(afterStatus.main.equals(before.main)).toBe(true);
      expect(afterStatus.lastGood.equals(before.lastGood)).toBe(true);
      expect(afterStatus.lastGoodStat.mtimeMs).toBe(before.lastGoodStat.mtimeMs);
      expect(afterStatus.lastGoodStat.ino).toBe(before.lastGoodStat.ino);

      // Space freed: the next start has every app, adviser, organisation and connection, and the import works.
      fs.rmSync(filler);
      const next = await p.run(['status', '--json']);
      expect(next.code, next.stderr).toBe(0);
      expect(next.stderr).not.toMatch(/damaged/);
      const s = statusSnapshotSchema.parse(JSON.parse(next.stdout));
      expect(s.apps.map((a) => a.name).sort()).toEqual(['Payroll Bridge', 'Practice Sync']);
      expect(s.staff).toHaveLength(2);
      expect(s.grants).toHaveLength(2);
      expect(s.connections).toHaveLength(2 * ORGS);
      expect(Object.keys(parse(fs.readFileSync(p.metadataPath)).organisations)).toHaveLength(ORGS);
      const again = await p.run(['tracked', 'import', path.join(csvDir, 'ten.csv')]);
      expect(again.code, again.stderr).toBe(0);
      expect(again.stdout).toMatch(/^Imported 10 tracked connections\./);
      expect(Object.keys(parse(fs.readFileSync(p.metadataPath)).tracked)).toHaveLength(11);
      expect(Object.keys(parse(fs.readFileSync(path.join(p.dataDir, 'relink.last-good.json'))).tracked)).toHaveLength(11);
    },
  );
});
