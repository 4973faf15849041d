import * as oidc from 'openid-client';
import { startLoopbackCallback, type LoopbackCallback, type RedirectHost } from './loopback-server.js';
import type { IdClaims, ProviderClient } from './provider-client.js';
import type { TokenCallOutcome, TokenSet } from './token-outcome.js';

/**
 * One authorization (DESIGN.md §5 flow 1, up to the token exchange): PKCE S256 + state + nonce, a loopback
 * listener on the first free registered port, the authorize URL built with that listener's redirect URI,
 * the system browser, the callback, and exactly one code exchange. The listener is always closed.
 *
 * What comes next (store the refresh token, read `/connections?authEventId=…`, reconcile) is the caller's.
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
      /** `authentication_event_id` from the access token: the key to `GET /connections?authEventId=`. */
      authEventId: string | null;
      redirectUri: string;
      /** Provider clock minus local clock, as estimated from the token response (0 if it had no Date). */
      skewMs: number;
    }
  | { kind: 'denied' | 'timeout' | 'cancelled' }
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
    return { kind: 'failed', outcome: null, reason: message(err) };
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
      return { kind: 'failed', outcome: null, reason: message(err) };
    }

    const callback = await listener.result;
    switch (callback.kind) {
      case 'denied':
      case 'timeout':
      case 'cancelled':
        return { kind: callback.kind };
      case 'error':
        return { kind: 'failed', outcome: null, reason: `The provider ended the sign-in with the error “${callback.error}”.` };
      case 'code':
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
    return {
      kind: 'connected',
      tokens: outcome.tokens,
      claims: outcome.idClaims ?? null,
      authEventId: outcome.accessClaims?.authentication_event_id ?? null,
      redirectUri: listener.redirectUri,
      skewMs: outcome.skewMs ?? req.client.skew()?.ms ?? 0,
    };
  } finally {
    await listener.close();
  }
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
