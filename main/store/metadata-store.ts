// Over 500 lines on purpose: one class whose loading, recovery and coalesced writing share private state.
import { isoNow, type Clock, type TimerHandle } from '../core/clock.js';
import { CorruptFile, isDiskFull, type DocumentBackend } from './document-file.js';
import type { FileLock } from './file-lock.js';
import {
  InvalidMetadataError,
  NewerSchemaError,
  SCHEMA_VERSION,
  emptyMetadata,
  parseMetadata,
  validateMetadata,
  validateMetadataLight,
  type DeepReadonly,
  type MetadataDocument,
} from './schema.js';
import { ChangeTracker } from './change-tracker.js';
import type { CommitEvent, DocumentStore, Mutator, RecoveryEvent, UpdateOptions } from './ports.js';

/**
 * The metadata document in memory, persisted to one file shared by every Relink process of this user (the
 * app, a second instance, the CLI).
 *
 * Updates are mutators. `update(m)` applies `m` to the in-memory document at once (readers see it
 * immediately) and queues it. Queued mutators are written in batches — at most one write per `coalesceMs` —
 * because a refresh sweep over hundreds of grants changes the document hundreds of times a second and each
 * write replaces the whole file. Each write happens under the cross-process file lock:
 *
 *   lock → has the file changed since we last read or wrote it? (inode/size/mtime, then `revision`)
 *        → if so, re-read it and RE-APPLY the queued mutators on top of the fresh document
 *        → validate (zod) → write (temp + fsync + rename) → unlock
 *
 * so two processes updating different grants never lose each other's changes.
 *
 * WRITING MUTATORS. Because a mutator can run twice — once on the in-memory document, and again on a
 * fresher document re-read from disk — it must:
 * - find what it changes by id inside the document it is given (`doc.grants[id]`), never through an object
 *   captured from an earlier `get()` or an earlier run;
 * - compute values (timestamps, new ids) before calling `update`, not inside, so both runs write the same;
 * - tolerate the target being gone (another process deleted it) — check, then change;
 * - not perform side effects (I/O, events): it may run more than once.
 * Relative changes (`consecutiveFailures += 1`) are fine: each run starts from a document that does not
 * contain the change yet.
 *
 * Every update is announced once applied (`onCommit`, the DocumentStore port's commit event), naming the
 * records it changed as the store saw the mutator change them (change-tracker.ts).
 *
 * Damage is never silently reset: an unreadable or invalid file is moved aside (`relink.corrupt.<time>.json`)
 * and the last good copy (`relink.last-good.json`) restored, and `onRecovery` listeners are told. A file from
 * a newer schema is refused and left untouched.
 *
 * THE LAST GOOD COPY is written only by a process that has just written relink.json, and only with the
 * document that write put there (the backend verifies every write before its rename, so that document is
 * known to be on disk): after a durable change, at most every `lastGoodIntervalMs` otherwise, and once more
 * when the store is closed if it is behind. Opening never writes it: a read-only command (`relink status`)
 * must not write anything, least of all on a full disk, where a failed copy could only make things worse.
 *
 * The Clock's timers are unref'd (an idle engine must not keep a CLI alive), so while changes are queued the
 * store also holds one do-nothing ref'd interval: a process never exits with unwritten changes, or with a
 * durable update that can never settle. A CLI should still `close()` the store to learn about write errors.
 */

export type { Mutator, UpdateOptions } from './ports.js';

/** How long a durable change waits for company before it is written. */
const URGENT_WRITE_MS = 10;

export interface MetadataStoreOptions {
  /** Minimum time between two writes of the file (default 100 ms). */
  coalesceMs?: number;
  /** How often, at most, a successful write also refreshes `relink.last-good.json` (default 5 minutes). */
  lastGoodIntervalMs?: number;
  /** Upper bound of the retry back-off after a failed write (default 30 s). */
  maxRetryDelayMs?: number;
  /**
   * How often, at most, a write validates the bulk collections in full (default 30 s; 0 = every write).
   * Between full validations they are only copied: see validateMetadataLight.
   */
  fullValidationIntervalMs?: number;
}

export type { RecoveryEvent, RecoveryKind } from './ports.js';

export interface OpenResult {
  source: 'file' | 'new' | 'recovered';
  /** The schema version found on disk (migrated in memory if older; written back with the next update). */
  fromVersion: number | null;
  recovery: RecoveryEvent | null;
}

interface Pending {
  mutator: Mutator;
  waiter?: { resolve: () => void; reject: (error: unknown) => void };
}

export class MetadataStore implements DocumentStore {
  readonly #coalesceMs: number;
  readonly #lastGoodIntervalMs: number;
  readonly #maxRetryDelayMs: number;
  readonly #fullValidationIntervalMs: number;

  /** The live document: the last written/read document plus every queued mutator. */
  #doc: MetadataDocument | null = null;
  /** The document as last read from or written to disk; never mutated (a zod output, so a private copy). */
  /**
   * Revision of the document as last read from or written to disk. Only the number is kept, not a second
   * copy of a document that holds 10,000 connections: the rare paths that need the content (a mutator that
   * threw, a batch that failed validation) read it back from the file.
   */
  #baseRevision = 0;
  #fingerprint: string | null = null;
  #pending: Pending[] = [];
  #snapshot: DeepReadonly<MetadataDocument> | null = null;

  #timer: TimerHandle | null = null;
  #writing: Promise<void> | null = null;
  #lastWriteStartedAt = Number.NEGATIVE_INFINITY;
  #lastGoodAt = Number.NEGATIVE_INFINITY;
  /** Revision of the last document this process wrote to disk, and of the last one it copied to last-good. */
  #writtenRevision: number | null = null;
  #lastGoodRevision: number | null = null;
  #failures = 0;
  #lastFullValidation = Number.NEGATIVE_INFINITY;
  #closed = false;
  /** Set when the file turned out to belong to a newer Relink: no more writes, no more updates. */
  #refused: NewerSchemaError | null = null;
  #keepAlive: ReturnType<typeof setInterval> | null = null;

  readonly #recoveryListeners = new Set<(event: RecoveryEvent) => void>();
  readonly #errorListeners = new Set<(error: Error) => void>();
  readonly #commitListeners = new Set<(event: CommitEvent) => void>();
  readonly #changeListeners = new Set<() => void>();
  /** Watches each update's mutator to name what it changed (the commit event). */
  readonly #tracker = new ChangeTracker();

  /** For tests and benchmarks. */
  readonly stats = { writes: 0, rebases: 0, failedWrites: 0 };

  constructor(
    private readonly backend: DocumentBackend,
    private readonly clock: Clock,
    private readonly lock: FileLock,
    options: MetadataStoreOptions = {},
  ) {
    this.#coalesceMs = options.coalesceMs ?? 100;
    this.#lastGoodIntervalMs = options.lastGoodIntervalMs ?? 5 * 60_000;
    this.#maxRetryDelayMs = options.maxRetryDelayMs ?? 30_000;
    this.#fullValidationIntervalMs = options.fullValidationIntervalMs ?? 30_000;
  }

  get path(): string {
    return this.backend.path;
  }

  onRecovery(listener: (event: RecoveryEvent) => void): () => void {
    this.#recoveryListeners.add(listener);
    return () => this.#recoveryListeners.delete(listener);
  }

  /**
   * Told after every update this process commits (applies to the live document, which every reader sees from
   * then on), with the records it changed: the mutation is watched as it runs (change-tracker.ts). Updates
   * are watched only while at least one listener is subscribed. Changes another process wrote, adopted when
   * a write rebases, are not announced (yet): the firm database's store announces those (LISTEN/NOTIFY).
   */
  onCommit(listener: (event: CommitEvent) => void): () => void {
    this.#commitListeners.add(listener);
    return () => this.#commitListeners.delete(listener);
  }

  onChange(listener: () => void): () => void {
    this.#changeListeners.add(listener);
    return () => this.#changeListeners.delete(listener);
  }

  /** Write failures, rejected mutators, a failed last-good refresh. The store keeps retrying writes. */
  onError(listener: (error: Error) => void): () => void {
    this.#errorListeners.add(listener);
    return () => this.#errorListeners.delete(listener);
  }

  /**
   * Load the document under the lock. Throws NewerSchemaError (file left untouched) or an I/O error; damage
   * is recovered from and reported (in the result and through `onRecovery`).
   */
  async open(): Promise<OpenResult> {
    if (this.#doc) throw new Error('MetadataStore is already open');
    const release = await this.lock(this.backend.path);
    try {
      return this.#load();
    } finally {
      await release();
    }
  }

  /** A frozen snapshot of the current document (including changes not yet written). Do not mutate. */
  get(): DeepReadonly<MetadataDocument> {
    const doc = this.#requireOpen();
    this.#snapshot ??= deepFreeze(structuredClone(doc)) as DeepReadonly<MetadataDocument>;
    return this.#snapshot;
  }

  /**
   * The live document, without the copy `get()` makes: for hot paths (the engine reads grants thousands of
   * times in a sweep over a document with 10,000 connections). Callers must not mutate it and must not keep
   * it across an `update`.
   */
  peek(): DeepReadonly<MetadataDocument> {
    return this.#requireOpen() as DeepReadonly<MetadataDocument>;
  }

  /**
   * Apply `mutator` now and queue it for the next write. Rejects at once if the mutator throws (the
   * document is left as it was). Without `durable`, resolves as soon as the change is applied in memory.
   * See the class comment: mutators must be re-appliable.
   */
  update(mutator: Mutator, opts: UpdateOptions = {}): Promise<void> {
    const doc = this.#requireOpen();
    if (this.#closed) return Promise.reject(new Error('MetadataStore is closed'));
    if (this.#refused) return Promise.reject(this.#refused);
    let event: CommitEvent | null = null;
    try {
      // Watched only while someone listens: watching costs about twice the time of a mutator that loops over a
      // whole collection (see change-tracker.ts), and nobody should pay that for an event no one reads.
      if (this.#commitListeners.size > 0) event = this.#tracker.apply(doc, mutator);
      else mutator(doc);
    } catch (error) {
      // The mutator may have changed part of the document before throwing: rebuild it without it.
      this.#rebuild();
      return Promise.reject(error);
    }
    this.#snapshot = null;
    const entry: Pending = { mutator };
    this.#pending.push(entry);
    this.#holdProcess();
    if (opts.durable && this.#timer) this.#cancelTimer(); // re-armed below with the urgent delay
    const done = opts.durable
      ? new Promise<void>((resolve, reject) => {
          entry.waiter = { resolve, reject };
        })
      : Promise.resolve();
    this.#schedule();
    if (event) this.#emitCommit(event);
    for (const listener of this.#changeListeners) {
      try {
        listener();
      } catch (error) {
        this.#emitError(asError(error, 'A change listener failed'));
      }
    }
    return done;
  }

  /** Write everything queued now (not waiting for the coalescing window). Rejects if the write fails. */
  async flush(): Promise<void> {
    if (!this.#doc) return;
    for (;;) {
      this.#cancelTimer();
      if (this.#writing) {
        await this.#writing.catch(() => undefined);
        continue;
      }
      if (this.#pending.length === 0) return;
      if (this.#refused) throw this.#refused;
      await this.#write();
    }
  }

  /**
   * Flush and stop. Rejects (after stopping) if the queued changes could not be written. A process that wrote
   * since it last refreshed the last good copy refreshes it now from the document it wrote, so the copy is
   * not left behind by the ordinary (non-durable) changes of a short-lived CLI.
   */
  async close(): Promise<void> {
    try {
      await this.flush();
      if (this.#doc && this.#writtenRevision !== null && this.#writtenRevision !== this.#lastGoodRevision) await this.#catchUpLastGood();
    } finally {
      this.#closed = true;
      this.#cancelTimer();
      this.#releaseProcess();
    }
  }

  // --- Loading and recovery ----------------------------------------------------------------------------------

  #load(): OpenResult {
    const raw = this.backend.read();
    if (raw === undefined) {
      const restored = this.#restoreMissing();
      if (restored) return { source: 'recovered', fromVersion: null, recovery: restored };
      this.#install(emptyMetadata(), null);
      return { source: 'new', fromVersion: null, recovery: null };
    }
    let problem: string;
    if (raw instanceof CorruptFile) {
      problem = raw.reason;
    } else {
      try {
        const { doc, fromVersion } = parseMetadata(raw, this.backend.path, { consume: true });
        this.#install(doc, this.backend.fingerprint());
        return { source: 'file', fromVersion, recovery: null };
      } catch (error) {
        if (!(error instanceof InvalidMetadataError)) throw error; // NewerSchemaError: leave everything alone
        problem = error.reason;
      }
    }
    const recovery = this.#recoverOnLoad(problem);
    return { source: 'recovered', fromVersion: null, recovery };
  }

  #recoverOnLoad(reason: string): RecoveryEvent {
    const stamp = fileStamp(this.clock.now());
    const quarantinedPath = this.backend.moveAside(`relink.corrupt.${stamp}.json`) ?? this.backend.path;
    const lastGood = this.backend.lastGood.read();
    let lastGoodProblem = 'there is no last good copy';
    if (lastGood !== undefined && !(lastGood instanceof CorruptFile)) {
      try {
        const { doc } = parseMetadata(lastGood, this.backend.lastGood.path, { consume: true });
        this.#installRecovered(doc);
        return this.#emitRecovery({
          kind: 'restored-last-good',
          quarantinedPath,
          reason,
          severity: 'warning',
          message:
            `Relink's data file was damaged (${reason}). It was moved to ${quarantinedPath} and the last good copy ` +
            `was restored; changes made since that copy was saved may need to be checked again.`,
        });
      } catch (error) {
        if (!(error instanceof InvalidMetadataError)) throw error;
        lastGoodProblem = `the last good copy is not valid either (${error.reason})`;
      }
    } else if (lastGood instanceof CorruptFile) {
      lastGoodProblem = `the last good copy is damaged too (${lastGood.reason})`;
    }
    const lastGoodQuarantinedPath =
      lastGood === undefined ? undefined : (this.backend.lastGood.moveAside(`relink.last-good.corrupt-${stamp}.json`) ?? undefined);
    this.#installRecovered(emptyMetadata());
    return this.#emitRecovery({
      kind: 'started-empty',
      quarantinedPath,
      ...(lastGoodQuarantinedPath ? { lastGoodQuarantinedPath } : {}),
      reason: `${reason}; ${lastGoodProblem}`,
      severity: 'error',
      message:
        `Relink's data file was damaged (${reason}) and ${lastGoodProblem}. Relink started with no organisations, ` +
        `apps or grants. The damaged file was kept at ${quarantinedPath}; contact support before reconnecting. ` +
        `Refresh tokens in the keychain were not touched.`,
    });
  }

  /**
   * relink.json is missing but its last good copy is not: a recovery that moved a damaged file aside and then
   * could not write the restored one (a full disk), or a file deleted by hand. Starting empty would hide every
   * app, grant and organisation (and orphan their keychain entries), so the copy is used — in memory only: the
   * next change writes the file, and a read-only command still writes nothing.
   */
  #restoreMissing(): RecoveryEvent | null {
    const lastGood = this.backend.lastGood.read();
    if (lastGood === undefined || lastGood instanceof CorruptFile) return null;
    let doc: MetadataDocument;
    try {
      doc = parseMetadata(lastGood, this.backend.lastGood.path, { consume: true }).doc;
    } catch (error) {
      if (error instanceof InvalidMetadataError) return null;
      throw error; // NewerSchemaError: a newer Relink's copy; refuse, as for the file itself
    }
    this.#install(doc, null);
    return this.#emitRecovery({
      kind: 'restored-last-good',
      quarantinedPath: this.backend.path,
      reason: 'the data file is missing',
      severity: 'warning',
      message:
        `Relink's data file (${this.backend.path}) was missing, so Relink is using its last good copy; changes made ` +
        `since that copy was saved may need to be checked again. The file is written again with the next change.`,
    });
  }

  /**
   * The document a recovery settled on goes to disk at once. On a full disk it stays in memory and is written
   * with the next change: the damaged file is already aside, and after a restart #restoreMissing finds the
   * last good copy again, so failing the whole start would only hide the apps and grants from the advisor.
   */
  #installRecovered(doc: MetadataDocument): void {
    try {
      this.backend.write(doc);
    } catch (error) {
      if (!isDiskFull(error)) throw error;
      this.#install(doc, null);
      this.#emitError(asError(error, 'Could not write the recovered metadata'));
      return;
    }
    this.#install(doc, this.backend.fingerprint());
  }

  #install(doc: MetadataDocument, fingerprint: string | null): void {
    this.#baseRevision = doc.revision;
    this.#doc = doc;
    this.#fingerprint = fingerprint;
    this.#snapshot = null;
  }

  #emitRecovery(event: Omit<RecoveryEvent, 'at' | 'path'>): RecoveryEvent {
    const full: RecoveryEvent = { at: isoNow(this.clock), path: this.backend.path, ...event };
    for (const listener of this.#recoveryListeners) {
      try {
        listener(full);
      } catch {
        // A listener's failure must not undo a recovery that already happened.
      }
    }
    return full;
  }

  #emitCommit(event: CommitEvent): void {
    for (const listener of this.#commitListeners) {
      try {
        listener(event);
      } catch (error) {
        // A listener's failure must not undo or fail an update that is already applied.
        this.#emitError(asError(error, 'A commit listener failed'));
      }
    }
  }

  #emitError(error: Error): void {
    for (const listener of this.#errorListeners) {
      try {
        listener(error);
      } catch {
        // ignore: reporting must not break writing
      }
    }
  }

  /**
   * Under the lock, and only while relink.json is still the file this process last wrote (same fingerprint):
   * then the document in memory is exactly what is on disk, and no newer copy from another process is
   * replaced by an older one.
   */
  async #catchUpLastGood(): Promise<void> {
    const release = await this.lock(this.backend.path);
    try {
      const doc = this.#requireOpen();
      if (this.#pending.length === 0 && doc.revision === this.#writtenRevision && this.backend.fingerprint() === this.#fingerprint) {
        this.#refreshLastGood(doc);
      }
    } finally {
      await release().catch((e: unknown) => this.#emitError(asError(e, 'Could not release the metadata lock')));
    }
  }

  /** `doc` must be the document this process has just written (and so verified) to relink.json. */
  #refreshLastGood(doc: MetadataDocument): void {
    try {
      this.backend.lastGood.write(doc);
      this.#lastGoodAt = this.clock.monotonic();
      this.#lastGoodRevision = doc.revision;
    } catch (error) {
      this.#emitError(asError(error, 'Could not refresh the last good copy of the metadata'));
    }
  }

  // --- Writing -----------------------------------------------------------------------------------------------

  #schedule(): void {
    if (this.#timer || this.#writing || this.#pending.length === 0 || this.#closed || this.#refused) return;
    const backoff = this.#failures === 0 ? 0 : Math.min(this.#maxRetryDelayMs, this.#coalesceMs * 2 ** this.#failures);
    const due = this.#lastWriteStartedAt + Math.max(this.#coalesceMs, backoff);
    // Someone is waiting for a durable change (a consent, a revoked grant): write soon, still gathering what
    // else arrives in the next few milliseconds.
    const urgent = backoff === 0 && this.#pending.some((e) => e.waiter);
    const delay = Math.max(0, urgent ? Math.min(URGENT_WRITE_MS, due - this.clock.monotonic()) : due - this.clock.monotonic());
    this.#timer = this.clock.setTimer(() => {
      this.#timer = null;
      this.#write().catch(() => undefined); // reported through onError and the durable waiters
    }, delay);
  }

  /** Not a Clock timer on purpose: it never fires anything, it only keeps Node's event loop alive. */
  #holdProcess(): void {
    this.#keepAlive ??= setInterval(() => undefined, 2 ** 30);
  }

  #releaseProcess(): void {
    if (this.#keepAlive) clearInterval(this.#keepAlive);
    this.#keepAlive = null;
  }

  #cancelTimer(): void {
    if (this.#timer) this.clock.clearTimer(this.#timer);
    this.#timer = null;
  }

  #write(): Promise<void> {
    this.#writing ??= this.#writeBatch().finally(() => {
      this.#writing = null;
      if (this.#pending.length === 0 || this.#refused) this.#releaseProcess();
      this.#schedule();
    });
    return this.#writing;
  }

  async #writeBatch(): Promise<void> {
    if (this.#pending.length === 0) return;
    this.#lastWriteStartedAt = this.clock.monotonic();
    let release: (() => Promise<void>) | null = null;
    let batch: Pending[] = [];
    try {
      release = await this.lock(this.backend.path);
      // From here to the write everything is synchronous, so no update can slip between the re-read, the
      // re-application and the write: updates made while we waited for the lock are in this batch.
      batch = this.#pending.splice(0);
      this.#syncWithDisk(batch);
      const written = this.#validated(batch);
      // Throws, with the file untouched, unless every byte is on disk (document-file.ts writeVerified).
      this.backend.write(written);
      this.#baseRevision = written.revision;
      this.#writtenRevision = written.revision;
      this.#fingerprint = this.backend.fingerprint();
      this.stats.writes++;
      this.#failures = 0;
      // A durable change (a new or reconnected grant) is exactly what a restored copy must not miss.
      const durable = batch.some((e) => e.waiter);
      if (durable || this.clock.monotonic() - this.#lastGoodAt >= this.#lastGoodIntervalMs) this.#refreshLastGood(written);
      for (const entry of batch) entry.waiter?.resolve();
    } catch (thrown) {
      const error = asError(thrown, 'Could not write the metadata file');
      // The changes are still applied in memory: put them back in front and retry later.
      this.#pending.unshift(...batch);
      for (const entry of batch) {
        entry.waiter?.reject(error);
        delete entry.waiter;
      }
      this.#failures++;
      this.stats.failedWrites++;
      // A newer Relink owns the file now; retrying cannot help and writing would destroy its data.
      if (thrown instanceof NewerSchemaError) this.#refused = thrown;
      this.#emitError(error);
      throw error;
    } finally {
      if (release) await release().catch((e: unknown) => this.#emitError(asError(e, 'Could not release the metadata lock')));
    }
  }

  /**
   * Under the lock: if another process wrote since our last read or write, adopt its document and re-apply
   * this batch on top of it. A damaged file is quarantined and replaced by what we hold in memory; a file
   * from a newer Relink stops the write.
   */
  #syncWithDisk(batch: Pending[]): void {
    const fingerprint = this.backend.fingerprint();
    if (fingerprint === this.#fingerprint) return;
    if (fingerprint === null) {
      // Deleted behind our back: the write below recreates it from memory.
      this.#fingerprint = null;
      return;
    }
    const raw = this.backend.read();
    let problem: string | null = null;
    let fresh: { doc: MetadataDocument; fromVersion: number } | null = null;
    if (raw === undefined) return;
    if (raw instanceof CorruptFile) problem = raw.reason;
    else {
      try {
        fresh = parseMetadata(raw, this.backend.path, { consume: true });
      } catch (error) {
        if (!(error instanceof InvalidMetadataError)) throw error; // NewerSchemaError: never overwrite
        problem = error.reason;
      }
    }
    if (problem !== null || !fresh) {
      const quarantinedPath = this.backend.moveAside(`relink.corrupt.${fileStamp(this.clock.now())}.json`) ?? this.backend.path;
      this.#fingerprint = null;
      this.#emitRecovery({
        kind: 'rewrote-from-memory',
        quarantinedPath,
        reason: problem ?? 'unreadable',
        severity: 'warning',
        message:
          `Relink's data file was damaged (${problem}). It was moved to ${quarantinedPath} and rewritten from the ` +
          `copy this Relink window holds; changes another Relink process made since may be missing.`,
      });
      return;
    }
    this.#fingerprint = fingerprint;
    if (fresh.doc.revision === this.#baseRevision && fresh.fromVersion === SCHEMA_VERSION) return;
    // Someone else wrote: their document is the new base, our queued changes go on top of it.
    this.stats.rebases++;
    this.#baseRevision = fresh.doc.revision;
    const doc = fresh.doc;
    for (const entry of [...batch]) {
      try {
        entry.mutator(doc);
      } catch (error) {
        this.#drop(batch, entry, asError(error, 'An update could not be re-applied to the newer metadata'));
      }
    }
    this.#doc = doc;
    this.#snapshot = null;
  }

  /**
   * The document to write, validated. If the batch made it invalid, find the offending mutators by replaying
   * them one at a time on the base, drop those (rejecting their waiters) and keep the rest. Rare path: a bug
   * in a mutator, never normal operation.
   */
  #validated(batch: Pending[]): MetadataDocument {
    const doc = this.#requireOpen();
    doc.revision = this.#baseRevision + 1;
    try {
      const now = this.clock.monotonic();
      if (now - this.#lastFullValidation < this.#fullValidationIntervalMs) return validateMetadataLight(doc);
      const full = validateMetadata(doc);
      this.#lastFullValidation = now;
      return full;
    } catch (error) {
      if (!(error instanceof InvalidMetadataError)) throw error;
    }
    let good = this.#readBase();
    for (const entry of [...batch]) {
      const trial = structuredClone(good);
      try {
        entry.mutator(trial);
        trial.revision = this.#baseRevision + 1;
        validateMetadata(trial);
        good = trial;
      } catch (error) {
        this.#drop(batch, entry, asError(error, 'An update was refused'));
      }
    }
    good.revision = this.#baseRevision + 1;
    this.#doc = good;
    this.#snapshot = null;
    return validateMetadata(good);
  }

  #drop(batch: Pending[], entry: Pending, error: Error): void {
    batch.splice(batch.indexOf(entry), 1);
    entry.waiter?.reject(error);
    if (!entry.waiter) this.#emitError(error);
  }

  /** After a mutator threw half-way: the base plus every still-queued mutator. */
  #rebuild(): void {
    const doc = this.#readBase();
    for (const entry of [...this.#pending]) {
      try {
        entry.mutator(doc);
      } catch (error) {
        this.#drop(this.#pending, entry, asError(error, 'An update could not be re-applied'));
      }
    }
    this.#doc = doc;
    this.#snapshot = null;
  }

  /**
   * The document as on disk (what the last read or write left there), for replaying queued changes onto it.
   * If the file cannot be read back, the in-memory document is the best copy there is.
   */
  #readBase(): MetadataDocument {
    try {
      const raw = this.backend.read();
      // Nothing written yet: the base is the empty document the store started from.
      if (raw === undefined && this.#baseRevision === 0) return emptyMetadata();
      if (raw !== undefined && !(raw instanceof CorruptFile)) {
        const { doc } = parseMetadata(raw, this.backend.path, { consume: true });
        this.#baseRevision = doc.revision;
        return doc;
      }
    } catch (error) {
      this.#emitError(asError(error, 'Could not re-read the metadata file'));
    }
    return structuredClone(this.#requireOpen());
  }

  #requireOpen(): MetadataDocument {
    if (!this.#doc) throw new Error('MetadataStore is not open: call open() first');
    return this.#doc;
  }
}

/**
 * A timestamp usable in a file name on every platform (no colons), in short dot-separated parts, so that the
 * activity log's secret scrubber (which hides long opaque runs) leaves the quarantined file's name readable.
 */
function fileStamp(ms: number): string {
  const [date, time] = new Date(ms).toISOString().slice(0, 23).split('T') as [string, string];
  return `${date}.${time.replace(/[:.]/g, '-')}`;
}

function asError(value: unknown, context: string): Error {
  if (value instanceof Error) return value;
  return new Error(`${context}: ${String(value)}`);
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value as object)) deepFreeze(child);
  }
  return value;
}
