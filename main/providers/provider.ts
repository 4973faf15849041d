import type { App, Explanation, Failure } from '../../shared/domain.js';
import type { Clock } from '../core/clock.js';
import type { IdClaims, ProviderClient } from '../oauth/provider-client.js';
import type { TokenCallOutcome } from '../oauth/token-outcome.js';
import type { ConnectionsPort } from '../refresh/engine.js';

/**
 * What Relink needs to know of an accounting platform it connects to, in one place per provider
 * (`main/providers/<name>/provider.ts`), found through the registry (`registry.ts`) by `App.provider`. The
 * service and the refresher ask the provider instead of naming one: where it signs in, what a client id
 * looks like, which discovered endpoints are really its own, how a token answer is classified, how a
 * sign-in's organisations are listed and probed, what can be checked about a new app, and how its error
 * messages are explained.
 *
 * Still Xero's alone, to come behind this seam with the second provider: the health rules and their words
 * (health/assess.ts, fixes.ts) and the reconnect plan's consent shape (workflows/reconnect-plan.ts).
 */

/** The checks made when an app is added, in the advisor's words, and what only the first sign-in can show. */
export interface AppChecks {
  verified: string[];
  atFirstSignIn: string[];
}

/** The checks, or why the app cannot be added (the service turns it into its error). */
export type AppCheckOutcome = { ok: true; checks: AppChecks } | { ok: false; code: 'unreachable' | 'rejected'; message: string };

/** A provider's organisation listing and probes, plus disconnecting one organisation. */
export interface ProviderConnections extends ConnectionsPort {
  remove(accessToken: string, connectionId: string): Promise<{ ok: true; removed: boolean } | { ok: false; failure: Failure }>;
}

export interface Provider {
  readonly id: App['provider'];
  /** As an advisor knows it: "Xero". */
  readonly name: string;
  readonly defaultIssuer: string;
  readonly defaultApiBase: string;
  /** The scopes a new app asks for when none are given. */
  readonly defaultScopes: readonly string[];
  /** The scopes Relink cannot work without (who approved, and a refresh token). */
  readonly requiredScopes: readonly string[];
  /** Null when the client id has this provider's form; otherwise what is wrong and where to find the right one. */
  clientIdProblem(clientId: string): string | null;
  /** Whether an endpoint read from the app's discovery document is one the provider really uses. */
  isAllowedEndpoint(app: Pick<App, 'issuer' | 'apiBase'>, url: string): boolean;
  /** The staff member who approved, from the validated id_token. */
  staffIdOf(claims: IdClaims): string | null;
  /** A failed token call, in the terms the health rules read. */
  classifyTokenOutcome(outcome: Extract<TokenCallOutcome, { ok: false }>, now: number, call: 'refresh' | 'code-exchange'): Failure;
  connections(app: Pick<App, 'apiBase'>, deps: { fetch: typeof fetch; clock: Clock; timeoutMs?: number }): ProviderConnections;
  checkApp(app: App, client: Pick<ProviderClient, 'prepare' | 'refresh'>, clock: Clock): Promise<AppCheckOutcome>;
  /** A pasted error message in plain words: what happened and what to do. */
  explain(text: string): Explanation;
}
