import fs from 'node:fs';
import { parse } from 'csv-parse/sync';
import {
  TRACKED_CSV_HEADER,
  TRACKED_EXPORT_EXTRA,
  type AcceptedRow,
  type RejectedRow,
  type TrackedImportPreview,
  type TrackedView,
} from '../../shared/workflows.js';
import { toCsv, undefuseCell, type CsvOptions } from './csv.js';
import { existingKeys, resolveTracked, trackedKey, type ResolvedTracked } from './tracked-inventory.js';
import type { ProviderFacts, WorkflowWorld } from './world.js';

/**
 * Importing and exporting the tracked third-party inventory as CSV.
 *
 * The file must start with the header `organisation,app,authorised_by,reconnect_url,notes` (names compared
 * without case or surrounding spaces; a file Relink exported — the same five columns followed by its state
 * columns — is accepted too, and the extra columns are ignored). Parsing is real CSV (csv-parse): quoted cells
 * with commas, quotes and line breaks, a UTF-8 byte order mark, CRLF or LF line ends. Rows whose cells are all
 * empty (spreadsheets leave them at the end) are ignored.
 *
 * The preview checks every row and writes nothing. A row whose quotes do not match is reported as one
 * rejected row and reading carries on from the next line, so one stray quote does not hide the rest of the
 * file's problems. Row numbers are given twice: `line` (where the row starts in the file, header = line 1) and
 * `row` (as a spreadsheet numbers it: a cell with line breaks stays one row).
 */

export const MAX_IMPORT_BYTES = 5 * 1024 * 1024;
export const MAX_IMPORT_ROWS = 10_000;

type RawRecord = { line: number; row: number; cells: string[] } | { line: number; row: number; error: string };

/** The limit in words, and the size of a file that went over it ("5.9 GB"). */
const tooLarge = (size: number | null, max: number) =>
  `The file is larger than ${Number.isInteger(max / 1024 ** 2) ? `${max / 1024 ** 2} MB` : sizeInWords(max)}${size === null ? '' : ` (it is ${sizeInWords(size)})`}; split it into smaller files and import each.`;

function sizeInWords(bytes: number): string {
  if (bytes >= 1024 ** 3) return `${(bytes / 1024 ** 3).toFixed(1)} GB`;
  if (bytes >= 1024 ** 2) return `${(bytes / 1024 ** 2).toFixed(1)} MB`;
  if (bytes >= 1024) return `${Math.ceil(bytes / 1024)} KB`;
  return `${bytes} bytes`;
}

function notAFile(file: string, s: fs.Stats): string | null {
  if (s.isFile()) return null;
  if (s.isDirectory()) return `${file} is a folder, not a CSV file.`;
  const what = s.isFIFO() ? 'a named pipe' : s.isCharacterDevice() || s.isBlockDevice() ? 'a device' : s.isSocket() ? 'a socket' : 'not a regular file';
  return `${file} is ${what}, not a CSV file: save the CSV as a file and import that file.`;
}

export type ImportFileRead =
  | { ok: true; bytes: Buffer }
  /** `usage`: the name given is not a readable file (a mistake on the command line); otherwise the file is refused. */
  | { ok: false; usage: boolean; reason: string };

/**
 * Read the CSV file named on the command line, never more than `maxBytes` + 1 bytes of it. Checked before any
 * byte is read: it must be a regular file (a named pipe would block for ever, /dev/zero never ends — it once
 * grew Relink to 5.9 GB) no larger than `maxBytes`. It is opened without blocking (so a file swapped for a
 * pipe in between cannot hang it) and checked again on the open handle, and the read stops one byte past the
 * limit, so a file growing while it is read is refused too, not read whole.
 */
export async function readImportFile(file: string, maxBytes = MAX_IMPORT_BYTES): Promise<ImportFileRead> {
  const cannot = (err: unknown): ImportFileRead => {
    const code = (err as NodeJS.ErrnoException).code;
    return { ok: false, usage: true, reason: code === 'ENOENT' ? `There is no file ${file}.` : `Could not read ${file}: ${(err as Error).message}` };
  };
  let handle: fs.promises.FileHandle;
  try {
    const before = await fs.promises.stat(file);
    const wrong = notAFile(file, before);
    if (wrong) return { ok: false, usage: true, reason: wrong };
    if (before.size > maxBytes) return { ok: false, usage: false, reason: tooLarge(before.size, maxBytes) };
    // O_NONBLOCK does not exist on Windows, which has no named pipes at a file path.
    handle = await fs.promises.open(file, fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0));
  } catch (err) {
    return cannot(err);
  }
  try {
    const opened = await handle.stat();
    const wrong = notAFile(file, opened);
    if (wrong) return { ok: false, usage: true, reason: wrong };
    if (opened.size > maxBytes) return { ok: false, usage: false, reason: tooLarge(opened.size, maxBytes) };
    // Room for the size it has now plus one byte, grown if it grows, but never past one byte over the limit:
    // filling that byte is what tells a file over the limit.
    let buffer = Buffer.alloc(opened.size + 1);
    let length = 0;
    for (;;) {
      if (length === buffer.length) {
        const grown = Buffer.alloc(Math.min(buffer.length * 2, maxBytes + 1));
        buffer.copy(grown, 0, 0, length);
        buffer = grown;
      }
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
      if (bytesRead === 0) return { ok: true, bytes: buffer.subarray(0, length) };
      length += bytesRead;
      if (length > maxBytes) return { ok: false, usage: false, reason: tooLarge(null, maxBytes) };
    }
  } catch (err) {
    return cannot(err);
  } finally {
    await handle.close().catch(() => undefined);
  }
}

/** Decode a file's bytes, refusing anything that is not UTF-8 text (Excel's "CSV (Comma delimited)" is not). */
export function decodeCsvBytes(bytes: Uint8Array): { ok: true; text: string } | { ok: false; reason: string } {
  if (bytes.byteLength > MAX_IMPORT_BYTES) {
    return { ok: false, reason: tooLarge(null, MAX_IMPORT_BYTES) };
  }
  try {
    return { ok: true, text: new TextDecoder('utf-8', { fatal: true }).decode(bytes) };
  } catch {
    return {
      ok: false,
      reason: 'The file is not UTF-8 text. In Excel, save it with "CSV UTF-8 (Comma delimited)"; in Google Sheets, download it as CSV.',
    };
  }
}

/**
 * Every record of the file with where it starts, or the error that stopped one. csv-parse cannot carry on
 * reliably after a quoting error, so after one the rest of the file is parsed again from the next line.
 * Positions come from csv-parse's byte offsets (`info.bytes`, the end of each record), mapped to lines here:
 * its own line counter counts a CRLF inside a quoted cell twice.
 */
export function readCsvRecords(text: string): RawRecord[] {
  const bytes = Buffer.from(text.startsWith('\uFEFF') ? text.slice(1) : text, 'utf8');
  // Byte offset where each line starts (a line ends at CRLF, LF or a lone CR).
  const lineStarts = [0];
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (b === 0x0a || (b === 0x0d && bytes[i + 1] !== 0x0a)) lineStarts.push(i + 1);
  }
  const lineOf = (offset: number) => {
    let lo = 0;
    let hi = lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (lineStarts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo + 1;
  };
  /** The first byte at or after `offset` that is not a line break: where a record really starts. */
  const skipBreaks = (offset: number) => {
    let i = offset;
    while (i < bytes.length && (bytes[i] === 0x0a || bytes[i] === 0x0d)) i++;
    return i;
  };

  const out: RawRecord[] = [];
  let from = 0;
  let row = 0;
  while (from < bytes.length) {
    const base = from;
    let failure: { code: string; at: number } | null = null;
    let lastEnd = base;
    parse(bytes.subarray(base), {
      relax_column_count: true,
      skip_empty_lines: true,
      skip_records_with_error: true,
      // Only for the error's position: how far into the broken record the parser got.
      raw: true,
      on_skip: (err) => {
        if (!failure && err) {
          const e = err as unknown as { code?: string; raw?: string };
          failure = { code: e.code ?? 'CSV_ERROR', at: lastEnd + Buffer.byteLength(e.raw ?? '', 'utf8') };
        }
        return undefined;
      },
      on_record: (rec, context) => {
        if (failure) return null;
        // With `raw` the record arrives as {record, raw}; `context.bytes` is where it ends (after its line break).
        const cells = Array.isArray(rec) ? rec : (rec as unknown as { record: string[] }).record;
        out.push({ line: lineOf(skipBreaks(lastEnd)), row: ++row, cells });
        lastEnd = base + context.bytes;
        return null;
      },
    });
    if (!failure) break;
    const f = failure as { code: string; at: number };
    const startLine = lineOf(skipBreaks(lastEnd));
    out.push({ line: startLine, row: ++row, error: describeCsvError(f.code) });
    // An unclosed quote swallows the rest of the file: carry on right after the line where it opened.
    // Otherwise carry on after the line where the error was found.
    const resumeLine = f.code === 'CSV_QUOTE_NOT_CLOSED' ? startLine + 1 : Math.max(lineOf(Math.min(f.at, bytes.length)), startLine) + 1;
    if (resumeLine > lineStarts.length) break;
    from = lineStarts[resumeLine - 1]!;
  }
  return out;
}

function describeCsvError(code: string): string {
  switch (code) {
    case 'CSV_QUOTE_NOT_CLOSED':
      return 'a quote (") opens a cell here and is never closed: close it, or remove it';
    case 'CSV_INVALID_CLOSING_QUOTE':
      return 'a quoted cell has text right after its closing quote: write a quote inside a cell as two quotes ("") and quote the whole cell';
    case 'CSV_INVALID_OPENING_QUOTE':
    case 'INVALID_OPENING_QUOTE':
      return 'a quote (") appears in the middle of a cell: quote the whole cell and write the quote as two quotes ("")';
    default:
      return 'this row is not valid CSV (check its quotes and commas)';
  }
}

function headerProblem(cells: string[]): string | null {
  const got = cells.map((c) => c.trim().toLowerCase());
  const want = [...TRACKED_CSV_HEADER];
  const exported = [...TRACKED_CSV_HEADER, ...TRACKED_EXPORT_EXTRA];
  const same = (a: string[], b: string[]) => a.length === b.length && a.every((x, i) => x === b[i]);
  if (same(got, want) || same(got, exported)) return null;
  const shown = cells.join(',');
  if (cells.length === 1 && cells[0]!.includes(';')) {
    return `The first line uses semicolons (${shown}); save the file with commas between columns. It must start with the line: ${want.join(',')}`;
  }
  return `The first line must be exactly: ${want.join(',')} — this file's first line is: ${shown || '(empty)'}`;
}

export interface PreviewResult extends TrackedImportPreview {
  /** The accepted rows' resolved values, for the import (same order as `accepted`). */
  values: ResolvedTracked[];
}

/** Parse and check every row; writes nothing. */
export function previewTrackedCsv(text: string, world: Pick<WorkflowWorld, 'organisations' | 'staff' | 'tracked'> & ProviderFacts): PreviewResult {
  const empty = (fileError: string): PreviewResult => ({ fileError, accepted: [], rejected: [], rows: 0, values: [] });
  if (text.length > MAX_IMPORT_BYTES) return empty(`The file is larger than ${MAX_IMPORT_BYTES / 1024 / 1024} MB; split it into smaller files and import each.`);
  const records = readCsvRecords(text);
  const first = records[0];
  if (!first || ('cells' in first && first.cells.every((c) => c.trim() === '') && records.length === 1)) {
    return empty(`The file is empty. It must start with the line: ${TRACKED_CSV_HEADER.join(',')}`);
  }
  if ('error' in first) return empty(`The first line could not be read (${first.error}). It must be: ${TRACKED_CSV_HEADER.join(',')}`);
  const problem = headerProblem(first.cells);
  if (problem) return empty(problem);
  const data = records.slice(1).filter((r) => !('cells' in r) || r.cells.some((c) => c.trim() !== ''));
  if (data.length === 0) return { ...empty(`The file has the header but no rows to import.`) };
  if (data.length > MAX_IMPORT_ROWS) return empty(`The file has ${data.length} rows; import at most ${MAX_IMPORT_ROWS} at a time.`);

  const known = existingKeys(world);
  const seen = new Map<string, number>();
  const accepted: AcceptedRow[] = [];
  const values: ResolvedTracked[] = [];
  const rejected: RejectedRow[] = [];
  for (const r of data) {
    if ('error' in r) {
      rejected.push({ line: r.line, row: r.row, reasons: [r.error], duplicate: false, cells: [] });
      continue;
    }
    const cells = r.cells.map(undefuseCell);
    const reasons: string[] = [];
    if (cells.length < TRACKED_CSV_HEADER.length) {
      reasons.push(`this row has ${cells.length} column${cells.length === 1 ? '' : 's'}; it needs ${TRACKED_CSV_HEADER.length} (${TRACKED_CSV_HEADER.join(', ')}) — leave a cell empty rather than out`);
    } else if (cells.length > TRACKED_CSV_HEADER.length && cells.length !== TRACKED_CSV_HEADER.length + TRACKED_EXPORT_EXTRA.length) {
      reasons.push(`this row has ${cells.length} columns; it needs ${TRACKED_CSV_HEADER.length} — a comma inside a cell needs the cell in quotes`);
    }
    if (reasons.length) {
      rejected.push({ line: r.line, row: r.row, reasons, duplicate: false, cells });
      continue;
    }
    const [organisation = '', app = '', authorisedBy = '', reconnectUrl = '', notes = ''] = cells;
    const resolved = resolveTracked({ organisation, app, authorisedBy, reconnectUrl, notes }, world);
    if (!resolved.ok) {
      rejected.push({ line: r.line, row: r.row, reasons: resolved.reasons, duplicate: false, cells });
      continue;
    }
    const v = resolved.value;
    const key = trackedKey(v.tenantId, v.app, v.staff.id);
    if (known.has(key)) {
      rejected.push({
        line: r.line,
        row: r.row,
        reasons: [`${v.app} for ${v.organisation} authorised by ${v.staff.email || v.staff.name} is already tracked`],
        duplicate: true,
        cells,
      });
      continue;
    }
    const earlier = seen.get(key);
    if (earlier !== undefined) {
      rejected.push({ line: r.line, row: r.row, reasons: [`this row repeats line ${earlier} (same organisation, app and authoriser)`], duplicate: true, cells });
      continue;
    }
    seen.set(key, r.line);
    accepted.push({
      line: r.line,
      row: r.row,
      tenantId: v.tenantId,
      organisation: v.organisation,
      app: v.app,
      authorisedBy: { staffId: v.staff.id, name: v.staff.name, email: v.staff.email },
      reconnectUrl: v.reconnectUrl,
      notes: v.notes,
    });
    values.push(v);
  }
  return { fileError: null, accepted, rejected, rows: data.length, values };
}

/**
 * The inventory as CSV: the import's five columns (so the file imports back) and then the tenant id, the
 * state and the advisor's last confirmation. The organisation column holds the name, or the tenant id where
 * two organisations share that name (a name alone would not import back).
 */
export function trackedCsv(views: TrackedView[], world: Pick<WorkflowWorld, 'organisations'>, opts: CsvOptions = {}): string {
  const nameCount = new Map<string, number>();
  for (const o of Object.values(world.organisations)) {
    const k = o.name.trim().toLowerCase();
    nameCount.set(k, (nameCount.get(k) ?? 0) + 1);
  }
  const orgCell = (v: TrackedView) =>
    world.organisations[v.tenantId] && (nameCount.get(v.organisation.trim().toLowerCase()) ?? 0) === 1 ? v.organisation : v.tenantId;
  const rows = [...views]
    .sort((a, b) => a.organisation.localeCompare(b.organisation) || a.app.localeCompare(b.app) || a.id.localeCompare(b.id))
    .map((v) => [
      orgCell(v),
      v.app,
      v.authorisedBy.email || v.authorisedBy.ref,
      v.reconnectUrl,
      v.notes,
      v.tenantId,
      v.state,
      v.reason,
      v.confirmedAt,
      v.confirmedBy,
    ]);
  return toCsv([...TRACKED_CSV_HEADER, ...TRACKED_EXPORT_EXTRA], rows, opts);
}
