import type { SandboxContext } from '../context.js';
import { OIDC_SCOPES } from '../context.js';
import { html, readForm, redirect, type SbOutcome, type SbRequest } from '../../http/types.js';
import type { ArrangedConsent } from '../world.js';
import type { AuthorizeParams } from './consent-requests.js';
import { connectionLimitPage, consentPage, errorPage, loginPage, type ConsentChoice } from './pages.js';
import { redirectUriAllowed, withParams } from './redirect-uris.js';

const CHALLENGE = /^[A-Za-z0-9_-]{43}$/;

function errorRedirect(p: { redirectUri: string; state: string | null }, error: string, description?: string): SbOutcome {
  return redirect(withParams(p.redirectUri, { error, error_description: description ?? null, state: p.state }));
}

/**
 * `GET /connect/authorize`. A bad client, redirect URI or scope shows an error page and never redirects
 * (an attacker must not be able to bounce users to arbitrary URIs); other mistakes redirect back with an
 * `error`. A consent arranged through the control API completes at once, with no page.
 */
export async function authorize(ctx: SandboxContext, req: SbRequest): Promise<SbOutcome> {
  const q = req.url.searchParams;
  const clientId = q.get('client_id') ?? '';
  const app = ctx.world.apps.get(clientId);
  if (!app) return html(400, errorPage('unauthorized_client', 'Unknown client or client not enabled'));
  const redirectUri = q.get('redirect_uri') ?? '';
  if (!redirectUriAllowed(app.redirectUris, redirectUri, ctx.settings)) {
    return html(400, errorPage('unauthorized_client', 'Invalid redirect_uri'));
  }
  const scopes = (q.get('scope') ?? '').split(' ').filter(Boolean);
  const allowed = new Set<string>([...OIDC_SCOPES, ...app.scopes]);
  if (scopes.length === 0 || scopes.some((s) => !allowed.has(s))) {
    return html(400, errorPage('unauthorized_client', 'Invalid scope for client'));
  }
  const state = q.get('state');
  const back = { redirectUri, state };
  if (q.get('response_type') !== 'code') return errorRedirect(back, 'unsupported_response_type');
  if (!state && ctx.settings.requireState) return errorRedirect(back, 'invalid_request', 'state is required');
  const challenge = q.get('code_challenge');
  const method = q.get('code_challenge_method');
  if (app.type === 'pkce' && !challenge) return errorRedirect(back, 'invalid_request', 'code challenge required');
  if (challenge && method !== 'S256') return errorRedirect(back, 'invalid_request', 'transform algorithm not supported');
  if (challenge && !CHALLENGE.test(challenge)) return errorRedirect(back, 'invalid_request', 'invalid code_challenge');

  const params: AuthorizeParams = { clientId, redirectUri, scopes, state, codeChallenge: challenge, nonce: q.get('nonce') };
  const arranged = ctx.world.takeArrangedConsent(clientId);
  if (arranged) return completeConsent(ctx, params, arranged);

  const handle = ctx.consentRequests.open(params);
  return html(200, loginPage(handle, app, [...ctx.world.users.values()]));
}

/** `POST /identity/login`: the person picks who they are; the consent page follows. */
export function login(ctx: SandboxContext, req: SbRequest): SbOutcome {
  const form = readForm(req);
  const handle = form?.get('req') ?? '';
  const pending = ctx.consentRequests.get(handle);
  if (!form || !pending) return html(400, errorPage('invalid_request', 'This login page has expired. Start again from the app.'));
  const app = ctx.world.apps.get(pending.params.clientId);
  if (!app) return html(400, errorPage('unauthorized_client', 'Unknown client or client not enabled'));
  const user = ctx.world.userByEmail(form.get('email') ?? '');
  if (!user) return html(200, loginPage(handle, app, [...ctx.world.users.values()], 'Choose a staff member to log in as.'));
  pending.userId = user.userId;
  return redirect(`/connect/authorize/consent?req=${encodeURIComponent(handle)}`, 303);
}

function choicesFor(ctx: SandboxContext, clientId: string, userId: string): ConsentChoice[] {
  const user = ctx.world.user(userId);
  const connected = new Set(ctx.world.connectionsOf(userId, clientId).map((c) => c.tenantId));
  const appTenants = ctx.world.connectedTenants(clientId);
  const cap = ctx.world.connectionCap(ctx.world.app(clientId));
  const full = cap !== null && appTenants.size >= cap;
  return [...user.roles]
    .map(([tenantId, role]) => ({
      org: ctx.world.org(tenantId),
      role,
      connected: connected.has(tenantId),
      overCap: full && !appTenants.has(tenantId),
    }))
    .sort((a, b) => a.org.name.localeCompare(b.org.name));
}

/** `GET /connect/authorize/consent`: which organisations to connect, and what the app may do. */
export function consentForm(ctx: SandboxContext, req: SbRequest, message?: string): SbOutcome {
  const handle = req.url.searchParams.get('req') ?? '';
  const pending = ctx.consentRequests.get(handle);
  const app = pending && ctx.world.apps.get(pending.params.clientId);
  const user = pending?.userId ? ctx.world.users.get(pending.userId) : undefined;
  if (!pending || !app || !user) {
    return html(400, errorPage('invalid_request', 'This consent page has expired. Start again from the app.'));
  }
  const choices = choicesFor(ctx, app.clientId, user.userId);
  return html(200, consentPage(handle, app, user, pending.params.scopes, choices, ctx.world.connectionCap(app), message));
}

/** `POST /connect/authorize/consent`: Allow (with the ticked organisations) or Cancel. */
export async function submitConsent(ctx: SandboxContext, req: SbRequest): Promise<SbOutcome> {
  const form = readForm(req);
  const handle = form?.get('req') ?? '';
  const pending = ctx.consentRequests.get(handle);
  if (!form || !pending || !pending.userId) {
    return html(400, errorPage('invalid_request', 'This consent page has expired. Start again from the app.'));
  }
  const app = ctx.world.apps.get(pending.params.clientId);
  if (!app) return html(400, errorPage('unauthorized_client', 'Unknown client or client not enabled'));
  const decision = form.get('decision') === 'allow' ? 'allow' : 'deny';
  const tenantIds = [...new Set(form.getAll('tenantId'))];
  // The person may have been deleted since logging in: the page has gone stale, like an expired one.
  const user = ctx.world.users.get(pending.userId);
  if (!user) return html(400, errorPage('invalid_request', 'This consent page has expired. Start again from the app.'));
  const again = (message: string) =>
    consentForm(ctx, { ...req, url: new URL(`${ctx.origin}/connect/authorize/consent?req=${encodeURIComponent(handle)}`) }, message);
  if (decision === 'allow') {
    if (user.roles.size > 0 && tenantIds.length === 0) return again('Choose an organisation to connect.');
    if (tenantIds.some((t) => !user.roles.has(t))) return again('You can only connect organisations you belong to.');
    if (!app.multiOrgConsent && tenantIds.length > 1) return again('This app connects one organisation at a time.');
  }
  ctx.consentRequests.close(handle);
  return completeConsent(ctx, pending.params, { userId: user.userId, tenantIds, decision });
}

/** Shared end of the page flow and arranged consents: deny, cap check, record, issue the code. */
function completeConsent(ctx: SandboxContext, p: AuthorizeParams, consent: ArrangedConsent): SbOutcome {
  if (consent.decision === 'deny') return errorRedirect(p, 'access_denied');
  const user = ctx.world.users.get(consent.userId);
  if (!user) return errorRedirect(p, 'access_denied');
  // Organisations the user no longer belongs to cannot be picked (the page would not have listed them).
  const tenantIds = consent.tenantIds.filter((t) => user.roles.has(t));
  const app = ctx.world.app(p.clientId);
  const over = ctx.world.tenantsOverCap(app.clientId, tenantIds);
  if (over.length > 0) {
    return redirect(`/connectionLimit?clientId=${encodeURIComponent(app.clientId)}`);
  }
  const authEventId = ctx.world.recordConsent(app.clientId, user.userId, tenantIds, p.scopes);
  const sessionId = ctx.world.ids.hex32();
  const code = ctx.world.issueCode({
    clientId: app.clientId,
    redirectUri: p.redirectUri,
    codeChallenge: p.codeChallenge,
    scopes: ctx.world.consentedScopes(user.userId, app.clientId),
    userId: user.userId,
    authEventId,
    authTime: ctx.nowSeconds(),
    sessionId,
    nonce: p.nonce,
  });
  return redirect(
    withParams(p.redirectUri, { code, scope: p.scopes.join(' '), state: p.state, session_state: sessionId }),
  );
}

/** `GET /connectionLimit`: where Xero sends a consent that would exceed the app's tier cap. */
export function connectionLimit(ctx: SandboxContext, req: SbRequest): SbOutcome {
  const app = ctx.world.apps.get(req.url.searchParams.get('clientId') ?? '');
  if (!app) return html(404, errorPage('invalid_request', 'Unknown app.'));
  return html(403, connectionLimitPage(app, ctx.world.connectionCap(app) ?? 0));
}
