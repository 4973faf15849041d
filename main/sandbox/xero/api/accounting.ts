import { randomUUID } from 'node:crypto';
import type { SandboxContext } from '../context.js';
import { hasAnyScope } from '../context.js';
import { json, type SbOutcome, type SbRequest } from '../../http/types.js';
import type { Role } from '../world.js';
import { authenticateAccessToken } from './access-token.js';
import { forbidden, problem, unauthorized } from './problem.js';

/** Accounting endpoints the sandbox serves: which scopes open them, and which roles may use them. */
interface Endpoint {
  scopes: string[];
  roles: Role[];
  body: (ctx: SandboxContext, tenantId: string) => unknown;
}

const ALL_ROLES: Role[] = ['adviser', 'standard', 'invoice-only', 'read-only'];

function envelope(ctx: SandboxContext, key: string, items: unknown[]) {
  return {
    Id: ctx.world.ids.uuid(),
    Status: 'OK',
    ProviderName: 'Relink sandbox',
    DateTimeUTC: `/Date(${ctx.clock.now()})/`,
    [key]: items,
  };
}

const ENDPOINTS: Record<string, Endpoint> = {
  organisation: {
    scopes: ['accounting.settings', 'accounting.settings.read'],
    roles: ALL_ROLES,
    body: (ctx, tenantId) => {
      const org = ctx.world.org(tenantId);
      return envelope(ctx, 'Organisations', [
        {
          OrganisationID: org.tenantId,
          APIKey: '',
          Name: org.name,
          LegalName: org.name,
          PaysTax: true,
          Version: 'NZ',
          OrganisationType: 'COMPANY',
          BaseCurrency: 'NZD',
          CountryCode: 'NZ',
          IsDemoCompany: false,
          OrganisationStatus: 'ACTIVE',
          FinancialYearEndDay: 31,
          FinancialYearEndMonth: 3,
          CreatedDateUTC: `/Date(${org.createdAt})/`,
          OrganisationEntityType: 'COMPANY',
          Class: 'STANDARD',
          Edition: 'BUSINESS',
        },
      ]);
    },
  },
  // A report that a narrow role cannot run: how "role too narrow" shows up for a connection.
  'reports/balancesheet': {
    scopes: ['accounting.reports.read', 'accounting.reports.balancesheet.read'],
    roles: ['adviser', 'standard', 'read-only'],
    body: (ctx, tenantId) =>
      envelope(ctx, 'Reports', [
        { ReportID: 'BalanceSheet', ReportName: 'Balance Sheet', ReportType: 'BalanceSheet', ReportTitles: ['Balance Sheet', ctx.world.org(tenantId).name], Rows: [] },
      ]),
  },
};

/**
 * `/api.xro/2.0/…` behind Xero's gate, in the order of xero-protocol.md §11.6: token (401 TokenExpired or
 * AuthenticationUnsuccessful), tenant (403), scope (401 AuthorizationUnsuccessful with
 * `WWW-Authenticate: insufficient_scope`), role (401 AuthorizationUnsuccessful without that header), then the
 * rate limiter (429 with `X-Rate-Limit-Problem` and, for the minute and day limits, `Retry-After`).
 */
export async function accountingApi(ctx: SandboxContext, req: SbRequest, resource: string): Promise<SbOutcome> {
  const auth = await authenticateAccessToken(ctx, req);
  if (!auth.ok) return withAppMinuteRemaining(ctx, auth.outcome, auth.clientId);
  const endpoint = ENDPOINTS[resource.toLowerCase()];
  if (!endpoint) return problem(404, 'Not Found', `The resource ${resource} is not served by the sandbox.`);
  const { family } = auth;
  const app = ctx.world.apps.get(family.clientId)!;
  const tenantId = req.headers['xero-tenant-id']?.trim().toLowerCase() ?? null;
  const idle = ctx.limits.peek(app.clientId, tenantId, app.tier);
  const connected = ctx.world.connectionsOf(family.userId, family.clientId).some((c) => c.tenantId === tenantId);
  if (!tenantId || !connected) return forbidden(idle);
  if (!hasAnyScope(auth.scopes, endpoint.scopes)) {
    return unauthorized('AuthorizationUnsuccessful', { ...idle, 'www-authenticate': 'insufficient_scope' });
  }
  const role = ctx.world.user(family.userId).roles.get(tenantId);
  if (!role) return forbidden(idle);
  if (!endpoint.roles.includes(role)) return unauthorized('AuthorizationUnsuccessful', idle);

  const slot = ctx.limits.acquire(app.clientId, tenantId, app.tier);
  if (!slot.ok) {
    const headers: Record<string, string> = { ...slot.headers, 'x-rate-limit-problem': slot.problem };
    if (slot.retryAfter !== null) headers['retry-after'] = String(slot.retryAfter);
    return problem(429, 'Too Many Requests', `Rate limit exceeded: ${slot.problem}`, headers);
  }
  try {
    if (ctx.settings.apiLatencyMs > 0) await new Promise((r) => setTimeout(r, ctx.settings.apiLatencyMs));
    return json(200, endpoint.body(ctx, tenantId), { ...slot.headers, 'xero-correlation-id': randomUUID() });
  } finally {
    slot.release();
  }
}

/**
 * Xero puts `X-AppMinLimit-Remaining` on every API response, token refusals included (xero-protocol.md §5.4:
 * a captured 401 carried only that header). When the token names its app, the app's own window is shown;
 * a token that names no app has spent nothing, so the whole allowance is.
 */
function withAppMinuteRemaining(ctx: SandboxContext, outcome: SbOutcome, clientId: string | null): SbOutcome {
  if (outcome.kind !== 'respond') return outcome;
  const app = clientId ? ctx.world.apps.get(clientId) : undefined;
  const headers = app
    ? ctx.limits.peek(app.clientId, null, app.tier)
    : { 'x-appminlimit-remaining': String(ctx.settings.appMinuteLimit) };
  return { ...outcome, headers: { ...outcome.headers, ...headers } };
}
