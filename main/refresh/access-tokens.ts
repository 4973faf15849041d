import type { Clock } from '../core/clock.js';

/**
 * Access tokens live only in this process's memory (never on disk, in the keychain, in IPC or in logs).
 *
 * This cache is the one place that decides when a token is "due for refresh": `get` stops handing a token out
 * at exactly the instant `refreshDueAt` names, and the engine both plans its deadline and decides whether to
 * refresh from these two, so the two can never disagree. (They once did: the deadline said "due" five minutes
 * before expiry while the cache still called the token good until two minutes before, and for those three
 * minutes the engine found nothing to do, rescheduled itself for "now" and ran again, busy-spinning.)
 *
 * The margin is brought forward from expiry by `refreshMargin` of the token's lifetime, so that a request
 * never leaves with a token about to die in flight and the refresh has time to be retried.
 */

/** The most a refresh is brought forward: Xero's tokens live 30 minutes, so they are renewed at 25. */
export const MAX_REFRESH_MARGIN_MS = 5 * 60_000;

/**
 * The share of a token's lifetime kept in reserve, for short-lived tokens (a sandbox set to 60 s, or a
 * provider that shortens them). A fixed five minutes would make every token shorter than that due the moment
 * it arrives — "refresh continuously". A sixth is exactly five minutes for Xero's 30-minute tokens, and a
 * token always gets five sixths of its life before it is due, so a refresh can never make itself due again.
 */
export const REFRESH_MARGIN_FRACTION = 1 / 6;

/** How long before expiry a token with this lifetime is due for refresh: min(5 min, lifetime / 6). */
export function refreshMargin(lifetimeMs: number): number {
  return Math.min(MAX_REFRESH_MARGIN_MS, Math.max(0, lifetimeMs) * REFRESH_MARGIN_FRACTION);
}

interface Entry {
  token: string;
  expiresAt: number;
  /** When this token should be replaced; `get` hands it out until then and not after. */
  dueAt: number;
}

export class AccessTokenCache {
  readonly #tokens = new Map<string, Entry>();

  constructor(private readonly clock: Clock) {}

  /** Stores a token that arrived just now (its lifetime is measured from now) and expires at `expiresAt`. */
  set(grantId: string, token: string, expiresAt: number): void {
    const lifetime = expiresAt - this.clock.now();
    this.#tokens.set(grantId, { token, expiresAt, dueAt: expiresAt - refreshMargin(lifetime) });
  }

  /** The token while it is not yet due for refresh, else undefined. */
  get(grantId: string): string | undefined {
    const entry = this.#tokens.get(grantId);
    if (!entry || this.clock.now() >= entry.dueAt) return undefined;
    return entry.token;
  }

  /** When the grant's token is due for refresh (`get` returns nothing from then on); undefined without one. */
  refreshDueAt(grantId: string): number | undefined {
    return this.#tokens.get(grantId)?.dueAt;
  }

  expiresAt(grantId: string): number | undefined {
    return this.#tokens.get(grantId)?.expiresAt;
  }

  delete(grantId: string): void {
    this.#tokens.delete(grantId);
  }

  clear(): void {
    this.#tokens.clear();
  }
}
