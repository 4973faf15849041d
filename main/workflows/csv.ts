import { stringify } from 'csv-stringify/sync';
import { redactUserData } from '../core/redact.js';

/**
 * CSV output for everything Relink exports (the tracked inventory, audits, the activity log). RFC 4180:
 * comma-separated, CRLF line ends (LF on request), quotes where a cell needs them.
 *
 * Spreadsheet formula injection: a cell beginning with `=`, `+`, `-`, `@`, a tab or a carriage return is run
 * as a formula by Excel, LibreOffice and Google Sheets when the file is opened, so a note such as
 * `=HYPERLINK("https://evil.example","Click")` imported from a client's inventory would become a live link or
 * worse on a partner's machine. Every such cell gets a leading apostrophe, which spreadsheets show as text.
 * The import undoes exactly that (`undefuseCell`), so an exported file imports back unchanged.
 *
 * Secrets: every cell loses registered tokens and secrets and token shapes (JWTs, Basic credentials), and
 * nothing else — no heuristic that could hit a name, an id, a reconnect address or a note (core/redact.ts).
 */

const FORMULA_START = /^[=+\-@\t\r]/;

export function defuseCell(value: string): string {
  return FORMULA_START.test(value) ? `'${value}` : value;
}

/** Reverses `defuseCell`: an apostrophe followed by a formula character is Relink's own, added on export. */
export function undefuseCell(value: string): string {
  return value.startsWith("'") && FORMULA_START.test(value.slice(1)) ? value.slice(1) : value;
}

export interface CsvOptions {
  /**
   * Start with a UTF-8 byte order mark, which Excel on Windows needs to read accented names correctly. Off by
   * default: scripts reading `relink … > file.csv` do not expect one (Relink's own import accepts both).
   */
  bom?: boolean;
  /**
   * `crlf` (default, RFC 4180, what spreadsheets write) or `lf` (for a terminal: the CLI prints line by line, and
   * one file must never mix the two — a strict parser rejects a quoted last cell followed by the other ending).
   */
  lineEnding?: 'crlf' | 'lf';
}

export function toCsv(header: readonly string[], rows: ReadonlyArray<ReadonlyArray<string | number | null>>, opts: CsvOptions = {}): string {
  const cells = rows.map((r) => r.map((c) => (c === null ? '' : typeof c === 'number' ? String(c) : defuseCell(redactUserData(c)))));
  return stringify([[...header], ...cells], { record_delimiter: opts.lineEnding === 'lf' ? 'unix' : 'windows', bom: opts.bom ?? false });
}
