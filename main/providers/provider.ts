import type { App, Explanation, Failure } from '../../shared/domain.js';
import type { Clock } from '../core/clock.js';
import type { AccessClaims, IdClaims, ProviderClient } from '../oauth/provider-client.js';
import type { TokenCallOutcome } from '../oauth/token-outcome.js';
import type { ConnectionsPort, ListResult } from '../refresh/engine.js';

/**
 * What Relink needs to know of an accounting platform it connects to, in one place per provider
 * (`main/providers/<name>/provider.ts`), found through the registry (`registry.ts`) by `App.provider`. The
 * service and the refresher ask the provider instead of naming one: where it signs in, what a client id
 * looks like, which discovered endpoints are really its own, how a token answer is classified, how a
 * sign-in's organisations are listed and probed, what can be checked about a new app, and how its error
 * messages are explained.
 *
 * The generic layers (refresh, health, workflows, service, oauth) name no provider: what they say about one
 * comes from its `terms`, and what they decide from its `policy`.
 */

/**
 * How a provider's rules differ, read by the health rules, the reconnect plan and the refresher. Facts with
 * sources live beside each provider's value.
 */
export interface ProviderPolicy {
  /** Days a refresh token lives unused (Xero: 60). */
  readonly refreshTokenLifetimeDays: number;
  /** Whether a refresh token's life starts again each time it is used (rolling) or is fixed at consent. */
  readonly refreshTokenRolling: boolean;
  /** How long a rotated-away refresh token still works, or null when there is no grace period. */
  readonly rotationGraceMs: number | null;
  /** What one consent connects: many organisations (Xero's consent page lists them) or exactly one. */
  readonly consent: 'many-organisations' | 'one-organisation';
  /** Whether changing a person's password ends every one of their grants at once. */
  readonly passwordChangeRevokesGrants: boolean;
  /** Whether deleting the person who created an app in the developer portal deletes the app. */
  readonly appDeletedWithCreator: boolean;
}

/**
 * The provider's nouns, for the generic layers' sentences ("Copy it from ${terms.developerPortal}"). Each
 * entry is a noun phrase that reads inside a sentence; the sentences themselves stay with their rules.
 */
export interface ProviderTerms {
  /** As an advisor knows it: "Xero". */
  readonly name: string;
  /** Where apps and their credentials are managed: "Xero's developer portal". */
  readonly developerPortal: string;
  /** What a person signs in with: "Xero login". */
  readonly login: string;
  /** Where, inside an organisation, its connected apps are listed: "Settings → Connected apps". */
  readonly connectedAppsPlace: string;
  /** The roles that may approve an app in an organisation: "the Adviser or Standard role". */
  readonly approverRoles: string;
  /** Where the provider reports outages: "Xero's status page". */
  readonly statusPage: string;
  // ── added by each layer for its own sentences (keep to nouns) ──
  // service: where a web app's client secret is made: "Xero developer portal → your app → Configuration → Generate a secret".
  readonly newClientSecretPlace: string;
  // service: where an app's client id and secret are shown: "Xero's developer portal (your app → Configuration)".
  readonly appConfigurationPlace: string;
}

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

/** What a finished sign-in brought back, as the generic flow received it, for the provider to read its own facts. */
export interface ConsentEvidence {
  /** The new access token, to list what it reaches. */
  accessToken: string;
  /** The access token's claims (decoded, not verified), or null when it is not a JWT. */
  accessClaims: AccessClaims | null;
  /** The callback's query parameters other than code, state and error (never the code). */
  callback: Readonly<Record<string, string>>;
}

/** The organisations one consent connected, as `Provider.organisationsOfConsent` read them. */
export interface ConsentOrganisations {
  /** Everything the new token reaches. */
  all: ListResult;
  /** What this very consent connected (the same answer as `all` when the provider cannot tell them apart). */
  ticked: ListResult;
  /** The provider's ids for this consent, kept on the grant (`Grant.authEventIds`); empty when it gives none. */
  consentIds: string[];
}

export interface Provider {
  readonly id: App['provider'];
  /** As an advisor knows it: "Xero" (the same as `terms.name`). */
  readonly name: string;
  readonly terms: ProviderTerms;
  readonly policy: ProviderPolicy;
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
  /**
   * What one finished consent connected, read through the app's `connections` with the new access token: all
   * the token reaches, those this consent connected, and the provider's ids for the consent.
   */
  organisationsOfConsent(connections: ConnectionsPort, consent: ConsentEvidence): Promise<ConsentOrganisations>;
}
