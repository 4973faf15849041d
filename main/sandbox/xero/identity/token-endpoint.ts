import { createHash, randomUUID } from 'node:crypto';
import type { SandboxContext } from '../context.js';
import { json, readForm, type SbOutcome, type SbRequest } from '../../http/types.js';
import { authenticateClient } from './client-auth.js';
import { mintTokenResponse } from './mint.js';

/** Headers Xero's identity server (IdentityServer) puts on token responses. */
const TOKEN_HEADERS = {
  'cache-control': 'max-age=0, no-cache, no-store',
  pragma: 'no-cache',
  'xero-origin-id': 'IdentityServer.Web',
};

const VERIFIER = /^[A-Za-z0-9\-._~]{43,128}$/;

function tokenError(error: string, status = 400): SbOutcome {
  return json(status, { error }, { ...TOKEN_HEADERS, 'xero-correlation-id': randomUUID() });
}

function tokenResponse(body: Record<string, unknown>): SbOutcome {
  return json(200, body, { ...TOKEN_HEADERS, 'xero-correlation-id': randomUUID() });
}

/** `POST /connect/token`: authorization_code and refresh_token grants. */
export async function tokenEndpoint(ctx: SandboxContext, req: SbRequest): Promise<SbOutcome> {
  const form = readForm(req);
  if (!form) return tokenError('invalid_request');
  const grantType = form.get('grant_type');
  if (grantType !== 'authorization_code' && grantType !== 'refresh_token') {
    return tokenError('unsupported_grant_type');
  }
  const app = authenticateClient(ctx.world, req, form);
  if (!app) return tokenError('invalid_client', ctx.settings.invalidClientStatus);

  if (grantType === 'authorization_code') {
    const value = form.get('code');
    const redirectUri = form.get('redirect_uri');
    if (!value || !redirectUri) return tokenError('invalid_request');
    const code = ctx.world.redeemCode(value);
    if (typeof code === 'string') return tokenError('invalid_grant');
    if (code.clientId !== app.clientId || code.redirectUri !== redirectUri) return tokenError('invalid_grant');
    if (code.codeChallenge !== null) {
      const verifier = form.get('code_verifier') ?? '';
      if (!VERIFIER.test(verifier)) return tokenError('invalid_grant');
      const challenge = createHash('sha256').update(verifier).digest('base64url');
      if (challenge !== code.codeChallenge) return tokenError('invalid_grant');
    }
    // The user or app may have gone between consent and exchange.
    if (!ctx.world.users.has(code.userId)) return tokenError('invalid_grant');
    const family = ctx.world.startFamily(code);
    const refresh = family.scopes.includes('offline_access') ? ctx.world.issueRefreshToken(family.id) : null;
    return tokenResponse(await mintTokenResponse(ctx, family, refresh, code.nonce));
  }

  const token = form.get('refresh_token');
  if (!token) return tokenError('invalid_request');
  // An optional `scope` may not add anything to what was consented (xero-python sends one).
  const requested = (form.get('scope') ?? '').split(' ').filter(Boolean);
  const outcome = ctx.world.useRefreshToken(token, app.clientId, requested);
  if (!outcome.ok) return tokenError(outcome.reason === 'scope-not-granted' ? 'invalid_scope' : 'invalid_grant');
  return tokenResponse(await mintTokenResponse(ctx, outcome.family, outcome.refreshToken, null));
}
