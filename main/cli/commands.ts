import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { StatusSnapshot } from '../../shared/api.js';
import { redactSecrets } from '../core/redact.js';
import { openInBrowser, type BrowserHow } from '../oauth/browser.js';
import type { Explanation } from '../providers/xero/explain.js';
import { ServiceError, type RelinkService } from '../service/relink-service.js';

/**
 * The `relink` commands. Each takes its own arguments, talks to the service and prints either plain words
 * for a person or, with `--json`, one JSON document for scripts. Nothing printed can contain a token or
 * secret: everything goes through the redactor on its way out.
 */

export const EXIT = {
  ok: 0,
  failure: 1,
  usage: 2,
  keychain: 3,
  unreachable: 4,
  notAuthorised: 5,
} as const;

export class UsageError extends Error {}

export interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
  readStdin: () => Promise<string>;
  /** Resolves when the user asks the process to stop (SIGINT/SIGTERM). */
  stopSignal: () => Promise<string>;
}

export const USAGE = `Usage: relink [--data-dir DIR] [--keychain-service NAME] <command> [options]

Commands:
  apps add --name NAME --client-id ID [--client-secret-stdin] [--issuer URL] [--api-base URL]
           [--redirect-ports 5001,5002] [--scopes "…"] [--connection-cap N] [--multi-org-consent]
           [--created-by EMAIL] [--json]
  apps list [--json]
  connect APP [--browser CMD|none] [--timeout SECONDS] [--json]
  check [--app APP] [--staff EMAIL] [--json]
  run
  status [--json]
  explain "ERROR TEXT" [--json]

Global options (or environment): --data-dir (RELINK_DATA_DIR), --keychain-service (RELINK_KEYCHAIN_SERVICE).
Exit codes: 0 ok, 1 failure, 2 usage, 3 keychain locked or unavailable, 4 Xero unreachable, 5 not authorised.`;

function parse<T extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: T, positionals = 0) {
  try {
    const parsed = parseArgs({ args, options, strict: true, allowPositionals: positionals > 0 });
    if (parsed.positionals.length > positionals) {
      throw new UsageError(`Unexpected argument "${parsed.positionals[positionals]}".`);
    }
    return parsed;
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new UsageError((err as Error).message);
  }
}

function print(io: Io, json: boolean, value: unknown, human: () => string): void {
  io.out(redactSecrets(json ? JSON.stringify(value, null, 2) : human()));
}

function integer(name: string, text: string): number {
  if (!/^\d+$/.test(text)) throw new UsageError(`--${name} takes a whole number, not "${text}".`);
  return Number(text);
}

/** A redirect port as registered in Xero (`http://127.0.0.1:PORT/callback`): 1024–65535, never a privileged port. */
function port(text: string): number {
  const n = integer('redirect-ports', text);
  if (n < 1024 || n > 65_535) {
    throw new UsageError(
      `--redirect-ports takes ports from 1024 to 65535, the ones in the app's redirect URIs (http://127.0.0.1:PORT/callback in Xero's developer portal), not ${text}.`,
    );
  }
  return n;
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
  }
  const ports = values['redirect-ports']?.split(',').map((p) => port(p.trim()));
  for (const name of ['issuer', 'api-base'] as const) {
    const url = values[name];
    if (url !== undefined && !/^https?:\/\/[^/]/i.test(url.trim())) {
      throw new UsageError(`--${name} takes an address like https://identity.xero.com, not "${url}".`);
    }
  }
  const app = await service.addApp(
    {
      name: values.name,
      clientId: values['client-id'],
      authType: secret ? 'web' : 'pkce',
      ...(values.issuer ? { issuer: values.issuer } : {}),
      ...(values['api-base'] ? { apiBase: values['api-base'] } : {}),
      ...(ports ? { redirectPorts: ports } : {}),
      ...(values.scopes ? { scopes: values.scopes.split(/\s+/).filter(Boolean) } : {}),
      ...(values['connection-cap'] ? { connectionCap: integer('connection-cap', values['connection-cap']) } : {}),
      multiOrgConsent: values['multi-org-consent'],
      ...(values['created-by'] ? { createdBy: values['created-by'] } : {}),
    },
    secret,
  );
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

export function browserFrom(spec: string | undefined, io: Io): BrowserHow {
  if (!spec) return { kind: 'system' };
  if (spec === 'none') {
    return { kind: 'none', print: (url) => io.err(`Open this address in a browser to approve the connection:\n${url}`) };
  }
  return { kind: 'command', command: spec };
}

export async function connect(service: RelinkService, args: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(
    args,
    { browser: { type: 'string' }, timeout: { type: 'string', default: '300' }, json: { type: 'boolean', default: false } },
    1,
  );
  const appRef = positionals[0];
  if (!appRef) throw new UsageError('connect needs the app: relink connect APP (see relink apps list).');
  const timeoutMs = integer('timeout', values.timeout) * 1000;
  // An unknown app is a usage error, reported before anything suggests a browser is on its way.
  const app = service.findApp(appRef);
  const how = browserFrom(values.browser, io);
  const controller = new AbortController();
  void io.stopSignal().then(() => controller.abort());
  const report = await service.connect(app.id, {
    open: async (url) => {
      await openInBrowser(url, how);
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
  return EXIT.ok;
}

export async function run(service: RelinkService, args: string[], io: Io): Promise<number> {
  parse(args, {});
  await service.run();
  const unsubscribe = service.onIncident((e) =>
    io.out(redactSecrets(`${new Date().toISOString()} ${e.kind === 'opened' ? 'Needs attention' : 'Recovered'}: ${e.incident.summary}`)),
  );
  const alive = service.status().grants.filter((g) => g.health !== 'needs-reconnect').length;
  io.out(`Relink is keeping ${alive} grant${alive === 1 ? '' : 's'} alive. Stop with Ctrl-C.`);
  const signal = await io.stopSignal();
  unsubscribe();
  io.out(`Stopping (${signal})…`);
  return EXIT.ok;
}

export function status(service: RelinkService, args: string[], io: Io): number {
  const { values } = parse(args, { json: { type: 'boolean', default: false } });
  const snapshot = service.status();
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
  if (s.keychain !== 'available') lines.push(`The keychain is ${s.keychain}: unlock it to let Relink check connections.`);
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

/** Maps what went wrong to the message a person sees and the exit code a script sees. */
export function failureExit(err: unknown): { code: number; message: string } {
  if (err instanceof UsageError) return { code: EXIT.usage, message: `${err.message}\n\n${USAGE}` };
  if (err instanceof ServiceError) {
    const code =
      err.code === 'usage' || err.code === 'not-found'
        ? EXIT.usage
        : err.code === 'keychain'
          ? EXIT.keychain
          : err.code === 'unreachable'
            ? EXIT.unreachable
            : err.code === 'not-authorised'
              ? EXIT.notAuthorised
              : EXIT.failure;
    return { code, message: err.message };
  }
  const e = err as Error & { reason?: string };
  if (e?.name === 'BrowserOpenError') return { code: EXIT.usage, message: e.message };
  return { code: EXIT.failure, message: `Relink stopped on an unexpected error: ${e?.message ?? String(err)}` };
}
