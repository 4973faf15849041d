import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { TRACKED_CSV_HEADER, trackedImportPreviewSchema, type TrackedView } from '../../../shared/workflows.js';
import { defuseCell, undefuseCell } from '../../../main/workflows/csv.js';
import { trackedView } from '../../../main/workflows/tracked-health.js';
import { decodeCsvBytes, previewTrackedCsv, readCsvRecords, trackedCsv } from '../../../main/workflows/tracked-import.js';
import { newTracked } from '../../../main/workflows/tracked-inventory.js';
import { FirmWorld } from './fixtures.js';

/**
 * The tracked inventory's CSV: real CSV parsing (quotes, embedded commas and line breaks, BOM, CRLF), every row
 * checked with a reason that says what to change, duplicates, whole-file errors, and an export that defuses
 * spreadsheet formulas and imports back unchanged.
 */

const HEADER = TRACKED_CSV_HEADER.join(',');

function firm() {
  const w = new FirmWorld();
  w.org('t-acme', 'Acme Ltd');
  w.org('t-bay', 'Bayside Bakery');
  w.org('t-dup1', 'Harbour Cafe');
  w.org('t-dup2', 'Harbour Cafe');
  w.person('jane', 'Jane Doe');
  w.person('ben', 'Ben Adviser', { email: 'Ben@Firm.example' });
  return w;
}

function preview(w: FirmWorld, text: string) {
  const p = previewTrackedCsv(text, w.world());
  const { values: _values, ...rest } = p;
  trackedImportPreviewSchema.parse(rest);
  return p;
}

describe('tracked CSV import: parsing', () => {
  it('reads quotes, embedded commas, quotes and line breaks, a BOM and CRLF line ends', () => {
    const w = firm();
    const text =
      `\uFEFF${HEADER}\r\n` +
      `Acme Ltd,"Gusto, Inc.",jane.doe@firm.example,https://app.gusto.example/settings/xero,"Payroll — ask ""Sam"" first"\r\n` +
      `t-bay,Dext,BEN@firm.example,,"Two lines:\r\nreceipts and bills"\r\n`;
    const p = preview(w, text);
    expect(p.fileError).toBeNull();
    expect(p.rejected).toEqual([]);
    expect(p.rows).toBe(2);
    expect(p.accepted).toEqual([
      {
        line: 2,
        row: 2,
        tenantId: 't-acme',
        organisation: 'Acme Ltd',
        app: 'Gusto, Inc.',
        authorisedBy: { staffId: 'jane', name: 'Jane Doe', email: 'jane.doe@firm.example' },
        reconnectUrl: 'https://app.gusto.example/settings/xero',
        notes: 'Payroll — ask "Sam" first',
      },
      {
        line: 3,
        row: 3,
        tenantId: 't-bay',
        organisation: 'Bayside Bakery',
        app: 'Dext',
        authorisedBy: { staffId: 'ben', name: 'Ben Adviser', email: 'Ben@Firm.example' },
        reconnectUrl: null,
        notes: 'Two lines:\r\nreceipts and bills',
      },
    ]);
  });

  it('organisation names ignore case and repeated spaces; header names ignore case; blank rows are ignored', () => {
    const w = firm();
    const p = preview(w, `Organisation , APP,Authorised_By,reconnect_url,notes\n\n  acme   LTD ,Xero Practice,jane.doe@firm.example,,\n,,,,\n`);
    expect(p.rejected).toEqual([]);
    expect(p.accepted.map((a) => [a.line, a.tenantId])).toEqual([[3, 't-acme']]);
  });

  it('reports every bad row with its line and every reason — unknown organisation, ambiguous name, unknown email, bad address', () => {
    const w = firm();
    const text = [
      HEADER,
      'Acme Ltd,Gusto,jane.doe@firm.example,https://gusto.example,',
      'Acme Limited,Dext,jane.doe@firm.example,,',
      'Harbour Cafe,Shopify,jane.doe@firm.example,,',
      'Acme Ltd,Hubdoc,nobody@firm.example,,',
      'Acme Ltd,Float,Jane Doe,,',
      'Acme Ltd,Fathom,jane.doe@firm.example,http://fathom.example/xero,',
      'Acme Ltd,Syft,jane.doe@firm.example,javascript:alert(1),',
      'Acme Ltd,Spotlight,jane.doe@firm.example,https://user:pw@spotlight.example,',
      'Nowhere,,someone,ftp://x,',
    ].join('\n');
    const p = preview(w, text);
    expect(p.accepted.map((a) => a.app)).toEqual(['Gusto']);
    const byLine = Object.fromEntries(p.rejected.map((r) => [r.line, r.reasons]));
    expect(Object.keys(byLine).map(Number)).toEqual([3, 4, 5, 6, 7, 8, 9, 10]);
    expect(byLine[3]).toEqual([expect.stringMatching(/^no organisation called "Acme Limited" is known to Relink: use the name exactly as Xero shows it, or the tenant id/)]);
    expect(byLine[4]).toEqual(['2 organisations are called "Harbour Cafe" (tenant ids t-dup1, t-dup2): put the tenant id in the organisation column instead']);
    expect(byLine[5]).toEqual([expect.stringMatching(/^no staff member with the email nobody@firm\.example is known to Relink: check the spelling; staff become known once they have connected an app/)]);
    expect(byLine[6]).toEqual(['"Jane Doe" is not an email address: authorised_by takes the email of the staff member who authorised it']);
    expect(byLine[7]).toEqual(['the reconnect address must start with https:// (got http)']);
    expect(byLine[8]).toEqual(['the reconnect address must start with https:// (got javascript)']);
    expect(byLine[9]).toEqual(['the reconnect address must not contain a user name or password']);
    // Every problem of a row, not just the first.
    expect(byLine[10]).toHaveLength(4);
    expect(p.rejected.every((r) => !r.duplicate)).toBe(true);
    expect(p.rejected[0]!.cells).toEqual(['Acme Limited', 'Dext', 'jane.doe@firm.example', '', '']);
  });

  it('duplicates of tracked entries and of earlier rows are rejected as duplicates', () => {
    const w = firm();
    w.track('t-acme', 'Gusto', 'jane');
    const text = [HEADER, 'Acme Ltd,gusto,jane.doe@firm.example,,', 't-bay,Dext,ben@firm.example,,', 'Bayside Bakery,DEXT,Ben@firm.example,,', 't-bay,Dext,jane.doe@firm.example,,'].join('\r\n');
    const p = preview(w, text);
    expect(p.accepted.map((a) => [a.line, a.app, a.authorisedBy.staffId])).toEqual([
      [3, 'Dext', 'ben'],
      [5, 'Dext', 'jane'],
    ]);
    expect(p.rejected).toEqual([
      expect.objectContaining({ line: 2, duplicate: true, reasons: ['gusto for Acme Ltd authorised by jane.doe@firm.example is already tracked'] }),
      expect.objectContaining({ line: 4, duplicate: true, reasons: ['this row repeats line 3 (same organisation, app and authoriser)'] }),
    ]);
  });

  it('a malformed row is reported on its own and the rest of the file is still checked', () => {
    const w = firm();
    const text = [HEADER, 'Acme Ltd,"Gusto"x,jane.doe@firm.example,,', 'Acme Ltd,Dext,jane.doe@firm.example,,', 'Acme Ltd,Float', '"Acme Ltd,Syft,jane.doe@firm.example,,', 'Bayside Bakery,Syft,jane.doe@firm.example,,'].join('\n');
    const p = preview(w, text);
    expect(p.accepted.map((a) => [a.line, a.app])).toEqual([
      [3, 'Dext'],
      [6, 'Syft'],
    ]);
    expect(p.rejected.map((r) => [r.line, r.reasons[0]])).toEqual([
      [2, expect.stringMatching(/a quoted cell has text right after its closing quote/)],
      [4, expect.stringMatching(/this row has 2 columns; it needs 5/)],
      [5, expect.stringMatching(/a quote \(\"\) opens a cell here and is never closed/)],
    ]);
  });

  it('whole-file problems: empty, header only, wrong header, semicolons, too many columns', () => {
    const w = firm();
    expect(preview(w, '').fileError).toMatch(/^The file is empty\. It must start with the line: organisation,app,authorised_by,reconnect_url,notes$/);
    expect(preview(w, '\uFEFF\r\n\r\n').fileError).toMatch(/The file is empty/);
    expect(preview(w, `${HEADER}\r\n`).fileError).toBe('The file has the header but no rows to import.');
    expect(preview(w, 'org,app,who\nAcme Ltd,Gusto,jane.doe@firm.example\n').fileError).toBe(
      'The first line must be exactly: organisation,app,authorised_by,reconnect_url,notes — this file\'s first line is: org,app,who',
    );
    expect(preview(w, 'organisation;app;authorised_by;reconnect_url;notes\n').fileError).toMatch(/uses semicolons .* save the file with commas/);
    const wide = preview(w, `${HEADER}\nAcme Ltd,Gusto,jane.doe@firm.example,,note,extra\n`);
    expect(wide.rejected[0]!.reasons).toEqual([expect.stringMatching(/this row has 6 columns; it needs 5 — a comma inside a cell needs the cell in quotes/)]);
  });

  it('refuses bytes that are not UTF-8 (Excel\'s legacy CSV) with what to do', () => {
    expect(decodeCsvBytes(Buffer.from('organisation\nCaf\xe9', 'latin1'))).toEqual({ ok: false, reason: expect.stringMatching(/not UTF-8 text\. In Excel, save it with "CSV UTF-8/) });
    // The decoder drops a byte order mark; the parser would accept one too.
    expect(decodeCsvBytes(Buffer.from('\uFEFFok', 'utf8'))).toEqual({ ok: true, text: 'ok' });
  });

  it('records and rows are numbered as an editor and a spreadsheet number them', () => {
    const records = readCsvRecords('a,b\r\n"x\r\ny",d\r\n\r\ne,f');
    expect(records).toEqual([
      { line: 1, row: 1, cells: ['a', 'b'] },
      { line: 2, row: 2, cells: ['x\r\ny', 'd'] },
      { line: 5, row: 3, cells: ['e', 'f'] },
    ]);
  });
});

describe('tracked CSV export', () => {
  function exported(w: FirmWorld): { text: string; views: TrackedView[] } {
    const world = w.world();
    const views = Object.values(world.tracked).map((t) => trackedView(t, world));
    return { text: trackedCsv(views, world), views };
  }

  it('defuses spreadsheet formulas (= + - @ tab CR) with a leading apostrophe', () => {
    for (const bad of ['=HYPERLINK("https://evil.example","x")', '+1', '-2+3', '@SUM(A1)', '\tcmd', '\rcmd']) expect(defuseCell(bad)).toBe(`'${bad}`);
    for (const fine of ['Gusto', "'quoted", '1+1', 'a=b', '']) expect(defuseCell(fine)).toBe(fine);
    for (const bad of ['=x', '+x', '-x', '@x', '\tx', '\rx']) expect(undefuseCell(defuseCell(bad))).toBe(bad);
    expect(undefuseCell("'plain")).toBe("'plain");

    const w = firm();
    w.track('t-acme', '=cmd|" /C calc"!A0', 'jane', { notes: '@SUM(1+1)*cmd' });
    const { text } = exported(w);
    const [header, row] = parse(text) as string[][];
    expect(header).toEqual(['organisation', 'app', 'authorised_by', 'reconnect_url', 'notes', 'tenant_id', 'state', 'state_reason', 'confirmed_at', 'confirmed_by']);
    expect(row![1]).toBe(`'=cmd|" /C calc"!A0`);
    expect(row![4]).toBe(`'@SUM(1+1)*cmd`);
    expect(text).toContain('\r\n');
    // No cell of the file starts a formula.
    expect((parse(text) as string[][]).flat().some((c) => /^[=+\-@\t\r]/.test(c))).toBe(false);
  });

  it('round-trips: an export imports back into an empty inventory as the same entries', () => {
    const w = firm();
    w.track('t-acme', 'Gusto, Inc.', 'jane', { notes: 'Line one\r\nline "two"' });
    w.track('t-bay', '-Receipts+', 'ben', { reconnectUrl: null, notes: '=1+1' });
    w.track('t-dup1', 'Shopify', 'jane'); // its name is shared: exported by tenant id
    const { text, views } = exported(w);
    expect(text).toContain('t-dup1,Shopify');

    const fresh = firm();
    const p = preview(fresh, text);
    expect(p.fileError).toBeNull();
    expect(p.rejected).toEqual([]);
    const back = p.values.map((v, i) => newTracked(v, { id: `n-${i}`, now: '2025-03-14T09:30:00.000Z', source: 'import' }));
    const key = (x: { tenantId: string; app: string; authorisedBy: string; reconnectUrl: string | null; notes: string }) =>
      [x.tenantId, x.app, x.authorisedBy, x.reconnectUrl, x.notes].join('|');
    expect(back.map(key).sort()).toEqual(views.map((v) => key({ ...v, authorisedBy: v.authorisedBy.staffId! })).sort());

    // And importing the same export again into the same inventory finds only duplicates.
    const again = preview(w, text);
    expect(again.accepted).toEqual([]);
    expect(again.rejected.every((r) => r.duplicate)).toBe(true);
  });
});
