import type { Provider } from '../provider.js';
import { checkApp } from './app-check.js';
import { XeroConnectionsApi } from './connections-api.js';
import { organisationsOfConsent } from './consent.js';
import { isAllowedEndpoint, providerFor, XERO_API_BASE, XERO_ISSUER } from './endpoints.js';
import { classifyTokenOutcome } from './errors.js';
import { explainError } from './explain.js';

/** Xero's client ids: 32 hexadecimal characters (xero-protocol.md §4.3: "client_id is 32 uppercase hex"). */
const CLIENT_ID = /^[0-9A-F]{32}$/i;

/** Xero behind Relink's provider seam (../provider.ts): each part lives in its own module here. */
export const xeroProvider: Provider = {
  id: 'xero',
  name: 'Xero',
  terms: {
    name: 'Xero',
    developerPortal: "Xero's developer portal",
    login: 'Xero login',
    connectedAppsPlace: 'Settings → Connected apps',
    approverRoles: 'the Adviser or Standard role',
    statusPage: "Xero's status page",
    newClientSecretPlace: 'Xero developer portal → your app → Configuration → Generate a secret',
    appConfigurationPlace: "Xero's developer portal (your app → Configuration)",
  },
  policy: {
    // xero-protocol.md: refresh tokens expire after 60 days unused; a rotated one keeps working for 30 minutes.
    refreshTokenLifetimeDays: 60,
    refreshTokenRolling: true,
    rotationGraceMs: 30 * 60_000,
    // One consent page lists every organisation the person can reach; a password change revokes every grant.
    consent: 'many-organisations',
    passwordChangeRevokesGrants: true,
    // Apps belong to the developer login that created them and go when it is deleted.
    appDeletedWithCreator: true,
  },
  defaultIssuer: XERO_ISSUER,
  defaultApiBase: XERO_API_BASE,
  defaultScopes: ['openid', 'profile', 'email', 'offline_access', 'accounting.settings.read'],
  requiredScopes: ['openid', 'profile', 'email', 'offline_access'],
  clientIdProblem(clientId) {
    if (CLIENT_ID.test(clientId)) return null;
    const shown = clientId.length > 40 ? `${clientId.slice(0, 40)}…` : clientId;
    return `"${shown}" is not a Xero client id: Xero's client ids are 32 letters and digits (0–9 and A–F), like 1344E98C0A6B4E2F9E0D7C2B1A3F4E5D. Copy it from Xero's developer portal: My Apps → your app → Configuration → Client id.`;
  },
  isAllowedEndpoint(app, url) {
    // An issuer that is neither Xero's nor a sandbox on this computer has no list: only its own origin.
    try {
      return isAllowedEndpoint(providerFor(app), url);
    } catch {
      return URL.canParse(url) && new URL(url).origin === new URL(app.issuer).origin;
    }
  },
  // Xero names the person by `xero_userid`; `sub` is the same person for the identity service.
  staffIdOf: (claims) => (typeof claims.xero_userid === 'string' && claims.xero_userid ? claims.xero_userid : null) ?? claims.sub ?? null,
  classifyTokenOutcome: (outcome, now, call) => classifyTokenOutcome(outcome, now, call),
  connections: (app, deps) => new XeroConnectionsApi(deps.fetch, app.apiBase, deps.clock, deps.timeoutMs ? { timeoutMs: deps.timeoutMs } : {}),
  checkApp,
  explain: explainError,
  organisationsOfConsent,
};
