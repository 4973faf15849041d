import type { SandboxContext } from '../context.js';
import { OIDC_SCOPES } from '../context.js';
import { json, type SbOutcome } from '../../http/types.js';

/** `GET /.well-known/openid-configuration`: IdentityServer's fields, naming this sandbox's origin as issuer. */
export function discovery(ctx: SandboxContext): SbOutcome {
  const o = ctx.origin;
  return json(200, {
    issuer: o,
    jwks_uri: `${o}/.well-known/openid-configuration/jwks`,
    authorization_endpoint: `${o}/identity/connect/authorize`,
    token_endpoint: `${o}/connect/token`,
    userinfo_endpoint: `${o}/connect/userinfo`,
    revocation_endpoint: `${o}/connect/revocation`,
    scopes_supported: [...OIDC_SCOPES],
    claims_supported: [
      'sub', 'xero_userid', 'global_session_id', 'preferred_username', 'email', 'given_name', 'family_name', 'auth_time', 'sid',
    ],
    grant_types_supported: ['authorization_code', 'refresh_token'],
    response_types_supported: ['code'],
    response_modes_supported: ['query'],
    token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: ['RS256'],
    code_challenge_methods_supported: ['S256'],
    request_parameter_supported: false,
  });
}

export function jwks(ctx: SandboxContext): SbOutcome {
  const { kty, use, kid, x5t, e, n, alg } = ctx.key.jwk;
  return json(200, { keys: [{ kty, use, kid, x5t, e, n, alg }] });
}
