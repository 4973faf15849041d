import type { ActivityEntry } from '../../shared/domain.js';
import type { KeychainState } from '../secrets/keychain.js';
import type { DeepReadonly, MetadataDocument } from './schema.js';

/**
 * The storage ports: everything the service, the workflows and the refresh engine know about where Relink keeps
 * things. Today one profile folder and the OS keychain implement them (metadata-store.ts, activity-log.ts,
 * refresh-journal.ts, ../refresh/grant-lock.ts, ../secrets/vault.ts, wired by ../app/local-profile.ts); a firm
 * database (DESIGN.md §7, firm mode) is a second set of implementations of the same interfaces, chosen by the
 * composition root (../app/create-relink.ts), with no change to any service.
 *
 * Types only, no I/O, so any layer may import this file. It imports nothing but other type-only files.
 */

// ── the document store ─────────────────────────────────────────────────────────────────────────────────

/**
 * A change to the document. It may run more than once — on the document in memory, and again on a fresher
 * one (another process's or desktop's) when the store rebases — so it must find what it changes by id inside
 * the document it is given, compute values (times, new ids) before `update`, tolerate its target being gone,
 * and have no side effects. metadata-store.ts's class comment says why at length.
 */
export type Mutator = (doc: MetadataDocument) => void;

export interface UpdateOptions {
  /** Resolve only once this change is stored for good; reject if storing it fails. */
  durable?: boolean;
}

/** The document's collections keyed by id, the ones a commit event names ids of. */
export const DOCUMENT_COLLECTIONS = [
  'apps',
  'staff',
  'organisations',
  'grants',
  'connections',
  'incidents',
  'tracked',
  'passwordChanges',
  'reconnectRuns',
  'offboardings',
] as const satisfies ReadonlyArray<keyof MetadataDocument>;
export type DocumentCollection = (typeof DOCUMENT_COLLECTIONS)[number];

/**
 * What one committed update changed, as the store saw the mutation happen (callers never say it themselves,
 * so it cannot drift from what the mutator really did): per collection the ids of records added, changed or
 * removed, and whether the settings changed. An update that changed nothing names nothing.
 */
export interface CommitEvent {
  readonly ids: Readonly<Partial<Record<DocumentCollection, readonly string[]>>>;
  readonly settings: boolean;
}

/** The store had to repair a damaged document while opening or writing it (see metadata-store.ts). */
export type RecoveryKind =
  /** The file was damaged; the last good copy replaced it. Changes since that copy are lost. */
  | 'restored-last-good'
  /** The file and its last good copy were both unusable: Relink started with an empty document. */
  | 'started-empty'
  /** The file was damaged while this process held a good copy in memory, which was written in its place. */
  | 'rewrote-from-memory';

export interface RecoveryEvent {
  kind: RecoveryKind;
  at: string;
  /** The metadata file. */
  path: string;
  /** Where the damaged file was moved; it is kept for support and never deleted by Relink. */
  quarantinedPath: string;
  /** When the last good copy was unusable too, where it was moved. */
  lastGoodQuarantinedPath?: string;
  /** What was wrong with the file (never its content). */
  reason: string;
  /** One sentence for the advisor. */
  message: string;
  severity: 'warning' | 'error';
}

/**
 * The metadata document (apps, staff, organisations, grants, connections, incidents, workflows, settings).
 * Reads are synchronous and cheap because the engine reads grants thousands of times in a sweep; writes are
 * re-appliable mutators, so a store shared with other processes (or desktops) can rebase them on a newer
 * document instead of losing either side's changes.
 */
export interface DocumentStore {
  /**
   * The live document, changes not yet stored included. Callers must not mutate it and must not keep it across
   * an `update` (named `peek`, not `read`, for that reason: it is a look, not a copy).
   */
  peek(): DeepReadonly<MetadataDocument>;
  /**
   * Applies `mutator` now (readers see it at once) and stores it soon; `durable` waits until it is stored.
   * Rejects at once, leaving the document as it was, if the mutator throws.
   */
  update(mutator: Mutator, opts?: UpdateOptions): Promise<void>;
  /** Told after every committed update, with what it changed. Returns the unsubscribe function. */
  onCommit(listener: (event: CommitEvent) => void): () => void;
  /**
   * Told after every committed update, without naming what changed: free, as nothing is watched, for a host
   * that only needs to know that the picture moved (the status push, the health re-assessment).
   */
  onChange(listener: () => void): () => void;
  onRecovery(listener: (event: RecoveryEvent) => void): () => void;
  /** Failures to store changes (the store keeps retrying). */
  onError(listener: (error: Error) => void): () => void;
  /** Stores everything pending and stops; rejects (after stopping) if pending changes could not be stored. */
  close(): Promise<void>;
}

// ── the activity log ───────────────────────────────────────────────────────────────────────────────────

export type NewActivityEntry = Omit<ActivityEntry, 'ts'> & { ts?: string };

export interface ActivityQuery {
  /** Inclusive ISO time. */
  from?: string;
  /** Exclusive ISO time. */
  to?: string;
  action?: string;
  /** The newest `limit` matching entries (still returned oldest first). */
  limit?: number;
}

/** What Relink and the advisors did: append-only, scrubbed of secrets, the record audits and support read. */
export interface ActivityLogPort {
  /** Validates, scrubs and appends one entry; resolves with what was stored. */
  append(entry: NewActivityEntry): Promise<ActivityEntry>;
  /** Entries matching the query, oldest first. */
  read(query?: ActivityQuery): Promise<ActivityEntry[]>;
}

// ── the refresh journal ────────────────────────────────────────────────────────────────────────────────

export interface RefreshMarker {
  grantId: string;
  startedAt: string;
  pid: number;
  attempt: number;
}

/** A marker that exists but cannot be read: a refresh may have been in flight for this grant. */
export interface DamagedMarker {
  grantId: string;
  path: string;
  /** When the marker was last written (probably when the refresh started); null if even that was unreadable. */
  modifiedAt: string | null;
  reason: string;
}

export interface JournalContents {
  markers: RefreshMarker[];
  damaged: DamagedMarker[];
}

/**
 * The write-ahead "refresh in flight" marker per grant (security-anchors §3 H3), and each grant's token
 * generation stamp, which tells a process whether the secret vault may hold a token it has not seen.
 */
export interface RefreshJournalPort {
  /** Records a refresh about to be sent; resolves once the marker is stored for good. */
  begin(grantId: string, attempt?: number): Promise<RefreshMarker>;
  /** The refresh finished (rotated token persisted, or a terminal answer recorded). */
  end(grantId: string): Promise<void>;
  read(grantId: string): Promise<RefreshMarker | DamagedMarker | null>;
  /** Every marker left behind, damaged ones listed apart. */
  list(): Promise<JournalContents>;
  /** The grants whose refresh may have been in flight when a process died (damaged markers included). */
  interrupted(): Promise<string[]>;
  /** The grant's token generation stamp, or null if it never had one. */
  generation(grantId: string): Promise<string | null>;
  /** Replaces the grant's generation stamp (its stored token may change) and returns the new one. */
  bumpGeneration(grantId: string): Promise<string>;
}

// ── the grant lock ─────────────────────────────────────────────────────────────────────────────────────

export interface GrantLockContext {
  readonly grantId: string;
  /** Aborted (with the reason as its reason) when the lock can no longer be trusted. */
  readonly signal: AbortSignal;
  readonly compromised: boolean;
  /** Throws if the lock was lost. Call it right before persisting. */
  assertHeld(): void;
}

/**
 * One holder per grant across every process (and, in firm mode, every desktop) around read-token → refresh →
 * persist: two copies of one token set refreshing independently revoke each other.
 */
export interface GrantLockPort {
  /** Runs `fn` holding the grant's lock; `fn` re-reads the stored token first and checks `ctx` before persisting. */
  withLock<T>(grantId: string, fn: (ctx: GrantLockContext) => Promise<T> | T): Promise<T>;
}

// ── the secret vault ───────────────────────────────────────────────────────────────────────────────────

export interface StoredGrant {
  refreshToken: string;
  /** The refresh token `refreshToken` replaced; usable for a lost-response retry inside the grace window. */
  previous: string | null;
  /** When `previous` was set aside (ISO): the grace window runs from here. */
  previousSavedAt: string | null;
}

/** This desktop's own key pair in firm mode (main/firm/device-keys.ts): the firm key is sealed to it. */
export interface StoredDeviceKey {
  /** The X25519 private key, PKCS#8 DER in base64 (device-keys.ts encodes and decodes it). */
  privateKey: string;
  /** When it was generated (ISO). */
  createdAt: string;
}

/**
 * Grants' refresh tokens, web apps' client secrets and, in firm mode, this desktop's private key, nothing else.
 * Its state is visible (a locked or missing store of secrets is never a silent "no token"), and a rotated token
 * is read back before `saveRotated` resolves, so no caller uses an access token whose refresh token is not
 * safely stored.
 */
export interface SecretVault {
  /** `unknown` until the first probe. */
  readonly state: KeychainState | 'unknown';
  onStateChange(listener: (state: KeychainState) => void): () => void;
  /** Proves the vault stores and returns values now; resolves with what it found. */
  probe(): Promise<KeychainState>;
  /** Resolves when a rotated token could be saved now; throws when it could not. */
  ensureWritable(): Promise<void>;
  readGrant(grantId: string): Promise<StoredGrant | null>;
  saveInitial(grantId: string, refreshToken: string): Promise<void>;
  saveRotated(grantId: string, newRefreshToken: string, replacedRefreshToken: string): Promise<void>;
  deleteGrant(grantId: string): Promise<boolean>;
  saveClientSecret(appId: string, secret: string): Promise<void>;
  readClientSecret(appId: string): Promise<string | null>;
  deleteClientSecret(appId: string): Promise<boolean>;
  /** This desktop's firm key pair, or null if it has none (it never joined a firm, or left one). */
  readDeviceKey(): Promise<StoredDeviceKey | null>;
  /** Stores it and reads it back; resolves only once the keychain holds exactly this key. */
  saveDeviceKey(key: StoredDeviceKey): Promise<void>;
  deleteDeviceKey(): Promise<boolean>;
}

// ── a profile: all five together ───────────────────────────────────────────────────────────────────────

/** The storage one Relink runs on, opened and ready: what the composition root hands the service. */
export interface StoragePorts {
  store: DocumentStore;
  activity: ActivityLogPort;
  journal: RefreshJournalPort;
  lock: GrantLockPort;
  vault: SecretVault;
  /** What opening the document store had to repair, if anything (shown to the advisor once). */
  recovery: RecoveryEvent | null;
}
