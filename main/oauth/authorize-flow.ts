import * as oidc from 'openid-client';
import { registerSecret } from '../core/redact.js';
import {
  LoopbackPortsBusyError,
  portsBusyWords,
  startLoopbackCallback,
  type AuthorizeErrorCode,
  type LoopbackCallback,
  type RedirectHost,
} from './loopback-server.js';
import type { AccessClaims, IdClaims, ProviderClient } from './provider-client.js';
import type { TokenCallOutcome, TokenSet } from './token-outcome.js';

/**
 * One authorization (DESIGN.md §5 flow 1, up to the token exchange): PKCE S256 + state + nonce, a loopback
 * listener on the first free registered port, the authorize URL built with that listener's redirect URI,
 * the system browser, the callback, and exactly one code exchange. The listener is always closed.
 *
 * What comes next (store the refresh token, ask the provider which organisations the consent connected,
 * reconcile) is the caller's.
 */

export interface AuthorizationRequest {
  client: ProviderClient;
  /** The app's registered redirect ports, tried in order. */
  ports: number[];
  redirectHost?: RedirectHost;
  scopes: string[];
  /** Opens the URL in the system browser (see browser.ts), or hands it to a test. */
  open: (url: string) => Promise<void>;
  /** How long to wait for the person to finish in the browser. */
  timeoutMs: number;
  signal?: AbortSignal;
}

export type AuthorizationResult =
  | {
      kind: 'connected';
      tokens: TokenSet;
      /** The validated id_token claims (null if the scopes did not include `openid`). */
      claims: IdClaims | null;
      /** The access token's claims (decoded, not verified), for the provider to read its own; null if not a JWT. */
      accessClaims: AccessClaims | null;
      /**
       * The callback's query parameters other than `code`, `state` and the `error` ones (`scope`,
       * `session_state`, a provider's own such as the organisation it connected), for the provider to read.
       */
      callback: Readonly<Record<string, string>>;
      redirectUri: string;
      /** Provider clock minus local clock, as estimated from the token response (0 if it had no Date). */
      skewMs: number;
    }
  | { kind: 'denied' | 'timeout' | 'cancelled' }
  /** Every registered redirect port is taken: nothing was opened or sent. */
  | { kind: 'ports-busy'; ports: number[]; unavailable: Array<{ port: number; code: string }> }
  /** The loopback listener could not start for another reason (no loopback interface, …). */
  | { kind: 'listener-failed'; reason: string }
  /** `open` threw: the person never saw the sign-in page. */
  | { kind: 'browser-failed'; reason: string }
  /** The provider sent the browser back with an `error=` other than access_denied (only known OAuth codes). */
  | { kind: 'provider-error'; error: AuthorizeErrorCode | 'unrecognised' }
  /** `outcome` is the token call's, when one was made; `reason` is a short, token-free explanation. */
  | { kind: 'failed'; outcome: TokenCallOutcome | null; reason: string };

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));

export async function runAuthorization(req: AuthorizationRequest): Promise<AuthorizationResult> {
  if (req.signal?.aborted) return { kind: 'cancelled' };
  // Discover first, so the port is opened only once there is a request to send (RFC 8252 §8.3).
  try {
    await req.client.prepare();
  } catch (err) {
    return { kind: 'failed', outcome: null, reason: message(err) };
  }
  if (req.signal?.aborted) return { kind: 'cancelled' };

  const codeVerifier = oidc.randomPKCECodeVerifier();
  registerSecret(codeVerifier);
  const codeChallenge = await oidc.calculatePKCECodeChallenge(codeVerifier);
  const state = oidc.randomState();
  const nonce = req.scopes.includes('openid') ? oidc.randomNonce() : undefined;

  let listener: LoopbackCallback;
  try {
    listener = await startLoopbackCallback({
      ports: req.ports,
      redirectHost: req.redirectHost ?? '127.0.0.1',
      expectedState: state,
      timeoutMs: req.timeoutMs,
      ...(req.signal ? { signal: req.signal } : {}),
    });
  } catch (err) {
    if (err instanceof LoopbackPortsBusyError) return { kind: 'ports-busy', ports: err.ports, unavailable: err.unavailable };
    return { kind: 'listener-failed', reason: message(err) };
  }

  try {
    let url: string;
    try {
      url = await req.client.authorizationUrl({
        redirectUri: listener.redirectUri,
        scopes: req.scopes,
        state,
        codeChallenge,
        ...(nonce ? { nonce } : {}),
      });
    } catch (err) {
      return { kind: 'failed', outcome: null, reason: message(err) };
    }
    try {
      await req.open(url);
    } catch (err) {
      return { kind: 'browser-failed', reason: message(err) };
    }

    const callback = await listener.result;
    switch (callback.kind) {
      case 'denied':
      case 'timeout':
      case 'cancelled':
        return { kind: callback.kind };
      case 'error':
        return { kind: 'provider-error', error: callback.error };
      case 'code':
        registerSecret(callback.code);
        break;
    }

    // From here the code is spent whatever happens: a cancel no longer interrupts the exchange, or the tokens
    // it produced would be lost with the code.
    const callbackUrl = new URL(listener.redirectUri);
    callbackUrl.search = callback.params.toString();
    const outcome = await req.client.exchangeCode(callbackUrl, {
      codeVerifier,
      expectedState: state,
      redirectUri: listener.redirectUri,
      ...(nonce ? { nonce } : {}),
    });
    if (!outcome.ok) {
      const { sentAt: _s, answeredAt: _a, skewMs: _k, rejected: _r, detail, ...raw } = outcome;
      return { kind: 'failed', outcome: raw, reason: failureReason(raw, detail) };
    }
    // Known to the redactor before anyone can print them; the caller stores the refresh token under its grant.
    registerSecret(outcome.tokens.accessToken);
    if (outcome.tokens.refreshToken) registerSecret(outcome.tokens.refreshToken);
    if (outcome.tokens.idToken) registerSecret(outcome.tokens.idToken);
    return {
      kind: 'connected',
      tokens: outcome.tokens,
      claims: outcome.idClaims ?? null,
      accessClaims: outcome.accessClaims ?? null,
      callback: callbackFacts(callback.params),
      redirectUri: listener.redirectUri,
      skewMs: outcome.skewMs ?? req.client.skew()?.ms ?? 0,
    };
  } finally {
    await listener.close();
  }
}

/** The parameters the flow handles itself, left out of the result: the code above all, never to be logged. */
const HANDLED_PARAMS = new Set(['code', 'state', 'error', 'error_description', 'error_uri']);

function callbackFacts(params: URLSearchParams): Readonly<Record<string, string>> {
  // fromEntries defines own properties, so a parameter named `__proto__` stays a parameter.
  return Object.fromEntries([...params].filter(([name]) => !HANDLED_PARAMS.has(name)));
}

function failureReason(o: Extract<TokenCallOutcome, { ok: false }>, detail: string | null): string {
  const extra = detail ? ` (${detail})` : '';
  switch (o.stage) {
    case 'not-sent':
      return `The sign-in could not be completed: the provider could not be reached${o.networkError ? ` (${o.networkError})` : ''}.${detail ? ` ${detail}` : ''}`;
    case 'sent-unknown':
      return `The sign-in could not be completed: the provider did not answer${o.networkError ? ` (${o.networkError})` : ''}.`;
    case 'answered':
      return `The provider refused the sign-in: HTTP ${o.response?.status ?? '?'}${o.response?.oauthError ? ` ${o.response.oauthError}` : ''}${extra}.`;
  }
}

/** What a host tells the person when the sign-in could not even reach the point of a token call. */
export interface AuthorizationProblem {
  /** The class of failure, for exit codes: the person declined or did not finish / the provider had trouble / the rest. */
  code: 'not-authorised' | 'unreachable' | 'rejected';
  message: string;
}

type Problem = Extract<AuthorizationResult, { kind: 'ports-busy' | 'listener-failed' | 'browser-failed' | 'provider-error' }>;

/** Only these kinds have a message here; `denied`, `timeout`, `cancelled` and `failed` are the caller's to word. */
export function isAuthorizationProblem(r: AuthorizationResult): r is Problem {
  return r.kind === 'ports-busy' || r.kind === 'listener-failed' || r.kind === 'browser-failed' || r.kind === 'provider-error';
}

/** Things the provider can say in `error=` that mean the person has more to do in the browser. */
const UNFINISHED: Partial<Record<AuthorizeErrorCode, string>> = {
  login_required: 'log in',
  consent_required: 'approve the connection',
  interaction_required: 'finish in the browser',
  account_selection_required: 'choose which login to use',
};

/**
 * Each way a sign-in can stop before its token call, in words a bookkeeper can act on, ending with the code to
 * quote to support. `app` and `provider` are display names (the app's name, the provider's `terms.name`);
 * `developerPortal` is where the provider's apps are managed (its `terms.developerPortal`; default
 * "<provider>'s developer portal").
 */
export function describeAuthorizationProblem(r: Problem, names: { app: string; provider: string; developerPortal?: string }): AuthorizationProblem {
  const { app, provider } = names;
  const portal = names.developerPortal ?? `${provider}'s developer portal`;
  switch (r.kind) {
    case 'ports-busy':
      return {
        code: 'rejected',
        message:
          `The sign-in reply addresses (ports ${r.ports.join(', ')}) registered for ${app} are all ${portsBusyWords(r.unavailable)}. ` +
          `Close them and try again, or register another port in ${portal} and add the app again with it. (ports-busy)`,
      };
    case 'listener-failed':
      return { code: 'rejected', message: `${r.reason} Nothing was changed. (listener-failed)` };
    case 'browser-failed':
      return { code: 'rejected', message: `Relink could not open your web browser: ${r.reason.replace(/^Relink could not open the browser: /, '')} Nothing was changed. (browser-failed)` };
    case 'provider-error': {
      const e = r.error;
      const todo = e === 'unrecognised' ? undefined : UNFINISHED[e];
      if (todo) {
        return {
          code: 'not-authorised',
          message: `${provider} ended the sign-in without an approval: it needs you to ${todo}. Nothing was changed; run it again and finish in the browser. (${e})`,
        };
      }
      switch (e) {
        case 'server_error':
        case 'temporarily_unavailable':
          return { code: 'unreachable', message: `${provider}'s sign-in service had a problem and could not finish the sign-in. Nothing was changed; try again in a few minutes. (${e})` };
        case 'invalid_scope':
          return {
            code: 'rejected',
            message: `${provider} refused the permissions ${app} asks for. Nothing was changed. Check the scopes the app may use in ${portal} and the ones Relink asks for (--scopes). (${e})`,
          };
        case 'unauthorized_client':
          return {
            code: 'rejected',
            message: `${provider} does not let ${app} sign in this way. Nothing was changed. Check the app in ${portal}: that it still exists and that its client id is the one Relink has. (${e})`,
          };
        case 'unrecognised':
          return {
            code: 'rejected',
            message: `${provider} ended the sign-in with an error Relink does not recognise. Nothing was changed; try again, and if it keeps happening send this message to support. (provider-error)`,
          };
        default:
          return {
            code: 'rejected',
            message: `${provider} refused the sign-in request. Nothing was changed. Check that the app's redirect URIs in ${portal} are http://127.0.0.1:PORT/callback for its ports; if they are, send this message to support. (${e})`,
          };
      }
    }
  }
}
