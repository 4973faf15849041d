import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import type { ActivityEntry } from '../../../shared/domain.js';
import { ACTIVITY_CSV_COLUMNS } from '../../../shared/workflows.js';
import { auditStaff } from '../../../main/workflows/offboarding-audit.js';
import { activityCsv, activityRange, AUDIT_CSV_COLUMNS, auditCsv, auditHtml, escapeHtml } from '../../../main/workflows/reports.js';
import { FirmWorld } from './fixtures.js';

/**
 * Reports a partner files: the audit as CSV and as a standalone printable HTML page (every value escaped, no
 * script), and the activity log as CSV for a date range.
 */

function hostileFirm() {
  const w = new FirmWorld();
  w.settings = { ...w.settings, firmName: 'Harbour & Finch <Partners>' };
  w.org('o-1', '<img src=x onerror=alert(1)>');
  w.org('o-2', '=HYPERLINK("https://evil.example")');
  w.app('sync', { name: 'Sync "Pro"', createdBy: 'tom' });
  w.person('tom', '<script>alert("tom")</script>', { email: 'tom@firm.example', status: 'leaving' });
  w.person('ben', 'Ben Adviser');
  w.grantWith('sync', 'tom', ['o-1', 'o-2']);
  w.track('o-1', '@Gusto', 'tom', { reconnectUrl: 'https://gusto.example/a?b=1&c=2' });
  return w;
}

describe('audit reports', () => {
  it('CSV: one row per dependency with the firm, date, staff member, state, who moved it and when; formulas defused', () => {
    const w = hostileFirm();
    w.offboarding('tom', {
      targetStaffId: 'ben',
      moves: [{ at: '2025-03-14T09:00:00.000Z', kind: 'app', appId: 'sync', tenantId: null, trackedId: null, toStaffId: 'ben', by: 'cli', how: 'recreated', note: 'New app under firm login' }],
    });
    const a = auditStaff(w.world(), 'tom');
    const rows = parse(auditCsv(a)) as string[][];
    expect(rows[0]).toEqual([...AUDIT_CSV_COLUMNS]);
    const body = rows.slice(1).map((r) => Object.fromEntries(AUDIT_CSV_COLUMNS.map((c, i) => [c, r[i]])));
    expect(body.map((r) => [r.dependency, r.app, r.organisation, r.state])).toEqual([
      ['connection', 'Sync "Pro"', '<img src=x onerror=alert(1)>', 'depends'],
      ['connection', 'Sync "Pro"', "'=HYPERLINK(\"https://evil.example\")", 'depends'],
      ['app-created', 'Sync "Pro"', '2 organisations', 'overridden'],
      ['tracked', "'@Gusto", '<img src=x onerror=alert(1)>', 'depends'],
    ]);
    for (const r of body) {
      expect(r).toMatchObject({ firm: 'Harbour & Finch <Partners>', generated_at: a.generatedAt, staff_email: 'tom@firm.example', verdict: 'not-safe' });
    }
    // Recorded before a replacement had to be named: the advisor's word, and the CSV says so.
    expect(body[2]).toMatchObject({
      moved_to: 'Ben Adviser <ben.adviser@firm.example>',
      moved_by: 'Override by someone using the relink command: marked recreated; not verified by Relink',
      moved_at: '2025-03-14T09:00:00.000Z',
      detail: 'OVERRIDE, not verified by Relink: someone using the relink command marked it recreated on 14 Mar 2025 ("New app under firm login").',
    });
    expect(rows.flat().some((c) => /^[=+\-@\t\r]/.test(c))).toBe(false);
  });

  it('CSV for someone with nothing depending on them says so', () => {
    const w = new FirmWorld();
    w.person('amy', 'Amy New');
    const rows = parse(auditCsv(auditStaff(w.world(), 'amy'))) as string[][];
    expect(rows).toHaveLength(2);
    expect(rows[1]!.slice(4)).toEqual(['safe-to-remove', 'none', '', '', '', '', '', '', '', 'Nothing depends on Amy New.']);
  });

  it('HTML: a complete standalone document, every value escaped, no script, a CSP forbidding any', () => {
    const w = hostileFirm();
    const html = auditHtml(auditStaff(w.world(), 'tom'));
    expect(html.startsWith('<!doctype html>\n<html lang="en">')).toBe(true);
    expect(html.trimEnd().endsWith('</html>')).toBe(true);
    expect(html).toContain(`<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">`);
    expect(html).toMatch(/<style>[\s\S]*@page[\s\S]*<\/style>/);
    // Nothing the data held became markup: only the report's own elements and attributes appear.
    const tags = [...html.matchAll(/<([a-z][a-z0-9]*)([^>]*)>/gi)];
    const elements = new Set(tags.map((m) => m[1]!.toLowerCase()));
    const allowed = 'html head meta title style body header h1 h2 p dl dt dd section ul li table thead tbody tr th td span div footer'.split(' ');
    expect([...elements].filter((e) => !allowed.includes(e))).toEqual([]);
    const attributes = new Set(tags.flatMap((m) => [...m[2]!.matchAll(/\s([a-z-]+)="/gi)].map((a) => a[1]!.toLowerCase())));
    expect([...attributes].sort()).toEqual(['charset', 'class', 'content', 'http-equiv', 'lang', 'name', 'scope']);
    expect(html).toContain('&lt;script&gt;alert(&quot;tom&quot;)&lt;/script&gt;');
    expect(html).toContain('Harbour &amp; Finch &lt;Partners&gt;');
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(html).toContain('https://gusto.example/a?b=1&amp;c=2');
    // What a partner needs on the page: the verdict, each dependency, the date.
    expect(html).toContain('Verdict: Not safe to remove yet');
    expect(html).toContain('Sync &quot;Pro&quot;');
    expect(html).toContain('@Gusto');
    expect(html).toMatch(/<dt>Date<\/dt><dd>14 Mar 2025/);
    expect(html).toContain('Connections through their approvals (2)');
  });

  it('an override is named as one: verdict "safe-by-override" in the CSV, the override with who, when and why in the HTML', () => {
    const w = new FirmWorld();
    w.org('o-1', 'Acme Ltd');
    w.app('payroll', { name: 'Payroll', createdBy: 'ben.adviser@firm.example' });
    w.person('tom', 'Tom Walsh', { status: 'leaving' });
    w.person('ben', 'Ben Adviser');
    w.grantWith('payroll', 'ben', ['o-1']);
    w.offboarding('tom', {
      targetStaffId: 'ben',
      moves: [
        {
          at: '2025-03-14T09:00:00.000Z',
          kind: 'app',
          appId: 'payroll',
          tenantId: null,
          trackedId: null,
          toStaffId: 'ben',
          by: 'advisor',
          person: 'Alex Reid (alex)',
          how: 'transferred',
          note: 'Xero support confirmed (case 123)',
          newOwner: 'ben.adviser@firm.example',
          previousCreatedBy: 'tom',
        },
      ],
    });
    const a = auditStaff(w.world(), 'tom');
    const rows = parse(auditCsv(a)) as string[][];
    const app = Object.fromEntries(AUDIT_CSV_COLUMNS.map((c, i) => [c, rows[1]![i]]));
    expect(app).toMatchObject({
      verdict: 'safe-by-override',
      dependency: 'app-created',
      state: 'overridden',
      moved_by: 'Override by Alex Reid (alex): marked transferred to Ben Adviser; not verified by Relink',
      detail: 'OVERRIDE, not verified by Relink: Alex Reid (alex) marked it transferred to Ben Adviser on 14 Mar 2025 ("Xero support confirmed (case 123)").',
    });
    const html = auditHtml(a);
    expect(html).toContain("Verdict: Safe to remove only on an advisor&#39;s word (override)");
    expect(html).toContain('Overridden (not verified)');
    expect(html).toContain('Alex Reid (alex) marked it transferred to Ben Adviser on 14 Mar 2025 (&quot;Xero support confirmed (case 123)&quot;)');
    expect(html).toContain('0 of 1 moved, 1 overridden (not verified), 0 remaining');
    expect(html).not.toContain('Verdict: Safe to remove</h2>');
  });

  it('escapeHtml escapes the five characters that matter', () => {
    expect(escapeHtml(`<a href="x" title='y'>&</a>`)).toBe('&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;');
    expect(escapeHtml(null)).toBe('');
    expect(escapeHtml(3)).toBe('3');
  });
});

describe('activity export', () => {
  it('CSV with readable columns: names instead of ids where known', () => {
    const w = new FirmWorld();
    w.app('sync', { name: 'Practice Sync' });
    w.person('jane', 'Jane Doe');
    w.org('t-1', 'Acme Ltd');
    const entries: ActivityEntry[] = [
      { ts: '2025-03-14T09:00:00.000Z', actor: 'advisor', person: 'Alex Reid (alex)', action: 'reconnected', appId: 'sync', staffId: 'jane', tenantIds: ['t-1', 't-unknown'], detail: '1 connected, 1 reconnected' },
      { ts: '2025-03-14T10:00:00.000Z', actor: 'engine', action: 'incident-opened', detail: '-1 dollars =cmd' },
      { ts: '2025-03-14T11:00:00.000Z', actor: 'cli', action: 'app-added', appId: 'gone-app', staffId: 'gone-staff' },
    ];
    const rows = parse(activityCsv(entries, w.world())) as string[][];
    expect(rows[0]).toEqual([...ACTIVITY_CSV_COLUMNS]);
    expect(rows.slice(1)).toEqual([
      ['2025-03-14T09:00:00.000Z', 'advisor', 'Alex Reid (alex)', 'Reconnected', 'Practice Sync', 'Jane Doe <jane.doe@firm.example>', 'Acme Ltd; t-unknown', '1 connected, 1 reconnected'],
      ['2025-03-14T10:00:00.000Z', 'engine', '', 'Problem found', '', '', '', "'-1 dollars =cmd"],
      ['2025-03-14T11:00:00.000Z', 'cli', '', 'App added', 'gone-app', 'gone-staff', '', ''],
    ]);
  });

  it('ranges: dates are whole UTC days with both ends included; timestamps are exact; mistakes say what to type', () => {
    expect(activityRange('2026-03-01', '2026-03-31')).toEqual({ ok: true, from: '2026-03-01T00:00:00.000Z', to: '2026-04-01T00:00:00.000Z' });
    expect(activityRange('2026-03-01', '2026-03-01')).toEqual({ ok: true, from: '2026-03-01T00:00:00.000Z', to: '2026-03-02T00:00:00.000Z' });
    expect(activityRange('2026-03-01T09:00:00+13:00', '2026-03-01T17:30:00Z')).toEqual({ ok: true, from: '2026-02-28T20:00:00.000Z', to: '2026-03-01T17:30:00.000Z' });
    expect(activityRange('2026-02-30', '2026-03-01')).toEqual({ ok: false, reason: '--from takes a date like 2026-03-01 (or a time like 2026-03-01T09:00:00Z), not "2026-02-30".' });
    expect(activityRange('2026-03-01', 'yesterday')).toMatchObject({ ok: false, reason: expect.stringMatching(/^--to takes a date like/) });
    expect(activityRange('2026-03-05', '2026-03-01')).toEqual({ ok: false, reason: '--to (2026-03-01) must be after --from (2026-03-05).' });
    expect(activityRange('2026-03-01T10:00:00', '2026-03-02')).toMatchObject({ ok: false });
  });
});
