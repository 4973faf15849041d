// Over 500 lines: every `relink` command's parsing, checks and wording in one place, next to the usage text they share.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { browserFrom } from '../app/browser-option.js';
import { EXIT, failureExit as hostFailureExit, UsageError } from '../app/exit-codes.js';
import type { Io } from '../app/process-io.js';
import { addAppInputSchema, statusSnapshotSchema, type AddAppInput, type StatusSnapshot } from '../../shared/api.js';
import type { AuditReport, ReconnectPlan, RejectedRow, TrackedImportResult } from '../../shared/workflows.js';
import { KEYCHAIN_STATE_WORDS } from '../../shared/plain-words.js';
import { redactSecrets, registerSecret, userTextIn } from '../core/redact.js';
import { BrowserOpenError, openInBrowser } from '../oauth/browser.js';
import type { Explanation } from '../../shared/domain.js';
import type { RelinkService } from '../service/relink-service.js';
import { decodeCsvBytes, readImportFile } from '../workflows/tracked-import.js';
import { day, plural } from '../workflows/world.js';

/**
 * The `relink` commands. Each takes its own arguments, talks to the service and prints either plain words
 * for a person or, with `--json`, one JSON document for scripts. Nothing printed can contain a token or
 * secret: everything goes through the redactor on its way out.
 */

// Shared with browser mode, so they live in main/app (hosts never import each other); re-exported for the
// CLI's entry point and tests.
export { browserFrom, EXIT, UsageError, type Io };

export const USAGE = `Usage: relink [--data-dir DIR] [--keychain-service NAME] <command> [options]

Commands:
  apps add --name NAME --client-id ID [--client-secret-stdin] [--issuer URL] [--api-base URL]
           [--redirect-ports 5001,5002] [--scopes "…"] [--connection-cap N] [--multi-org-consent]
           [--created-by EMAIL] [--json]
  apps list [--json]
  connect APP [--browser CMD|none] [--timeout SECONDS (1-86400, default 300)] [--json]
  check [--app APP] [--staff EMAIL] [--json]
  run
  status [--json]
  explain "ERROR TEXT" [--json]
  password-changed STAFF [--withdraw] [--json]
                                          record that STAFF changed their Xero password; print the plan
                                          (--withdraw: take a mistaken report back)
  plan reconnect [--staff STAFF] [--json]  the consents that bring back every broken connection
  audit staff STAFF [--json|--csv]         what depends on STAFF before they leave, and the verdict
  tracked import FILE.csv [--skip-invalid] [--json]
                                           third-party connections from a CSV file with the header
                                           organisation,app,authorised_by,reconnect_url,notes; any invalid
                                           row imports nothing (exit 1) unless --skip-invalid
  tracked export                           the tracked third-party connections as CSV
  export activity --from DATE --to DATE --csv
                                           the activity log as CSV (dates are whole UTC days, both included)

STAFF is an email or a staff id.
Global options (or environment): --data-dir (RELINK_DATA_DIR), --keychain-service (RELINK_KEYCHAIN_SERVICE).
Exit codes: 0 ok, 1 failure, 2 usage, 3 keychain locked or unavailable, 4 Xero unreachable, 5 not authorised
(connect: declined or not finished; check: Xero refused a connection or an app's credentials).`;

function parse<T extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: T, positionals = 0) {
  try {
    const parsed = parseArgs({ args, options, strict: true, allowPositionals: positionals > 0 });
    if (parsed.positionals.length > positionals) {
      throw new UsageError(`Unexpected argument "${parsed.positionals[positionals]}".`);
    }
    // `--app ""` would otherwise mean "no filter" and `--browser ""` the default browser: say so instead.
    for (const [name, value] of Object.entries(parsed.values)) {
      if (typeof value === 'string' && value.trim() === '') throw new UsageError(`--${name} needs a value, not an empty one.`);
    }
    return parsed;
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new UsageError((err as Error).message);
  }
}

/**
 * Prints through the redactor. What a person entered and Xero named (names, reconnect addresses, notes: see
 * `userTextIn`) comes back as entered; only registered secrets and token shapes are taken out of it.
 */
function print(io: Io, json: boolean, value: unknown, human: () => string): void {
  const keep = userTextIn(value);
  io.out(redactSecrets(json ? JSON.stringify(value, null, 2) : human(), { keep: json ? withJsonForms(keep) : keep }));
}

/** Kept strings as they appear inside JSON text too (quotes, backslashes and line breaks escaped). */
function withJsonForms(keep: Set<string>): string[] {
  return [...keep].flatMap((k) => [k, JSON.stringify(k).slice(1, -1)]);
}

/** Longest sign-in wait: a day. Node's timers overflow past 2^31 − 1 ms (about 24.8 days) and fire at once. */
const MAX_TIMEOUT_SECONDS = 86_400;
const MAX_CONNECTION_CAP = 1_000_000;

/** A whole number from `min` to `max` for `--name`; anything else is a usage error that names both. */
function integer(name: string, text: string, min: number, max: number, what = 'a whole number'): number {
  const t = text.trim();
  const n = /^\d+$/.test(t) ? Number(t) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new UsageError(`--${name} takes ${what} from ${min} to ${max}, not "${text}".`);
  }
  return n;
}

/** A redirect port as registered in Xero (`http://127.0.0.1:PORT/callback`): 1024–65535, never a privileged port. */
function port(text: string): number {
  const t = text.trim();
  const n = /^\d+$/.test(t) ? Number(t) : Number.NaN;
  if (!Number.isInteger(n) || n < 1024 || n > 65_535) {
    throw new UsageError(
      `--redirect-ports takes ports from 1024 to 65535, the ones in the app's redirect URIs (http://127.0.0.1:PORT/callback in Xero's developer portal), not "${text}".`,
    );
  }
  return n;
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/**
 * `--issuer` / `--api-base`: an https address (http only on this computer: the sandbox), a host and at most a
 * path — what Xero's discovery document and API base look like. An http address elsewhere would send the
 * client secret and the tokens over the network in the clear, so it is refused here, not at the first connect.
 */
function serviceUrl(flag: 'issuer' | 'api-base', text: string): string {
  const t = text.trim();
  const example = flag === 'issuer' ? 'https://identity.xero.com' : 'https://api.xero.com';
  let u: URL;
  try {
    u = new URL(t);
  } catch {
    throw new UsageError(`--${flag} takes an address like ${example}, not "${text}".`);
  }
  if ((u.protocol !== 'https:' && u.protocol !== 'http:') || !u.hostname || !/^https?:\/\/[^/]/i.test(t)) {
    throw new UsageError(`--${flag} takes an address like ${example}, not "${text}".`);
  }
  if (u.username || u.password) throw new UsageError(`--${flag} must not carry a user name or password.`);
  if (u.protocol === 'http:' && !LOOPBACK_HOSTS.has(u.hostname)) {
    throw new UsageError(
      `--${flag} must be an https address like ${example}; http is allowed only on this computer (127.0.0.1, localhost or [::1], for the sandbox), not "${text}".`,
    );
  }
  if (u.search || u.hash || t.includes('?') || t.includes('#')) {
    throw new UsageError(`--${flag} is the service's address alone, like ${example}, without "?…" or "#…", not "${text}".`);
  }
  return t;
}

/** The option each field of an app comes from, so that every schema message names it. */
const APP_FLAGS: Record<string, string> = {
  name: '--name',
  clientId: '--client-id',
  authType: '--client-secret-stdin',
  issuer: '--issuer',
  apiBase: '--api-base',
  redirectPorts: '--redirect-ports',
  scopes: '--scopes',
  connectionCap: '--connection-cap',
  multiOrgConsent: '--multi-org-consent',
  createdBy: '--created-by',
};

/** Validates what `apps add` will send against the service's schema, in terms of the options typed. */
function checkAppInput(input: AddAppInput): void {
  const parsed = addAppInputSchema.safeParse(input);
  if (parsed.success) return;
  const lines = parsed.error.issues.map((i) => {
    const flag = APP_FLAGS[String(i.path[0])] ?? String(i.path[0] ?? 'apps add');
    if (i.code === 'too_big') {
      const unit = i.origin === 'string' ? ' characters' : i.origin === 'array' ? ' values' : '';
      return `${flag} takes at most ${String(i.maximum)}${unit}.`;
    }
    return `${flag}: ${i.message}`;
  });
  throw new UsageError([...new Set(lines)].join(' '));
}

export async function appsAdd(service: RelinkService, args: string[], io: Io): Promise<number> {
  const { values } = parse(args, {
    name: { type: 'string' },
    'client-id': { type: 'string' },
    'client-secret-stdin': { type: 'boolean', default: false },
    issuer: { type: 'string' },
    'api-base': { type: 'string' },
    'redirect-ports': { type: 'string' },
    scopes: { type: 'string' },
    'connection-cap': { type: 'string' },
    'multi-org-consent': { type: 'boolean', default: false },
    'created-by': { type: 'string' },
    json: { type: 'boolean', default: false },
  });
  if (!values.name) throw new UsageError('apps add needs --name.');
  if (!values['client-id']) throw new UsageError('apps add needs --client-id (Xero developer portal → My Apps → your app → Configuration).');
  let secret: string | null = null;
  if (values['client-secret-stdin']) {
    secret = (await io.readStdin()).trim();
    if (!secret) throw new UsageError('--client-secret-stdin was given but nothing arrived on standard input.');
    registerSecret(secret);
  }
  const ports = values['redirect-ports']?.split(',').map((p) => port(p));
  const input: AddAppInput = {
    name: values.name,
    clientId: values['client-id'],
    authType: secret ? 'web' : 'pkce',
    ...(values.issuer !== undefined ? { issuer: serviceUrl('issuer', values.issuer) } : {}),
    ...(values['api-base'] !== undefined ? { apiBase: serviceUrl('api-base', values['api-base']) } : {}),
    ...(ports ? { redirectPorts: ports } : {}),
    ...(values.scopes !== undefined ? { scopes: values.scopes.split(/\s+/).filter(Boolean) } : {}),
    ...(values['connection-cap'] !== undefined
      ? { connectionCap: integer('connection-cap', values['connection-cap'], 1, MAX_CONNECTION_CAP, 'the number of organisations the app may connect,') }
      : {}),
    multiOrgConsent: values['multi-org-consent'],
    ...(values['created-by'] !== undefined ? { createdBy: values['created-by'] } : {}),
  };
  checkAppInput(input);
  const app = await service.addApp(input, secret);
  print(io, values.json, app, () =>
    [`Added ${app.name} (${app.id}), ${app.authType === 'web' ? 'web app; its secret is in the keychain' : 'PKCE app'}.`, `Connect it with: relink connect ${app.id}`].join('\n'),
  );
  return EXIT.ok;
}

export function appsList(service: RelinkService, args: string[], io: Io): number {
  const { values } = parse(args, { json: { type: 'boolean', default: false } });
  const apps = service.apps();
  print(io, values.json, apps, () =>
    apps.length === 0
      ? 'No apps yet. Add one with: relink apps add --name NAME --client-id ID'
      : apps.map((a) => `${a.id}  ${a.name}  (${a.authType}, client id ${a.clientId}, ports ${a.redirectPorts.join(',')})`).join('\n'),
  );
  return EXIT.ok;
}

export async function connect(service: RelinkService, args: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(
    args,
    { browser: { type: 'string' }, timeout: { type: 'string', default: '300' }, json: { type: 'boolean', default: false } },
    1,
  );
  const appRef = positionals[0];
  if (!appRef) throw new UsageError('connect needs the app: relink connect APP (see relink apps list).');
  const timeoutMs = integer('timeout', values.timeout, 1, MAX_TIMEOUT_SECONDS, 'a whole number of seconds') * 1000;
  const how = browserFrom(values.browser, io);
  // An unknown app is a usage error, reported before anything suggests a browser is on its way.
  const app = service.findApp(appRef);
  const controller = new AbortController();
  void io.stopSignal().then(() => controller.abort());
  const report = await service.connect(app.id, {
    open: async (url) => {
      try {
        await openInBrowser(url, how);
      } catch (err) {
        // An address Relink refuses to open is not one to hand to the person either.
        if (!(err instanceof BrowserOpenError) || err.reason === 'refused-url') throw err;
        // The sign-in can still finish: the listener keeps waiting while the person opens the address themselves.
        io.err(`Relink could not open your web browser: ${err.detail}. (browser-failed)\nOpen this address yourself to approve the connection:\n${url}`);
      }
      if (!values.json) io.err('Waiting for the approval in the browser…');
    },
    timeoutMs,
    signal: controller.signal,
  });
  print(io, values.json, report, () => {
    const names = (list: Array<{ name: string }>) => list.map((o) => o.name).join(', ');
    const lines = [`Connected as ${report.staff.name}${report.staff.email ? ` (${report.staff.email})` : ''}.`];
    if (report.connected.length) lines.push(`Newly connected (${report.connected.length}): ${names(report.connected)}`);
    if (report.reconnected.length) lines.push(`Reconnected (${report.reconnected.length}): ${names(report.reconnected)}`);
    for (const m of report.stillMissing) lines.push(`Still missing: ${m.name} — ${m.reason}`);
    if (report.warning) lines.push(`Warning: ${report.warning}`);
    if (!report.connected.length && !report.reconnected.length) lines.push('Xero lists no organisations for this approval.');
    return lines.join('\n');
  });
  return EXIT.ok;
}

export async function check(service: RelinkService, args: string[], io: Io): Promise<number> {
  const { values } = parse(args, { app: { type: 'string' }, staff: { type: 'string' }, json: { type: 'boolean', default: false } });
  const summary = await service.check({
    ...(values.app ? { app: values.app } : {}),
    ...(values.staff ? { staff: values.staff } : {}),
  });
  const status = service.status();
  print(io, values.json, { summary, status }, () =>
    [
      `Checked ${summary.grants} grant${summary.grants === 1 ? '' : 's'}: ${summary.refreshed} refreshed, ${summary.transient} could not be reached (will retry), ${summary.revoked} refused by Xero, ${summary.appRejected} with rejected app credentials.`,
      humanStatus(status),
    ].join('\n'),
  );
  // A script must not need --json to notice that Xero refused a connection or an app in this pass. Transient
  // trouble is not a refusal: those grants are retried and nothing needs a person yet.
  return summary.revoked + summary.appRejected > 0 ? EXIT.notAuthorised : EXIT.ok;
}

export async function run(service: RelinkService, args: string[], io: Io): Promise<number> {
  parse(args, {});
  await service.run();
  const unsubscribe = service.onIncident((e) =>
    io.out(redactSecrets(`${new Date().toISOString()} ${e.kind === 'opened' ? 'Needs attention' : 'Recovered'}: ${e.incident.summary}`)),
  );
  const unwatch = service.onKeychainChange((state) =>
    io.out(
      `${new Date().toISOString()} ${
        state === 'available'
          ? 'The keychain is unlocked again: Relink carries on.'
          : `The keychain is ${KEYCHAIN_STATE_WORDS[state]}: Relink sends no refresh until it is back, and asks it again every few seconds. Nothing is lost.`
      }`,
    ),
  );
  const alive = service.status().grants.filter((g) => g.health !== 'needs-reconnect').length;
  io.out(`Relink is keeping ${alive} grant${alive === 1 ? '' : 's'} alive. Stop with Ctrl-C.`);
  const signal = await io.stopSignal();
  unsubscribe();
  unwatch();
  io.out(`Stopping (${signal})…`);
  return EXIT.ok;
}

export function status(service: RelinkService, args: string[], io: Io): number {
  const { values } = parse(args, { json: { type: 'boolean', default: false } });
  // The CLI's JSON is an edge like the window's: checked against the contract once, here.
  const snapshot = values.json ? statusSnapshotSchema.parse(service.status()) : service.status();
  print(io, values.json, snapshot, () => humanStatus(snapshot));
  return EXIT.ok;
}

/** Explaining needs no profile or keychain, so it takes the explainer itself rather than the service. */
export function explain(explainText: (text: string) => Explanation, args: string[], io: Io): number {
  const { values, positionals } = parse(args, { json: { type: 'boolean', default: false } }, 1);
  const text = positionals[0];
  if (!text) throw new UsageError('explain needs the error text in quotes: relink explain "invalid_grant"');
  const e = explainText(text);
  print(io, values.json, e, () =>
    [e.title, '', `What happened: ${e.whatHappened}`, `What to do: ${e.fix}`, ...(e.cause ? [`Cause: ${e.cause} (${e.confidence})`] : [])].join('\n'),
  );
  return EXIT.ok;
}

export function humanStatus(s: StatusSnapshot): string {
  const lines: string[] = [];
  if (s.keychain !== 'available') lines.push(`The keychain is ${KEYCHAIN_STATE_WORDS[s.keychain]}: unlock it to let Relink check connections.`);
  const counts = new Map<string, number>();
  for (const c of s.connections) counts.set(c.health, (counts.get(c.health) ?? 0) + 1);
  lines.push(
    `${s.apps.length} app${s.apps.length === 1 ? '' : 's'}, ${s.staff.length} staff, ${s.connections.length} connection${s.connections.length === 1 ? '' : 's'}` +
      (counts.size ? `: ${[...counts].map(([h, n]) => `${n} ${h}`).join(', ')}` : ''),
  );
  for (const i of s.incidents) {
    lines.push('', `• ${i.summary} (${i.confidence})`, `  ${i.fix.text}`);
    for (const ev of i.evidence) lines.push(`  – ${ev}`);
  }
  if (s.incidents.length === 0 && s.connections.length > 0) lines.push('Nothing needs attention.');
  return lines.join('\n');
}

/** Maps what went wrong to the message a person sees and the exit code a script sees (a typing mistake with the usage text). */
export function failureExit(err: unknown): { code: number; message: string } {
  if (err instanceof UsageError) return { code: EXIT.usage, message: `${err.message}\n\n${USAGE}` };
  return hostFailureExit(err);
}

// ── firm workflows (issue 5) ────────────────────────────────────────────────────────────────────────

/** CSV on a terminal: LF line ends throughout (`io.out` ends the last line itself), no byte order mark. */
const CLI_CSV = { lineEnding: 'lf' } as const;
/**
 * The CSV as the export built it: exports scrub registered secrets and token shapes themselves (csv.ts) and
 * leave the firm's own text alone, so the file imports back as it was.
 */
const csvOut = (csv: string) => csv.replace(/\n$/, '');

function humanPlan(plan: ReconnectPlan): string {
  const lines: string[] = [];
  const scope = plan.staff ? ` for ${plan.staff.name}${plan.staff.email && plan.staff.email !== plan.staff.name ? ` (${plan.staff.email})` : ''}` : '';
  const t = plan.totals;
  if (t.consents === 0 && t.tracked === 0) {
    lines.push(`Nothing needs reconnecting${scope}.`);
  } else {
    lines.push(
      `Reconnect plan${scope}: ${plural(t.consents, 'consent')} for ${plural(t.organisations, 'organisation')} across ${plural(t.apps, 'app')}` +
        (t.tracked ? `, then ${plural(t.tracked, 'third-party app')} to reconnect in their own settings.` : '.'),
    );
  }
  if (plan.countNote) lines.push(plan.countNote);
  for (const trigger of plan.triggers) lines.push(`Why: ${trigger.kind === 'declared' ? trigger.summary : `${trigger.summary} (noticed ${day(trigger.at)})`}`);
  if (plan.consents.length) {
    lines.push('', 'Consents:');
    plan.consents.forEach((c, i) => {
      const what = c.multiOrgConsent || c.orgIds.length > 1 ? `one consent for ${plural(c.orgIds.length, 'organisation')}` : c.organisations[0]?.name ?? c.orgIds[0];
      lines.push(`${String(i + 1).padStart(3)}. ${c.appName} as ${c.staffName} — ${what}`, `     ${c.instruction}`);
    });
  }
  if (plan.tracked.length) {
    lines.push('', 'Third-party apps to reconnect in their own settings:');
    for (const x of plan.tracked) {
      lines.push(`  [ ] ${x.app} — ${x.organisation}${x.reconnectUrl ? ` — ${x.reconnectUrl}` : ''}`);
    }
  }
  if (plan.notes.length) {
    lines.push('', 'Not in this plan:');
    for (const n of plan.notes) lines.push(`  - ${n}`);
  }
  if (plan.consents.length) lines.push('', "Give the consents in Relink's window (Bulk reconnect), which checks each one as it comes back.");
  return lines.join('\n');
}

export async function passwordChanged(service: RelinkService, args: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(args, { json: { type: 'boolean', default: false }, withdraw: { type: 'boolean', default: false } }, 1);
  const staff = positionals[0];
  if (!staff) throw new UsageError('password-changed needs the staff member: relink password-changed jane@firm.example');
  if (values.withdraw) {
    const after = await service.workflows.withdrawPasswordChange(staff);
    print(io, values.json, after, () =>
      [`Withdrawn: the report that ${after.staff ? after.staff.name : staff} changed their Xero password. Relink judges their connections on what Xero says again.`, '', humanPlan(after)].join('\n'),
    );
    return EXIT.ok;
  }
  const plan = await service.workflows.declarePasswordChanged(staff);
  print(io, values.json, plan, () => {
    const who = plan.staff ? plan.staff.name : staff;
    return [
      `Recorded: ${who}'s Xero password changed. Every connection they authorised needs their approval again.`,
      `(If that was a mistake: relink password-changed ${staff} --withdraw)`,
      '',
      humanPlan(plan),
    ].join('\n');
  });
  return EXIT.ok;
}

export function planReconnect(service: RelinkService, args: string[], io: Io): number {
  const { values } = parse(args, { staff: { type: 'string' }, json: { type: 'boolean', default: false } });
  const plan = service.workflows.planReconnect(values.staff ? { staff: values.staff } : {});
  print(io, values.json, plan, () => humanPlan(plan));
  return EXIT.ok;
}

function humanAudit(a: AuditReport): string {
  const name = (r: { name: string; email: string }) => `${r.name}${r.email && r.email !== r.name ? ` (${r.email})` : ''}`;
  const lines = [
    `Offboarding audit: ${name(a.staff)}, ${a.staff.status} — ${a.firmName}, ${day(a.generatedAt)}`,
    `Taking over: ${a.target ? name(a.target) : 'not chosen yet'}`,
    a.verdict === 'safe-to-remove'
      ? `Verdict: SAFE TO REMOVE — Relink verified that nothing depends on ${a.staff.name} any more (${a.progress.moved} of ${a.progress.total} moved).`
      : a.verdict === 'safe-by-override'
        ? `Verdict: SAFE TO REMOVE ONLY ON AN ADVISOR'S WORD — ${plural(a.progress.overridden, 'dependency', 'dependencies')} overridden, not verified (${a.progress.moved} of ${a.progress.total} moved).`
        : `Verdict: NOT SAFE to remove — ${plural(a.progress.remaining, 'dependency', 'dependencies')} remain (${a.progress.moved} of ${a.progress.total} moved).`,
  ];
  for (const o of a.overrides) lines.push(`  OVERRIDE: ${o}`);
  const moved = (x: { state: string; movedTo: { name: string } | null; movedAt: string | null }) =>
    x.state === 'moved' ? `moved${x.movedTo ? ` to ${x.movedTo.name}` : ''}${x.movedAt ? ` on ${day(x.movedAt)}` : ''}` : 'depends on them';
  lines.push('', `Connections through their approvals (${a.connections.length}):`);
  if (!a.connections.length) lines.push('  none');
  for (const c of a.connections) lines.push(`  ${c.appName} — ${c.organisation} — ${c.health} — ${moved(c)}`);
  lines.push('', `Apps they created in Xero's developer portal (${a.appsCreated.length}):`);
  if (!a.appsCreated.length) lines.push('  none');
  for (const x of a.appsCreated) {
    const state =
      x.state === 'moved'
        ? `${x.replacement ? `replaced by ${x.replacement.appName} (verified)` : (x.how ?? 'done')}${x.movedAt ? ` on ${day(x.movedAt)}` : ''}`
        : x.state === 'overridden'
          ? `${x.how ?? 'done'} — OVERRIDE, not verified${x.movedAt ? `, ${day(x.movedAt)}` : ''}`
          : 'depends on them';
    lines.push(`  ${x.appName} — ${plural(x.organisations, 'organisation')} — ${state}`);
    if (x.state === 'depends') lines.push(`    ${x.guidance}`);
  }
  lines.push('', `Third-party connections they authorised (${a.tracked.length}):`);
  if (!a.tracked.length) lines.push('  none');
  for (const t of a.tracked) lines.push(`  ${t.app} — ${t.organisation} — ${t.health} — ${moved(t)}`);
  if (a.reasons.length) {
    lines.push('', 'What still depends on them:');
    for (const r of a.reasons) lines.push(`  - ${r}`);
  }
  if (a.warnings.length) {
    lines.push('', 'Warnings:');
    for (const w of a.warnings) lines.push(`  - ${day(w.at)}: ${w.message}`);
  }
  return lines.join('\n');
}

export function auditStaff(service: RelinkService, args: string[], io: Io): number {
  const { values, positionals } = parse(args, { json: { type: 'boolean', default: false }, csv: { type: 'boolean', default: false } }, 1);
  const staff = positionals[0];
  if (!staff) throw new UsageError('audit staff needs the staff member: relink audit staff jane@firm.example');
  if (values.json && values.csv) throw new UsageError('Choose one of --json and --csv.');
  if (values.csv) {
    io.out(csvOut(service.workflows.auditCsv(staff, CLI_CSV)));
    return EXIT.ok;
  }
  const audit = service.workflows.auditStaff(staff);
  print(io, values.json, audit, () => humanAudit(audit));
  return EXIT.ok;
}

const rowLabel = (r: { line: number; row: number }) => (r.row === r.line ? `line ${r.line}` : `line ${r.line} (row ${r.row})`);

function rejectedLines(rows: RejectedRow[]): string[] {
  return rows.map((r) => `  ${rowLabel(r)}: ${r.reasons.join('; ')}`);
}

export async function trackedImport(service: RelinkService, args: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(args, { 'skip-invalid': { type: 'boolean', default: false }, json: { type: 'boolean', default: false } }, 1);
  const file = positionals[0];
  if (!file) throw new UsageError('tracked import needs the CSV file: relink tracked import inventory.csv');
  // A regular file of at most 5 MB, checked before reading (a named pipe, /dev/zero, a huge file are refused).
  const read = await readImportFile(file);
  if (!read.ok && read.usage) throw new UsageError(read.reason);
  const decoded = read.ok ? decodeCsvBytes(read.bytes) : { ok: false as const, reason: read.reason };
  let result: TrackedImportResult;
  if (!decoded.ok) {
    result = { fileError: decoded.reason, accepted: [], rejected: [], rows: 0, committed: false, imported: [], skipped: 0, message: `Nothing was imported. ${decoded.reason}` };
  } else {
    result = await service.workflows.importTracked(decoded.text, { skipInvalid: values['skip-invalid'] });
  }
  if (values.json) {
    print(io, true, result, () => '');
  } else if (!result.committed) {
    io.err(redactSecrets([result.message, ...(result.rejected.length ? ['', 'Rows with problems:', ...rejectedLines(result.rejected)] : [])].join('\n'), { keep: userTextIn(result) }));
  } else {
    const lines = [result.message];
    if (result.rejected.length) lines.push('', 'Skipped rows:', ...rejectedLines(result.rejected));
    io.out(redactSecrets(lines.join('\n'), { keep: userTextIn(result) }));
  }
  return result.committed ? EXIT.ok : EXIT.failure;
}

export function trackedExport(service: RelinkService, args: string[], io: Io): number {
  parse(args, {});
  io.out(csvOut(service.workflows.exportTrackedCsv(CLI_CSV)));
  return EXIT.ok;
}

export async function exportActivity(service: RelinkService, args: string[], io: Io): Promise<number> {
  const { values } = parse(args, { from: { type: 'string' }, to: { type: 'string' }, csv: { type: 'boolean', default: false } });
  if (!values.from || !values.to) throw new UsageError('export activity needs --from and --to: relink export activity --from 2026-03-01 --to 2026-03-31 --csv');
  // CSV is the only format; --csv is accepted so scripts can say what they expect.
  io.out(csvOut(await service.workflows.exportActivityCsv({ from: values.from, to: values.to }, CLI_CSV)));
  return EXIT.ok;
}
