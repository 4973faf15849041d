import type { ActivityEntry } from '../../shared/domain.js';
import { ACTIVITY_CSV_COLUMNS, type AuditReport, type StaffRef } from '../../shared/workflows.js';
import { activityActionWords, activityDetailWords } from '../../shared/plain-words.js';
import { redactUserData } from '../core/redact.js';
import type { Provider } from '../providers/provider.js';
import { DEFAULT_PROVIDER } from '../providers/registry.js';
import { toCsv, type CsvOptions } from './csv.js';
import { day, orgName, plural, type WorkflowWorld } from './world.js';

/**
 * Reports a partner can file: the offboarding audit as CSV and as a printable HTML page (the app prints it to
 * PDF with Electron's `printToPDF`, browser mode with Chromium's), and the activity log as CSV.
 *
 * Everything here is built from values already free of secrets (audits and activity entries never hold a
 * token), and every value is escaped for where it goes: CSV cells are defused against formula injection
 * (csv.ts), HTML text is entity-escaped, and the HTML page carries no script and a CSP that forbids any. Both
 * still drop registered secrets and token shapes as a last guard, and leave every other word as it is.
 */

const who = (r: StaffRef | null) => (r ? `${r.name}${r.email && r.email !== r.name ? ` <${r.email}>` : ''}` : '');

export const AUDIT_CSV_COLUMNS = [
  'firm',
  'generated_at',
  'staff',
  'staff_email',
  'verdict',
  'dependency',
  'app',
  'organisation',
  'health',
  'state',
  'moved_to',
  'moved_by',
  'moved_at',
  'detail',
] as const;

/** What the detail cell says about an app they created: what was done, and whether Relink verified it. */
function appDetail(app: AuditReport['appsCreated'][number]): string {
  if (app.state === 'overridden' && app.override) {
    return `OVERRIDE, not verified by Relink: ${app.override.by} marked it ${app.how ?? 'done'}${app.override.newOwner ? ` to ${app.override.newOwner}` : ''} on ${day(app.override.at)} ("${app.override.reason}").`;
  }
  if (app.replacement) {
    const missing = app.replacement.organisations.filter((o) => !o.reached);
    return app.state === 'moved'
      ? `Replaced by ${app.replacement.appName}; verified: every organisation is reached through it.`
      : `Replacement ${app.replacement.appName} chosen; not yet reached through it: ${missing.map((o) => o.name).join('; ')}.`;
  }
  return app.state === 'moved' ? (app.movedBy ?? 'Moved.') : app.guidance;
}

/** One row per dependency (connection, app created, tracked connection), each with the report's heading facts. */
export function auditCsv(a: AuditReport, opts: CsvOptions = {}): string {
  const head = [a.firmName, a.generatedAt, a.staff.name, a.staff.email, a.verdict] as const;
  const rows: Array<Array<string | number | null>> = [];
  for (const c of a.connections) {
    rows.push([...head, 'connection', c.appName, c.organisation, c.health, c.state, who(c.movedTo), c.movedBy, c.movedAt, c.note ?? (c.cause ? `cause: ${c.cause}` : null)]);
  }
  for (const app of a.appsCreated) {
    rows.push([
      ...head,
      'app-created',
      app.appName,
      plural(app.organisations, 'organisation'),
      null,
      app.state,
      who(app.movedTo),
      app.movedBy,
      app.movedAt,
      appDetail(app),
    ]);
  }
  for (const t of a.tracked) {
    rows.push([...head, 'tracked', t.app, t.organisation, t.health, t.state, who(t.movedTo), t.movedBy, t.movedAt, t.reconnectUrl]);
  }
  if (rows.length === 0) rows.push([...head, 'none', null, null, null, null, null, null, null, `Nothing depends on ${a.staff.name || a.staff.email}.`]);
  return toCsv(AUDIT_CSV_COLUMNS, rows, opts);
}

export function escapeHtml(value: string | number | null | undefined): string {
  return redactUserData(String(value ?? ''))
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** Relink's own words inside an element (an apostrophe needs no escaping there, and keeps headings as written). */
const escapeText = (text: string) => escapeHtml(text).replace(/&#39;/g, "'");

const STATE_WORDS: Record<string, string> = { depends: 'Depends on them', moved: 'Moved', overridden: 'Overridden (not verified)' };
const VERDICT_HEADINGS: Record<AuditReport['verdict'], string> = {
  'safe-to-remove': 'Safe to remove',
  'safe-by-override': "Safe to remove only on an advisor's word (override)",
  'not-safe': 'Not safe to remove yet',
};

const AUDIT_CSS = `
@page { size: A4; margin: 16mm 14mm; }
* { box-sizing: border-box; }
body { font: 10.5pt/1.45 "Segoe UI", "Helvetica Neue", Arial, "Liberation Sans", sans-serif; color: #1b1f24; margin: 0; }
header { border-bottom: 2px solid #1b1f24; padding-bottom: 8pt; margin-bottom: 12pt; }
h1 { font-size: 17pt; margin: 0 0 2pt; }
h2 { font-size: 12.5pt; margin: 16pt 0 6pt; break-after: avoid; }
.firm { font-size: 11pt; color: #444c56; margin: 0 0 8pt; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 2pt 12pt; margin: 0; }
dt { color: #57606a; }
dd { margin: 0; }
.verdict { border: 1.5pt solid; border-radius: 4pt; padding: 8pt 10pt; break-inside: avoid; }
.verdict.safe { border-color: #1a7f37; background: #eefbf1; }
.verdict.not-safe, .verdict.safe-by-override { border-color: #b35900; background: #fff6e8; }
.verdict h2 { margin-top: 0; }
table { width: 100%; border-collapse: collapse; font-size: 9.5pt; }
th, td { text-align: left; vertical-align: top; padding: 3pt 5pt; border-bottom: 0.5pt solid #d0d7de; overflow-wrap: anywhere; }
th { background: #f3f4f6; font-weight: 600; }
tr { break-inside: avoid; }
thead { display: table-header-group; }
.moved { color: #1a7f37; font-weight: 600; }
.depends, .overridden { color: #b35900; font-weight: 600; }
.empty { color: #57606a; font-style: italic; }
.guidance { color: #444c56; font-size: 9pt; }
footer { margin-top: 18pt; border-top: 0.5pt solid #d0d7de; padding-top: 6pt; color: #57606a; font-size: 8.5pt; }
`;

function table(headers: string[], rows: string[][], emptyText: string): string {
  if (rows.length === 0) return `<p class="empty">${escapeHtml(emptyText)}</p>`;
  const head = headers.map((h) => `<th scope="col">${escapeHtml(h)}</th>`).join('');
  // Cells arrive already escaped (some carry a class span), so they are inserted as they are.
  const body = rows.map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`).join('\n');
  return `<table><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

const stateCell = (state: string) => `<span class="${state === 'moved' ? 'moved' : state === 'overridden' ? 'overridden' : 'depends'}">${escapeHtml(STATE_WORDS[state] ?? state)}</span>`;
const when = (at: string | null) => (at ? escapeHtml(day(at)) : '');

/**
 * The audit as one complete, standalone HTML document for printing: inline CSS, no scripts (and a CSP that
 * forbids them), no external resources, every value escaped. A host loads it and prints it to PDF.
 * `provider`: the leaver's, whose developer portal the apps they created are in (FirmWorkflows passes
 * `staffProvider`); without one, the provider new apps get.
 */
export function auditHtml(a: AuditReport, provider: Pick<Provider, 'terms'> = DEFAULT_PROVIDER): string {
  const name = a.staff.name || a.staff.email || a.staff.id;
  const verdictClass = a.verdict === 'safe-to-remove' ? 'safe' : a.verdict;
  const title = `Staff offboarding audit — ${name} — ${a.firmName}`;
  const connections = table(
    ['App', 'Organisation', 'Health', 'State', 'Moved to', 'Moved by', 'When'],
    a.connections.map((c) => [
      escapeHtml(c.appName),
      escapeHtml(c.organisation),
      escapeHtml(c.health),
      stateCell(c.state) + (c.note ? `<div class="guidance">${escapeHtml(c.note)}</div>` : ''),
      escapeHtml(who(c.movedTo)),
      escapeHtml(c.movedBy),
      when(c.movedAt),
    ]),
    `${name} authorised no connections Relink holds.`,
  );
  const apps = table(
    ['App', 'Organisations', 'State', 'What to do / what was done', 'When'],
    a.appsCreated.map((x) => [
      escapeHtml(x.appName),
      escapeHtml(x.organisations),
      stateCell(x.state),
      `<div class="guidance">${escapeHtml(appDetail(x))}</div>`,
      when(x.movedAt),
    ]),
    `${name} is not recorded as the creator of any app.`,
  );
  const tracked = table(
    ['App', 'Organisation', 'Health', 'State', 'Moved to', 'Moved by', 'When'],
    a.tracked.map((t) => [
      escapeHtml(t.app) + (t.reconnectUrl ? `<div class="guidance">${escapeHtml(t.reconnectUrl)}</div>` : ''),
      escapeHtml(t.organisation),
      escapeHtml(t.health),
      stateCell(t.state),
      escapeHtml(who(t.movedTo)),
      escapeHtml(t.movedBy),
      when(t.movedAt),
    ]),
    `${name} authorised no tracked third-party connections.`,
  );
  const reasons = a.reasons.length
    ? `<ul>${a.reasons.map((r) => `<li>${escapeHtml(r)}</li>`).join('')}</ul>`
    : a.overrides.length
      ? `<p>Relink verified everything except what these overrides state:</p><ul>${a.overrides.map((r) => `<li>${escapeHtml(r)}</li>`).join('')}</ul>`
      : `<p>Nothing depends on ${escapeHtml(name)} any more.</p>`;
  const warnings = a.warnings.length
    ? `<h2>Warnings</h2><ul>${a.warnings.map((w) => `<li>${when(w.at)}: ${escapeHtml(w.message)}</li>`).join('')}</ul>`
    : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${AUDIT_CSS}</style>
</head>
<body>
<header>
<h1>Staff offboarding audit</h1>
<p class="firm">${escapeHtml(a.firmName)}</p>
<dl>
<dt>Staff member</dt><dd>${escapeHtml(name)}${a.staff.email && a.staff.email !== name ? ` (${escapeHtml(a.staff.email)})` : ''} — ${escapeHtml(a.staff.status)}</dd>
<dt>Taking over</dt><dd>${a.target ? escapeHtml(who(a.target)) : 'Not chosen yet'}</dd>
<dt>Date</dt><dd>${escapeHtml(day(a.generatedAt))} (${escapeHtml(a.generatedAt)})</dd>
<dt>Progress</dt><dd>${escapeHtml(progressWords(a))}</dd>
</dl>
</header>
<section class="verdict ${verdictClass}">
<h2>Verdict: ${escapeHtml(VERDICT_HEADINGS[a.verdict])}</h2>
${reasons}
</section>
<section>
<h2>Connections through their approvals (${a.connections.length})</h2>
${connections}
</section>
<section>
<h2>Apps they created in ${escapeText(provider.terms.developerPortal)} (${a.appsCreated.length})</h2>
${apps}
</section>
<section>
<h2>Third-party connections they authorised (${a.tracked.length})</h2>
${tracked}
</section>
${warnings}
<footer>Produced by Relink on ${escapeHtml(day(a.generatedAt))}. This report lists what depends on the staff member; it contains no passwords or keys.</footer>
</body>
</html>
`;
}

/** "6 of 8 moved, 1 overridden (not verified), 1 remaining" */
export function progressWords(a: AuditReport): string {
  const p = a.progress;
  return `${p.moved} of ${p.total} moved${p.overridden ? `, ${p.overridden} overridden (not verified)` : ''}, ${p.remaining} remaining`;
}

/** The activity log as CSV, with names instead of ids where Relink knows them. */
export function activityCsv(entries: ActivityEntry[], world: Pick<WorkflowWorld, 'apps' | 'staff' | 'organisations'>, opts: CsvOptions = {}): string {
  const rows = entries.map((e) => {
    const s = e.staffId ? world.staff[e.staffId] : undefined;
    return [
      e.ts,
      e.actor,
      e.person ?? null,
      activityActionWords(e.action),
      e.appId ? (world.apps[e.appId]?.name ?? e.appId) : null,
      e.staffId ? (s ? who({ id: s.id, name: s.name || s.email || s.id, email: s.email }) : e.staffId) : null,
      e.tenantIds?.length ? e.tenantIds.map((t) => orgName(world, t)).join('; ') : null,
      // The window's words, codes only after them ("… refused the sign-in (400 invalid_grant)").
      e.detail ? activityDetailWords(e.action, e.detail) : null,
    ];
  });
  return toCsv(ACTIVITY_CSV_COLUMNS, rows, opts);
}

const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;
const DAY_MS = 86_400_000;

/**
 * The activity export's range. A date (`2026-03-01`) is a whole calendar day in UTC, and both ends are
 * inclusive: `--from 2026-03-01 --to 2026-03-31` is all of March. A full timestamp with its offset
 * (`2026-03-01T09:00:00+13:00`) is exact: `from` inclusive, `to` exclusive. Returns the ISO bounds the activity
 * log reads (from inclusive, to exclusive), or the problem in words.
 */
export function activityRange(from: string, to: string): { ok: true; from: string; to: string } | { ok: false; reason: string } {
  const bound = (text: string, end: boolean): number | null => {
    const t = text.trim();
    if (DATE_ONLY.test(t)) {
      const ms = Date.parse(`${t}T00:00:00.000Z`);
      if (Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 10) !== t) return null;
      return end ? ms + DAY_MS : ms;
    }
    if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(t)) return null;
    const ms = Date.parse(t);
    return Number.isNaN(ms) ? null : ms;
  };
  const f = bound(from, false);
  if (f === null) return { ok: false, reason: `--from takes a date like 2026-03-01 (or a time like 2026-03-01T09:00:00Z), not "${from}".` };
  const t = bound(to, true);
  if (t === null) return { ok: false, reason: `--to takes a date like 2026-03-31 (or a time like 2026-03-31T17:00:00Z), not "${to}".` };
  if (t <= f) return { ok: false, reason: `--to (${to}) must be after --from (${from}).` };
  return { ok: true, from: new Date(f).toISOString(), to: new Date(t).toISOString() };
}
