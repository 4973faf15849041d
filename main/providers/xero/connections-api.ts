import { z } from 'zod';
import type { Clock } from '../../core/clock.js';
import type { Failure } from '../../../shared/domain.js';
import { accountingUrl, connectionsUrl, connectionUrl } from './endpoints.js';
import { estimateSkewMs, parseHttpDate } from '../../core/http-date.js';
import { classifyApiResponse, classifyFetchError, headerValue } from './errors.js';

/**
 * Xero's connections API (`GET /connections[?authEventId=]`, `DELETE /connections/{id}`) and a one-tenant
 * probe of the accounting API (xero-protocol.md §1, §4.2, §5.2). Every answer is either data validated
 * against Xero's shape or a classified `Failure`; the access token goes into the Authorization header and
 * nowhere else.
 */

export const DEFAULT_TIMEOUT_MS = 30_000;

/**
 * Parses Xero's dates as UTC: the identity API's .NET round-trip form without a kind
 * (`2019-12-07T18:46:19.5165400`, seven fractional digits, no `Z`), the same with `Z` or an offset, and the
 * accounting API's `/Date(1575744379516+0000)/`. Returns epoch milliseconds, or null when unreadable.
 */
export function parseXeroDate(text: string): number | null {
  const s = text.trim();
  const dotNetJson = /^\/Date\((-?\d+)([+-]\d{4})?\)\/$/.exec(s);
  if (dotNetJson) return Number(dotNetJson[1]);
  const m = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:?\d{2})?$/i.exec(s);
  if (!m) return null;
  const [, y, mo, d, h, mi, sec = '0', frac = '', zone] = m;
  const ms = Number((frac + '000').slice(0, 3));
  const month = Number(mo);
  const day = Number(d);
  const hours = Number(h);
  const minutes = Number(mi);
  const secs = Number(sec);
  if (month < 1 || month > 12 || day < 1 || day > 31 || hours > 23 || minutes > 59 || secs > 59) return null;
  let t = Date.UTC(Number(y), month - 1, day, hours, minutes, secs, ms);
  // Reject dates that rolled over (31 February).
  if (new Date(t).getUTCDate() !== day) return null;
  if (zone && zone.toUpperCase() !== 'Z') {
    const z = /^([+-])(\d{2}):?(\d{2})$/.exec(zone)!;
    const offset = (Number(z[2]) * 60 + Number(z[3])) * 60_000;
    t -= z[1] === '+' ? offset : -offset;
  }
  return t;
}

const xeroDate = z.string().refine((s) => parseXeroDate(s) !== null, { message: 'not a date Xero would send' });

/** One item of `GET /connections`, as Xero sends it (xero-identity.yaml `Connection`). */
export const xeroConnectionWireSchema = z.object({
  id: z.guid(),
  // Both are in today's answers; Xero's 2020 recordings lacked them, so their absence is tolerated.
  authEventId: z.guid().nullish(),
  tenantId: z.guid(),
  tenantType: z.string().min(1),
  tenantName: z.string().nullish(),
  createdDateUtc: xeroDate,
  updatedDateUtc: xeroDate,
});

export const xeroConnectionsWireSchema = z.array(xeroConnectionWireSchema);

export interface XeroConnection {
  id: string;
  /** '' when Xero did not send one. */
  authEventId: string;
  tenantId: string;
  tenantType: string;
  tenantName: string | null;
  /** As Xero sent them (the store keeps these strings). */
  createdDateUtc: string;
  updatedDateUtc: string;
  /** The same dates parsed as UTC, epoch milliseconds. */
  createdAt: number;
  updatedAt: number;
}

/** Xero's allowance headers (every API response carries some of them). Null where absent. */
export interface RateLimitRemaining {
  day: number | null;
  minute: number | null;
  appMinute: number | null;
}

/** What every answered call reports about time: the server's `Date` and this computer's estimated error. */
interface Timing {
  /** The server's `Date` header, epoch ms, or null. */
  serverDate: number | null;
  /** Server minus local, ms (positive: this computer is behind); null without a `Date`. */
  skewMs: number | null;
}

export type ApiFailure = { ok: false; failure: Failure; limits: RateLimitRemaining | null } & Timing;

export type ListResult = ({ ok: true; connections: XeroConnection[] } & Timing) | ApiFailure;
export type RemoveResult = ({ ok: true; removed: boolean } & Timing) | ApiFailure;
export type ProbeResult = ({ ok: true; limits: RateLimitRemaining; organisationName: string | null } & Timing) | ApiFailure;

export interface XeroConnectionsApiOptions {
  /** Per-request deadline (connect, headers and body), default 30 s. */
  timeoutMs?: number;
}

interface CallOptions {
  signal?: AbortSignal;
}

type Answered = { status: number; headers: Headers; body: string } & Timing;

export class XeroConnectionsApi {
  readonly #fetch: typeof fetch;
  readonly #apiBase: string;
  readonly #clock: Clock;
  readonly #timeoutMs: number;

  constructor(fetchImpl: typeof fetch, apiBase: string, clock: Clock, options: XeroConnectionsApiOptions = {}) {
    this.#fetch = fetchImpl;
    this.#apiBase = apiBase;
    this.#clock = clock;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    if (!(this.#timeoutMs > 0)) throw new Error('timeoutMs must be a positive number of milliseconds.');
  }

  /** `GET /connections`: every organisation this token's user has connected to this app (filtered by auth event). */
  async list(accessToken: string, opts: { authEventId?: string } & CallOptions = {}): Promise<ListResult> {
    const answer = await this.#call('GET', connectionsUrl(this.#apiBase, opts.authEventId), accessToken, null, opts.signal);
    if ('failure' in answer) return answer;
    const failed = this.#failed(answer);
    if (failed) return failed;
    let json: unknown;
    try {
      json = JSON.parse(answer.body);
    } catch {
      return this.#malformed(answer, `${answer.status} connections list that is not valid JSON`);
    }
    const parsed = xeroConnectionsWireSchema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue && issue.path.length ? ` (${issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : String(p))).join('.')})` : '';
      return this.#malformed(answer, `${answer.status} connections list in an unexpected shape${where}`);
    }
    const connections = parsed.data.map(
      (c): XeroConnection => ({
        id: c.id,
        authEventId: c.authEventId ?? '',
        tenantId: c.tenantId,
        tenantType: c.tenantType,
        tenantName: c.tenantName ?? null,
        createdDateUtc: c.createdDateUtc,
        updatedDateUtc: c.updatedDateUtc,
        createdAt: parseXeroDate(c.createdDateUtc)!,
        updatedAt: parseXeroDate(c.updatedDateUtc)!,
      }),
    );
    return { ok: true, connections, serverDate: answer.serverDate, skewMs: answer.skewMs };
  }

  /**
   * `DELETE /connections/{connectionId}` — the connection `id`, not a tenantId or authEventId. `removed: false`
   * when Xero no longer knew it (404): the outcome the caller wanted either way.
   */
  async remove(accessToken: string, connectionId: string, opts: CallOptions = {}): Promise<RemoveResult> {
    const answer = await this.#call('DELETE', connectionUrl(this.#apiBase, connectionId), accessToken, null, opts.signal);
    if ('failure' in answer) return answer;
    if (answer.status === 404) return { ok: true, removed: false, serverDate: answer.serverDate, skewMs: answer.skewMs };
    const failed = this.#failed(answer);
    if (failed) return failed;
    return { ok: true, removed: true, serverDate: answer.serverDate, skewMs: answer.skewMs };
  }

  /** Xero's probes need `accounting.settings[.read]` (the Organisation) or a reports scope (the balance sheet). */
  canProbe(scopes: readonly string[]): boolean {
    return probesFor(scopes).organisation || probesFor(scopes).report;
  }

  /**
   * Every role may read the Organisation; only a report shows a role too narrow for the app (invoice-only), so
   * a tenant is probed with whichever of the two the app's scopes allow, the Organisation first.
   */
  async probe(accessToken: string, tenantId: string, scopes: readonly string[], opts: CallOptions = {}): Promise<ProbeResult> {
    const which = probesFor(scopes);
    if (which.organisation) {
      const r = await this.organisation(accessToken, tenantId, opts);
      if (!r.ok || !which.report) return r;
    }
    // Only called when `canProbe`: without the Organisation probe, the report is the one the scopes allow.
    return this.reportProbe(accessToken, tenantId, opts);
  }

  /**
   * Probes one tenant with `GET /api.xro/2.0/Organisation` (every role may read it; needs
   * `accounting.settings[.read]`): ok, or why this tenant cannot be reached with this token.
   */
  async organisation(accessToken: string, tenantId: string, opts: CallOptions = {}): Promise<ProbeResult> {
    return this.#probe('Organisation', accessToken, tenantId, opts, (json) => {
      const orgs = (json as { Organisations?: Array<{ Name?: unknown }> } | null)?.Organisations;
      const name = Array.isArray(orgs) ? orgs[0]?.Name : undefined;
      return typeof name === 'string' ? name : null;
    });
  }

  /**
   * Probes one tenant with `GET /api.xro/2.0/Reports/BalanceSheet`: a report narrow roles (invoice-only)
   * cannot run, so it tells a role too narrow (`role-restricted`) from a missing scope (`insufficient-scope`).
   */
  async reportProbe(accessToken: string, tenantId: string, opts: CallOptions = {}): Promise<ProbeResult> {
    return this.#probe('Reports/BalanceSheet', accessToken, tenantId, opts, () => null);
  }

  async #probe(
    resource: string,
    accessToken: string,
    tenantId: string,
    opts: CallOptions,
    name: (json: unknown) => string | null,
  ): Promise<ProbeResult> {
    const answer = await this.#call('GET', accountingUrl(this.#apiBase, resource), accessToken, tenantId, opts.signal);
    if ('failure' in answer) return answer;
    const failed = this.#failed(answer);
    if (failed) return failed;
    let json: unknown;
    try {
      json = JSON.parse(answer.body);
    } catch {
      return this.#malformed(answer, `${answer.status} ${resource} answer that is not valid JSON`);
    }
    return { ok: true, limits: limitsOf(answer.headers), organisationName: name(json), serverDate: answer.serverDate, skewMs: answer.skewMs };
  }

  async #call(
    method: 'GET' | 'DELETE',
    url: string,
    accessToken: string,
    tenantId: string | null,
    signal: AbortSignal | undefined,
  ): Promise<Answered | ApiFailure> {
    const headers: Record<string, string> = { accept: 'application/json', authorization: `Bearer ${accessToken}` };
    if (tenantId) headers['xero-tenant-id'] = tenantId;
    const deadline = AbortSignal.timeout(this.#timeoutMs);
    const sentAt = this.#clock.now();
    try {
      const res = await this.#fetch(url, { method, headers, signal: signal ? AbortSignal.any([deadline, signal]) : deadline, redirect: 'manual' });
      const body = await res.text();
      const receivedAt = this.#clock.now();
      const date = res.headers.get('date');
      return { status: res.status, headers: res.headers, body, serverDate: parseHttpDate(date), skewMs: estimateSkewMs(date, sentAt, receivedAt) };
    } catch (error) {
      const timedOut = deadline.aborted && !signal?.aborted;
      const failure = classifyFetchError(timedOut ? timeoutError() : error, this.#clock.now(), this.#timeoutMs);
      return { ok: false, failure, limits: null, serverDate: null, skewMs: null };
    }
  }

  #failed(answer: Answered): ApiFailure | null {
    const failure = classifyApiResponse(answer.status, answer.headers, answer.body, this.#clock.now());
    if (failure) return { ok: false, failure, limits: limitsOf(answer.headers), serverDate: answer.serverDate, skewMs: answer.skewMs };
    // A 3xx is not an answer Xero's API gives (redirects are not followed: a bearer token must not travel on).
    if (answer.status < 200 || answer.status >= 300) return this.#malformed(answer, `${answer.status} unexpected answer`);
    return null;
  }

  #malformed(answer: Answered, detail: string): ApiFailure {
    return {
      ok: false,
      failure: { kind: 'malformed-response', at: new Date(this.#clock.now()).toISOString(), detail, httpStatus: answer.status },
      limits: limitsOf(answer.headers),
      serverDate: answer.serverDate,
      skewMs: answer.skewMs,
    };
  }
}

function timeoutError(): Error {
  const e = new Error('timeout');
  e.name = 'TimeoutError';
  return e;
}

function limitsOf(headers: Headers): RateLimitRemaining {
  const n = (name: string) => {
    const v = headerValue(headers, name);
    return v !== null && /^\d+$/.test(v.trim()) ? Number(v) : null;
  };
  return { day: n('x-daylimit-remaining'), minute: n('x-minlimit-remaining'), appMinute: n('x-appminlimit-remaining') };
}

/** Which of Xero's probes an app's scopes allow (the granular reports scope included). */
function probesFor(scopes: readonly string[]): { organisation: boolean; report: boolean } {
  return {
    organisation: scopes.some((s) => s === 'accounting.settings' || s === 'accounting.settings.read'),
    report: scopes.some((s) => s === 'accounting.reports.read' || s === 'accounting.reports.balancesheet.read'),
  };
}
