import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { isoNow, type Clock } from '../core/clock.js';
import { registerSecret } from '../core/redact.js';
import type { SecretVault, StoredDeviceKey, StoredGrant } from '../store/ports.js';
import { KeychainError, isKeychainDown, type Keychain, type KeychainState } from './keychain.js';

/**
 * Relink's secrets in the OS keychain: one refresh token set per grant and one client secret per web app, and
 * in firm mode this desktop's private key (`device-key`), the one thing that opens the firm key.
 * Everything else (which orgs, which staff, health) lives in the metadata file; the keychain holds only what
 * would let someone act as the firm.
 *
 * Rules this class enforces (security-anchors §3 H3, §4.3, §4.4, §5):
 * - ONE entry per grant (`grant:<grantId>`), never per organisation: a grant covers many orgs, and per-org
 *   entries would multiply copies of one rotating token (which then break each other) and macOS prompts.
 * - A rotated token is read back and compared before `saveRotated` returns, so the caller never uses a new
 *   access token whose refresh token is not durably stored.
 * - The token it replaced is kept as `prev`, so a refresh whose response was lost can be retried with it
 *   inside Xero's 30-minute grace.
 * - A keychain that is locked or unreachable is a visible state, never "no token": before `probe()` has
 *   proved the keychain stores and returns values, and whenever it has not, every operation throws.
 */

export const DEFAULT_SERVICE_NAME = 'Relink';

/**
 * Windows Credential Manager caps a credential blob at CRED_MAX_CREDENTIAL_BLOB_SIZE = 5 × 512 = 2,560
 * bytes, and keyring-rs (behind @napi-rs/keyring) stores the value as UTF-16, so the practical cap is 1,280
 * characters (UTF-16 code units, which is what a JS string's length counts). Linux and macOS take far more,
 * but a value that only fits there would break the day the firm moves to Windows, so the cap applies
 * everywhere and is checked on the whole stored document, before anything is written.
 */
export const MAX_VALUE_LENGTH = 1_280;

/** The stored document: `prev` is what a lost-response retry inside Xero's 30-minute grace presents. */
const isoDate = z.iso.datetime({ offset: true });
const grantEntrySchema = z
  .object({
    v: z.literal(1),
    rt: z.string().min(1),
    prev: z.string().min(1).nullable(),
    prevSavedAt: isoDate.nullable(),
  })
  .strict();
type GrantEntry = z.infer<typeof grantEntrySchema>;

/** This desktop's firm key pair: the private key only (the public key is derived from it). */
const deviceKeyEntrySchema = z
  .object({
    v: z.literal(1),
    alg: z.literal('X25519'),
    pkcs8: z.base64().min(1),
    createdAt: isoDate,
  })
  .strict();
type DeviceKeyEntry = z.infer<typeof deviceKeyEntrySchema>;

export type { StoredGrant } from '../store/ports.js';

/** The stored entry exists but is not one of ours: an error, because reading it as "no token" loses a grant. */
export class CorruptSecretError extends KeychainError {
  constructor(account: string, reason: string, fix = 'reconnect this grant to replace it') {
    super('failed', `The keychain entry "${account}" is damaged (${reason}). Relink left it untouched; ${fix}.`);
    this.name = 'CorruptSecretError';
  }
}

const UNLOCK_HINT = 'Unlock your keychain (GNOME Keyring / macOS Keychain / Windows Credential Manager) and try again';

/**
 * A keychain found locked, missing or not answering is asked again (a fresh probe) on the next call made this
 * long after the last probe, so Relink notices an unlock by itself instead of failing fast for ever.
 */
export const REPROBE_AFTER_MS = 10_000;
/**
 * `ensureWritable()` trusts a keychain call that succeeded this recently; otherwise it proves the keychain
 * can be written (a probe) before the caller sends a refresh whose rotated token it must save.
 */
export const WRITABLE_FRESH_MS = 5_000;

/** The secret vault in the OS keychain (the local SecretVault port). */
export class KeychainVault implements SecretVault {
  #state: KeychainState | 'unknown' = 'unknown';
  #probing: Promise<KeychainState> | null = null;
  /** Clock time of the last probe, and of the last keychain call that succeeded. */
  #probedAt = Number.NEGATIVE_INFINITY;
  #okAt = Number.NEGATIVE_INFINITY;
  readonly #listeners = new Set<(state: KeychainState) => void>();
  /** Per-account queue, so a write and its read-back are never interleaved with another write of the entry. */
  readonly #queues = new Map<string, Promise<unknown>>();

  constructor(
    private readonly keychain: Keychain,
    readonly serviceName: string = DEFAULT_SERVICE_NAME,
    private readonly clock: Clock,
  ) {
    if (!serviceName) throw new Error('KeychainVault needs a non-empty keychain service name');
  }

  /** `unknown` until the first probe (operations probe on first use). */
  get state(): KeychainState | 'unknown' {
    return this.#state;
  }

  /** Called whenever the keychain's state changes (locked, unlocked again, stopped answering…). */
  onStateChange(listener: (state: KeychainState) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Resolves when the keychain can be written now; throws KeychainError (`locked`, `unavailable`,
   * `not-answering`) when it cannot. The refresher calls it under the grant's lock before it sends a refresh:
   * Xero rotates the token the moment it answers, and a rotated token that cannot be saved is one a crash
   * would lose. A call that succeeded in the last few seconds is proof enough; otherwise this probes.
   */
  async ensureWritable(): Promise<void> {
    if (this.#state === 'available' && this.clock.now() - this.#okAt < WRITABLE_FRESH_MS) return;
    await this.probe();
    this.#throwIfNotAvailable();
  }

  #setState(state: KeychainState): void {
    const before = this.#state;
    this.#state = state;
    if (state === 'available') this.#okAt = this.clock.now();
    if (before !== state) for (const listener of this.#listeners) listener(state);
  }

  /**
   * Prove the keychain works: write a random canary, read it back, delete it. A read alone proves nothing:
   * without a session bus libsecret answers null for everything (security-anchors §4.3). Any failure or
   * mismatch leaves the state `locked` or `unavailable`, never `available`. Call again after the user
   * unlocks the keychain.
   */
  probe(): Promise<KeychainState> {
    this.#probing ??= this.#probe().finally(() => {
      this.#probing = null;
    });
    return this.#probing;
  }

  async #probe(): Promise<KeychainState> {
    const account = `relink-canary-${randomBytes(8).toString('hex')}`;
    const value = `canary-${randomBytes(16).toString('hex')}`;
    let state: KeychainState;
    try {
      await this.keychain.set(this.serviceName, account, value);
      const back = await this.keychain.get(this.serviceName, account);
      const deleted = await this.keychain.delete(this.serviceName, account);
      state = back === value && deleted ? 'available' : 'unavailable';
    } catch (error) {
      state = error instanceof KeychainError && isKeychainDown(error.kind) ? error.kind : 'unavailable';
      // Best effort: do not leave a canary behind if the write got through before the failure.
      if (state !== 'not-answering') await this.keychain.delete(this.serviceName, account).catch(() => false);
    }
    this.#probedAt = this.clock.now();
    this.#setState(state);
    return state;
  }

  // --- Refresh tokens ------------------------------------------------------------------------------------

  async readGrant(grantId: string): Promise<StoredGrant | null> {
    const account = grantAccount(grantId);
    const raw = await this.#run(account, () => this.keychain.get(this.serviceName, account));
    if (raw === null) return null;
    const entry = parseGrantEntry(account, raw);
    registerGrantSecrets(grantId, entry);
    return { refreshToken: entry.rt, previous: entry.prev, previousSavedAt: entry.prevSavedAt };
  }

  /** The first refresh token of a grant (after a consent): nothing to keep as previous. */
  async saveInitial(grantId: string, refreshToken: string): Promise<void> {
    await this.#writeGrant(grantId, { v: 1, rt: refreshToken, prev: null, prevSavedAt: null });
  }

  /**
   * Store a rotated refresh token, keeping the one it replaced, then read the entry back and compare. Only
   * when this resolves may the caller use the new access token (security-anchors §3 H3). A read-back that
   * differs throws KeychainError('failed'): the caller keeps the new token in memory and retries the save.
   */
  async saveRotated(grantId: string, newRefreshToken: string, replacedRefreshToken: string): Promise<void> {
    await this.#writeGrant(grantId, {
      v: 1,
      rt: newRefreshToken,
      prev: replacedRefreshToken,
      prevSavedAt: isoNow(this.clock),
    });
  }

  async deleteGrant(grantId: string): Promise<boolean> {
    const account = grantAccount(grantId);
    return this.#run(account, () => this.keychain.delete(this.serviceName, account));
  }

  async #writeGrant(grantId: string, entry: GrantEntry): Promise<void> {
    const account = grantAccount(grantId);
    requireToken(entry.rt, 'refresh token');
    if (entry.prev !== null) requireToken(entry.prev, 'previous refresh token');
    registerGrantSecrets(grantId, entry);
    await this.#writeVerified(account, JSON.stringify(entry), 'refresh token entry');
  }

  // --- Client secrets of web apps ------------------------------------------------------------------------

  async saveClientSecret(appId: string, secret: string): Promise<void> {
    requireToken(secret, 'client secret');
    registerSecret(secret, `app:${appId}:secret`);
    await this.#writeVerified(appAccount(appId), secret, 'client secret');
  }

  async readClientSecret(appId: string): Promise<string | null> {
    const account = appAccount(appId);
    const secret = await this.#run(account, () => this.keychain.get(this.serviceName, account));
    if (secret !== null) registerSecret(secret, `app:${appId}:secret`);
    return secret;
  }

  async deleteClientSecret(appId: string): Promise<boolean> {
    const account = appAccount(appId);
    return this.#run(account, () => this.keychain.delete(this.serviceName, account));
  }

  // --- This desktop's firm key pair (firm mode) --------------------------------------------------------------

  async readDeviceKey(): Promise<StoredDeviceKey | null> {
    const raw = await this.#run(DEVICE_KEY_ACCOUNT, () => this.keychain.get(this.serviceName, DEVICE_KEY_ACCOUNT));
    if (raw === null) return null;
    const entry = parseEntry(DEVICE_KEY_ACCOUNT, raw, deviceKeyEntrySchema, 'remove this desktop from the firm and join it again');
    registerSecret(entry.pkcs8, DEVICE_KEY_ACCOUNT);
    return { privateKey: entry.pkcs8, createdAt: entry.createdAt };
  }

  /**
   * Stores this desktop's private key and reads it back. It replaces any key already there: the caller (firm
   * create or join) makes sure nothing is still sealed to the old one.
   */
  async saveDeviceKey(key: StoredDeviceKey): Promise<void> {
    const entry: DeviceKeyEntry = { v: 1, alg: 'X25519', pkcs8: key?.privateKey, createdAt: key?.createdAt };
    const parsed = deviceKeyEntrySchema.safeParse(entry);
    if (!parsed.success) throw new TypeError(`Refusing to store a malformed device key (${issueSummary(parsed.error.issues)})`);
    registerSecret(entry.pkcs8, DEVICE_KEY_ACCOUNT);
    await this.#writeVerified(DEVICE_KEY_ACCOUNT, JSON.stringify(entry), 'device key');
  }

  async deleteDeviceKey(): Promise<boolean> {
    return this.#run(DEVICE_KEY_ACCOUNT, () => this.keychain.delete(this.serviceName, DEVICE_KEY_ACCOUNT));
  }

  // --- Plumbing --------------------------------------------------------------------------------------------

  async #writeVerified(account: string, value: string, what: string): Promise<void> {
    if (value.length > MAX_VALUE_LENGTH) {
      throw new KeychainError(
        'too-large',
        `The ${what} for "${account}" is ${value.length} characters; the keychain can hold at most ${MAX_VALUE_LENGTH} ` +
          `(Windows Credential Manager's limit), so Relink refused to store it. Nothing was changed.`,
      );
    }
    await this.#run(account, async () => {
      await this.keychain.set(this.serviceName, account, value);
      const back = await this.keychain.get(this.serviceName, account);
      if (back !== value) {
        throw new KeychainError(
          'failed',
          `The keychain did not return the ${what} for "${account}" that was just saved ` +
            `(${back === null ? 'it answered "not found"' : 'it answered a different value'}). ` +
            `The new value is not safely stored; keep it in memory and retry. ${UNLOCK_HINT}.`,
        );
      }
    });
  }

  /** Every operation: make sure the keychain is known to work, serialise per account, translate failures. */
  async #run<T>(account: string, op: () => Promise<T>): Promise<T> {
    if (this.#state === 'unknown' || (this.#state !== 'available' && this.clock.now() - this.#probedAt >= REPROBE_AFTER_MS)) {
      await this.probe();
    }
    this.#throwIfNotAvailable();
    const previous = this.#queues.get(account) ?? Promise.resolve();
    const result = previous.then(op, op);
    const settled = result.then(
      () => undefined,
      () => undefined,
    );
    this.#queues.set(account, settled);
    try {
      const value = await result;
      this.#okAt = this.clock.now();
      return value;
    } catch (error) {
      throw this.#translate(error, account);
    } finally {
      if (this.#queues.get(account) === settled) this.#queues.delete(account);
    }
  }

  #throwIfNotAvailable(): void {
    if (this.#state === 'locked') {
      throw new KeychainError('locked', `The keychain is locked. ${UNLOCK_HINT}.`);
    }
    if (this.#state === 'not-answering') {
      throw new KeychainError('not-answering', 'The keychain is not answering. Relink will keep trying; nothing was changed.');
    }
    if (this.#state === 'unavailable') {
      throw new KeychainError(
        'unavailable',
        `The keychain is not available (Linux needs GNOME Keyring, KWallet or another Secret Service running in ` +
          `your desktop session). ${UNLOCK_HINT}.`,
      );
    }
  }

  /** A keychain that locks while Relink runs changes the state, so the UI shows it and later calls fail fast. */
  #translate(error: unknown, account: string): Error {
    if (error instanceof KeychainError) {
      if (isKeychainDown(error.kind)) {
        // The next call re-probes after REPROBE_AFTER_MS, counted from now.
        this.#probedAt = this.clock.now();
        this.#setState(error.kind);
        return error.kind === 'not-answering' ? error : new KeychainError(error.kind, `${error.message} ${UNLOCK_HINT}.`);
      }
      return error;
    }
    return new KeychainError('failed', `Keychain operation on "${account}" failed unexpectedly.`);
  }
}

export const grantAccount = (grantId: string) => `grant:${requireId(grantId, 'grant id')}`;
export const appAccount = (appId: string) => `app-secret:${requireId(appId, 'app id')}`;
/** One per keychain service (that is, per profile): a desktop belongs to one firm at a time. */
export const DEVICE_KEY_ACCOUNT = 'device-key';

function requireId(id: string, what: string): string {
  // Ids become keychain account names: keep them printable and bounded.
  if (typeof id !== 'string' || id.length === 0 || id.length > 200 || /[\s\p{Cc}]/u.test(id)) {
    throw new TypeError(`Invalid ${what} for a keychain entry`);
  }
  return id;
}

/** Whatever holds a grant's tokens makes them known to the redactor, so no log line or message can show them. */
function registerGrantSecrets(grantId: string, entry: GrantEntry): void {
  if (entry.prev !== null) registerSecret(entry.prev, `grant:${grantId}:rt`);
  registerSecret(entry.rt, `grant:${grantId}:rt`);
}

function requireToken(value: string, what: string): void {
  if (typeof value !== 'string' || value.length === 0) throw new TypeError(`Refusing to store an empty ${what}`);
}

function parseGrantEntry(account: string, raw: string): GrantEntry {
  return parseEntry(account, raw, grantEntrySchema);
}

function parseEntry<T>(account: string, raw: string, schema: z.ZodType<T>, fix?: string): T {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw new CorruptSecretError(account, 'not JSON', fix);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw new CorruptSecretError(account, `unexpected shape: ${issueSummary(parsed.error.issues)}`, fix);
  return parsed.data;
}

/** Issue paths and codes only: the messages of a failed parse can quote the input, which is a secret. */
function issueSummary(issues: readonly z.core.$ZodIssue[]): string {
  return issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.code}`).join(', ');
}
