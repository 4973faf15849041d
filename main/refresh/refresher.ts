import { APP_REJECTED_FAILURES, type App, type Failure, type Grant } from '../../shared/domain.js';
import type { Clock } from '../core/clock.js';
import { isoNow } from '../core/clock.js';
import { registerSecret } from '../core/redact.js';
import type { TokenCallOutcome } from '../oauth/token-outcome.js';
import { estimateSkewMs } from '../core/http-date.js';
import { KeychainError } from '../secrets/keychain.js';
import type { RefreshJournalPort } from '../store/ports.js';
import type { AccessTokenCache } from './access-tokens.js';

/**
 * One rotation-safe refresh of one grant (security-anchors §3 H1–H4, H7):
 *
 *   single-flight in this process → cross-process lock → re-read the stored refresh token → write-ahead
 *   marker → POST /connect/token → persist the rotated token and read it back → clear the marker → only then
 *   put the new access token to use.
 *
 * A lost response (timeout or reset after sending) is retried at once with the same stored token, inside
 * Xero's 30-minute grace. Transient failures never mark a grant broken; only a parsed `invalid_grant` does,
 * after re-reading the stored token under the lock.
 *
 * The keychain can lock (or stop answering) at any moment, so no refresh is sent unless it can be written
 * just before, and a rotated token whose save fails anyway is held in memory — it is then the only copy
 * that works once Xero's grace for the old one ends — and saved before anything else is sent for that
 * grant: on the engine's next try, or as soon as the keychain comes back (`saveHeld`).
 */

export interface StoredToken {
  refreshToken: string;
}

/**
 * What the refresher needs from the secret vault, the journal and the grant lock: narrow slices of the storage
 * ports (../store/ports.ts), so its tests can fake just these and any implementation of the ports fits.
 */
export interface RefreshVault {
  readGrant(grantId: string): Promise<StoredToken | null>;
  /** Writes the rotated token, reads it back, and throws if it does not match. */
  saveRotated(grantId: string, newRefreshToken: string, replaced: string): Promise<void>;
  /** Resolves when the keychain can be written now, throws KeychainError when it cannot. */
  ensureWritable(): Promise<void>;
  /** Proves the keychain works (a test entry written, read back and deleted): `available` or why not. */
  probe(): Promise<string>;
}

/** The write-ahead "refresh in flight" marker (RefreshJournalPort's begin and end). */
export type RefreshMarkers = {
  begin(grantId: string, attempt: number): Promise<unknown>;
  end(grantId: string): Promise<void>;
};

/** The grant's token generation stamp (RefreshJournalPort's generation and bumpGeneration). */
export type TokenGenerations = Pick<RefreshJournalPort, 'generation' | 'bumpGeneration'>;

/** The cross-process lock (GrantLockPort), of which the refresher needs only the holding. */
export type RefreshLock = {
  withLock<T>(grantId: string, fn: () => Promise<T>): Promise<T>;
};

export interface SingleFlightPort {
  run(key: string, fn: () => Promise<RefreshResult>): Promise<RefreshResult>;
}

/** What the refresher needs from the grant store: a read of the grant and durable updates. */
export interface GrantStorePort {
  /**
   * The grant as this process's store knows it. Today that is the in-memory document, which another process
   * may have changed since; nothing here rests on it being fresher: the refresh token is re-read under the
   * lock whenever the generation stamp moved, and `updateGrant` re-applies its change to the document as it
   * is on disk. A store shared by several desktops will have to read it fresh.
   */
  freshGrant(grantId: string): Promise<Grant | undefined>;
  app(appId: string): App | undefined;
  updateGrant(grantId: string, change: (g: Grant) => void, durable?: boolean): Promise<void>;
}

export interface TokenRefresher {
  refresh(refreshToken: string): Promise<TokenCallOutcome>;
}

export type RefreshResult =
  | { kind: 'refreshed'; accessTokenExpiresAt: number }
  | { kind: 'skipped'; reason: 'not-active' | 'unknown-grant' }
  | { kind: 'transient'; failure: Failure }
  | { kind: 'revoked'; failure: Failure }
  | { kind: 'app-rejected'; failure: Failure };

export interface RefresherDeps {
  clock: Clock;
  vault: RefreshVault;
  journal: RefreshMarkers;
  lock: RefreshLock;
  flights: SingleFlightPort;
  grants: GrantStorePort;
  accessTokens: AccessTokenCache;
  clientFor: (app: App) => Promise<TokenRefresher>;
  /** The app's provider's reading of a failed token call (providers/<name>/errors.ts). */
  classify: (app: App, outcome: Extract<TokenCallOutcome, { ok: false }>, now: number) => Failure;
  /** Called with each clock-skew estimate taken from a token response's Date header. */
  onSkew?: (skewMs: number) => void;
  /** How many times a lost response is retried with the same token before giving up for now. */
  lostResponseRetries?: number;
  /**
   * With it, the refresher remembers the token it last read or wrote per grant and re-reads the keychain
   * under the lock only when the generation stamp moved (another process or a new consent touched it).
   * Without it, every refresh reads the keychain.
   */
  generations?: TokenGenerations;
}


/** A rotated token Xero issued that the keychain has not taken yet, with the access token that came with it. */
interface HeldRotation {
  token: string;
  replaced: string;
  generation: string | null;
  outcome: Extract<TokenCallOutcome, { ok: true }>;
}

export class Refresher {
  /** The refresh token this process last read from or verified in the keychain, with its generation stamp. */
  readonly #known = new Map<string, { token: string; generation: string }>();
  /** Rotated tokens not yet saved (the keychain failed at the moment they arrived). Never written anywhere else. */
  readonly #held = new Map<string, HeldRotation>();

  constructor(private readonly deps: RefresherDeps) {}

  /** Forget what this process knows about a grant's stored token (a new consent stored a new one). */
  forget(grantId: string): void {
    this.#known.delete(grantId);
    this.#held.delete(grantId);
  }

  /** Refreshes one grant. Concurrent calls for the same grant share one refresh. */
  refresh(grantId: string): Promise<RefreshResult> {
    return this.deps.flights.run(grantId, () => this.deps.lock.withLock(grantId, () => this.#underLock(grantId)));
  }

  /** Grants whose rotated token is held in memory, waiting for the keychain. */
  get heldGrants(): string[] {
    return [...this.#held.keys()];
  }

  /** Tries again to save every held rotated token (the keychain came back); each through `refresh`. */
  async saveHeld(): Promise<RefreshResult[]> {
    return Promise.all(this.heldGrants.map((id) => this.refresh(id)));
  }

  async #underLock(grantId: string): Promise<RefreshResult> {
    const { clock, vault, journal, grants } = this.deps;
    const grant = await grants.freshGrant(grantId);
    if (!grant) return { kind: 'skipped', reason: 'unknown-grant' };
    if (grant.state !== 'active') return { kind: 'skipped', reason: 'not-active' };
    const app = grants.app(grant.appId);
    if (!app) return { kind: 'skipped', reason: 'unknown-grant' };

    // A rotated token waiting for the keychain is saved before anything else: it is the one Xero knows now.
    const held = this.#held.get(grantId);
    if (held) return this.#persist(grantId, held.replaced, held.outcome, held.generation);

    let stored: StoredToken | null;
    try {
      stored = await this.#storedToken(grantId);
    } catch (err) {
      return this.#transient(grantId, keychainFailure(clock, err, 'read the connection’s key from'));
    }
    if (!stored) {
      // "Not found" means something only from a keychain that works: without a session bus libsecret answers
      // null for everything. Proven working, the entry is gone (deleted outside Relink): only a new consent
      // brings it back. Not a Xero verdict, so the grant is not marked revoked.
      const state = await vault.probe().catch(() => 'unavailable');
      if (state !== 'available') {
        return this.#transient(grantId, keychainFailure(clock, state, 'read the connection’s key from'));
      }
      return this.#transient(grantId, {
        kind: 'key-missing',
        at: isoNow(clock),
        detail: 'The keychain is unlocked but holds no key for this connection (removed outside Relink); reconnect to store a new one.',
      });
    }

    const client = await this.deps.clientFor(app);
    const retries = this.deps.lostResponseRetries ?? 2;
    let token = stored.refreshToken;
    for (let attempt = 1; ; attempt++) {
      // Never send a refresh whose rotated token could not be saved: Xero rotates it as soon as it answers.
      try {
        await vault.ensureWritable();
      } catch (err) {
        // After a lost answer (attempt > 1) the marker stays: a later try or a restart retries in the grace.
        return this.#transient(grantId, keychainFailure(clock, err, 'write to'));
      }
      await journal.begin(grantId, attempt);
      // From here the stored token may change: every other process must read the keychain next time.
      const generation = (await this.deps.generations?.bumpGeneration(grantId)) ?? null;
      this.#known.delete(grantId);
      const outcome = await client.refresh(token);
      if (outcome.ok) return this.#persist(grantId, token, outcome, generation);
      // Nothing new was stored: the keychain still holds `token`.
      if (generation) this.#known.set(grantId, { token, generation });
      const failure = this.deps.classify(app, outcome, clock.now());
      if (outcome.response) this.#noteSkew(outcome.response.headers['date'], outcome);

      if (failure.kind === 'invalid-grant') {
        // Re-read under the lock: if the stored token changed, someone else rotated it; use theirs.
        const again = await vault.readGrant(grantId).catch(() => null);
        if (again && generation) this.#known.set(grantId, { token: again.refreshToken, generation });
        if (again && again.refreshToken !== token && attempt <= retries) {
          token = again.refreshToken;
          continue;
        }
        await journal.end(grantId);
        await this.#mark(grantId, 'revoked', failure);
        return { kind: 'revoked', failure };
      }
      if (APP_REJECTED_FAILURES.has(failure.kind)) {
        await journal.end(grantId);
        await this.#mark(grantId, 'app-rejected', failure);
        return { kind: 'app-rejected', failure };
      }
      if (outcome.stage === 'sent-unknown' && attempt <= retries) {
        // The refresh may have happened and its answer been lost: the marker stays, and the same token is
        // presented again while Xero's grace window still accepts it.
        continue;
      }
      // Nothing was rotated when the server answered or the request never left; a lost answer keeps its
      // marker so that a restart retries inside the grace window.
      if (outcome.stage !== 'sent-unknown') await journal.end(grantId);
      return this.#transient(grantId, failure);
    }
  }

  /**
   * The stored refresh token, re-validated under the lock: from memory when the generation stamp is the one
   * this process saw when it last read or verified the keychain entry, otherwise read from the keychain.
   */
  async #storedToken(grantId: string): Promise<StoredToken | null> {
    const generations = this.deps.generations;
    const generation = generations ? await generations.generation(grantId) : null;
    const known = this.#known.get(grantId);
    if (known && generation !== null && known.generation === generation) return { refreshToken: known.token };
    const stored = await this.deps.vault.readGrant(grantId);
    // No stamp yet (never refreshed since stamps exist): nothing to remember it by; the refresh about to be
    // sent sets one, and what it stores is remembered under it.
    if (stored && generation !== null) this.#known.set(grantId, { token: stored.refreshToken, generation });
    return stored;
  }

  async #persist(grantId: string, used: string, outcome: Extract<TokenCallOutcome, { ok: true }>, generation: string | null): Promise<RefreshResult> {
    const { clock, vault, journal, grants, accessTokens } = this.deps;
    const { tokens } = outcome;
    // Known to the redactor from the moment they arrive, whether or not the save below succeeds.
    registerSecret(tokens.accessToken, `grant:${grantId}:access`);
    if (tokens.refreshToken) registerSecret(tokens.refreshToken, `grant:${grantId}:rt`);
    if (tokens.idToken) registerSecret(tokens.idToken, `grant:${grantId}:id`);
    const next = tokens.refreshToken ?? used;
    if (next !== used) {
      try {
        await vault.saveRotated(grantId, next, used);
        // Written and read back: this is what the keychain holds under this generation.
        if (generation) this.#known.set(grantId, { token: next, generation });
        this.#held.delete(grantId);
      } catch (err) {
        // The new token exists only in memory: hold it (never drop it) and save it before anything else is
        // sent for this grant. Keep the marker (after a crash the old token still works inside Xero's grace
        // window), do not use the new access token yet, and report it.
        this.#held.set(grantId, { token: next, replaced: used, generation, outcome });
        return this.#transient(grantId, keychainFailure(clock, err, 'save the renewed key to'));
      }
    } else {
      this.#held.delete(grantId);
      if (generation) this.#known.set(grantId, { token: used, generation });
    }
    await journal.end(grantId);
    const expiresAt = outcome.receivedAt + tokens.expiresIn * 1000;
    // An access token held while the keychain was down may have run out meanwhile; the cache drops it then.
    if (expiresAt > clock.now()) accessTokens.set(grantId, tokens.accessToken, expiresAt);
    this.#noteSkew(outcome.response.headers['date'], outcome);
    const at = isoNow(clock);
    await grants.updateGrant(grantId, (g) => {
      g.lastRefreshAt = at;
      g.refreshTokenIssuedAt = at;
      g.consecutiveFailures = 0;
      g.lastFailure = null;
      if (tokens.scope.length > 0) g.scopes = tokens.scope;
    });
    return { kind: 'refreshed', accessTokenExpiresAt: expiresAt };
  }

  #noteSkew(date: string | undefined, outcome: TokenCallOutcome): void {
    if (!date || !this.deps.onSkew) return;
    const received = outcome.ok ? outcome.receivedAt : this.deps.clock.now();
    const skew = estimateSkewMs(date, received, received);
    if (skew !== null) this.deps.onSkew(skew);
  }

  async #transient(grantId: string, failure: Failure): Promise<RefreshResult> {
    await this.deps.grants.updateGrant(grantId, (g) => {
      g.consecutiveFailures += 1;
      g.lastFailure = failure;
    });
    return { kind: 'transient', failure };
  }

  async #mark(grantId: string, state: 'revoked' | 'app-rejected', failure: Failure): Promise<void> {
    this.deps.accessTokens.delete(grantId);
    this.#held.delete(grantId);
    const at = isoNow(this.deps.clock);
    await this.deps.grants.updateGrant(
      grantId,
      (g) => {
        g.state = state;
        g.stateSince = at;
        g.lastFailure = failure;
        g.consecutiveFailures += 1;
      },
      true,
    );
  }
}

function keychainFailure(clock: Clock, err: unknown, doing: string): Failure {
  const kind = err instanceof KeychainError ? err.kind : typeof err === 'string' ? err : 'failed';
  return {
    kind: 'keychain',
    at: isoNow(clock),
    detail: `Could not ${doing} the keychain (${kind}).`,
  };
}
