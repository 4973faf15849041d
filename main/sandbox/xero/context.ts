import type { SandboxClock } from '../clock.js';
import type { Faults } from './faults.js';
import type { SandboxSettings } from './settings.js';
import type { SigningKey } from './signing.js';
import type { World } from './world.js';
import type { RateLimiter } from './api/rate-limits.js';
import type { ConsentRequests } from './identity/consent-requests.js';

/** What every route sees. `origin` is the issuer: one origin serves Xero's login, identity and API hosts. */
export interface SandboxContext {
  readonly origin: string;
  readonly world: World;
  readonly clock: SandboxClock;
  readonly settings: SandboxSettings;
  readonly key: SigningKey;
  readonly faults: Faults;
  readonly limits: RateLimiter;
  readonly consentRequests: ConsentRequests;
  /** Seconds since the epoch as the sandbox presents time to others (its clock plus any configured skew). */
  nowSeconds(): number;
}

/** Scopes every app may request on top of its own list: OpenID Connect and offline access. */
export const OIDC_SCOPES = ['openid', 'profile', 'email', 'offline_access'] as const;

export function hasAnyScope(granted: readonly string[], wanted: readonly string[]): boolean {
  return wanted.some((s) => granted.includes(s));
}
