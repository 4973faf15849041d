import { ChangeTracker } from '../../store/change-tracker.js';
import { DOCUMENT_COLLECTIONS, type CommitEvent, type DocumentCollection, type DocumentStore, type Mutator, type RecoveryEvent, type UpdateOptions } from '../../store/ports.js';
import { emptyMetadata, type DeepReadonly, type MetadataDocument } from '../../store/schema.js';
import { ChangeListener, type ListenClient } from './change-listener.js';
import { applyChangeRows } from './document-apply.js';
import { DocumentEvents } from './document-events.js';
import { addKeys, isSubset, keyOf, keysOfEvent, replayOnCurrent, unionKeys, type Keys, type PendingUpdate } from './document-rebase.js';
import { CHANGE_CHANNEL, type ChangeRow } from './document-tables.js';
import { WriteConflict, isEmptyPlan, planWrite, readChanges, readCurrent, writeChanges, type FirmDocumentDatabase } from './document-transactions.js';
import { firmSchemaProblemOf } from './migrate.js';

/**
 * The DocumentStore port over the firm database (DESIGN.md §7, firm mode; issue 12): the same contract as the
 * one-file store (main/store/metadata-store.ts), so no service changes when a desktop joins a firm.
 *
 * - open() reads every collection's records and the firm's settings into one in-memory MetadataDocument, so
 *   peek() stays synchronous, and remembers the highest change number seen (`seq`).
 * - update(m) applies `m` to that document at once, watched by the ChangeTracker, which names the records it
 *   changed. Those ids are marked dirty; a batch writes exactly the dirty records (their jsonb at the revision
 *   read, or a row delete, which the schema notes in relink.deletions) in one transaction, soon (coalesced) or at once for
 *   `durable`, and announces it with NOTIFY (payload: the change number and this store's instance id, tiny).
 *   A failed write (the database unreachable or restarting) keeps the ids dirty and the change in memory, is
 *   told through onError, and is retried with back-off, and again the moment the listener is back.
 * - A dedicated connection LISTENs (change-listener.ts). On a notification from another desktop, or whenever the
 *   LISTEN is re-established, the store reads everything after `seq` (rows and deletions, in one statement) and
 *   applies what differs from its document, then emits onCommit (naming the ids) and onChange. Its own
 *   notifications are skipped; its own rows, read back later, equal the document and are skipped too.
 *
 * CONFLICTS between desktops: optimistic concurrency and a rebase, as the one-file store does (metadata-store.ts).
 * Each record's `revision` as last read is remembered, and every update not yet committed is kept (its mutator,
 * in order). A batch writes each record only if its row is still at that revision; on a conflict the whole
 * transaction is rolled back, the records are read again, and the pending mutators re-applied on the database's
 * versions and written again (document-rebase.ts says how, and what happens to deletes, settings, and a mutator
 * that throws on the newer record).
 * Ordering: change numbers come from one sequence and are handed out before commit, so a read could see 11
 * committed while 10 is still in flight and skip past 10 for ever. Document writes therefore hold the
 * document lock shared and change reads hold it exclusively (document-tables.ts, DOCUMENT_LOCK), each only for
 * its own short transaction (never across an HTTP call). Writes to the grants table that do not take the lock
 * (leases.ts, rotation-commit.ts) change lease columns; a `recordPatch` of rotation-commit.ts that committed in
 * that window would be seen only with the grant's next change (see the report of this file's author).
 *
 * Secrets: the store writes only a table's key, its typed columns, `record`, `revision` and `updated_by`; never a
 * sealed token or client secret column. Records are validated with their strict schemas before writing, so no
 * stray field (a token someone put on a record) is ever written; such a record is refused through onError.
 *
 * Queries go through `FirmDocumentDatabase` (document-transactions.ts runs them), which a pg Pool satisfies; this
 * file imports no `pg`.
 */

export interface FirmDocumentStoreOptions {
  /** Writes and change reads. */
  db: FirmDocumentDatabase;
  /** Where the dedicated LISTEN connection comes from (default: a connection of `db`, kept for good). */
  listenDb?: { connect(): Promise<ListenClient>; end?(): Promise<void> };
  /** This desktop's id in relink.devices, written as `updated_by` (null: not recorded). */
  deviceId?: string | null;
  /** Minimum time between two write transactions (default 50 ms). */
  coalesceMs?: number;
  /** Upper bound of the retry back-off after a failed write (default 5 s). */
  maxRetryDelayMs?: number;
  /** Whether close() ends the pools it was given (default true). */
  endPoolsOnClose?: boolean;
}

const URGENT_WRITE_MS = 5;
/** Rebases of one batch, one after the other, before it counts as a failed write (and is retried later). */
const MAX_REBASES = 8;
const noop = () => undefined;

export class FirmDocumentStore implements DocumentStore {
  readonly #db: FirmDocumentDatabase;
  readonly #listener: ChangeListener;
  readonly #deviceId: string | null;
  readonly #coalesceMs: number;
  readonly #maxRetryDelayMs: number;
  readonly #endPools: boolean;
  readonly #listenDb: FirmDocumentStoreOptions['listenDb'];
  /** Tells this store's own notifications apart from other desktops'. */
  readonly #instance = `${process.pid}.${Math.random().toString(36).slice(2, 10)}`;

  #doc: MetadataDocument | null = null;
  /** The highest change number read from the database: the next read asks for what came after it. */
  #seq = -1n;

  /** Records changed in memory and not yet written, by collection; and whether the settings are. */
  #dirty = new Map<DocumentCollection, Set<string>>();
  #dirtySettings = false;
  /** The updates not yet committed, oldest first: re-applied on a rebase. */
  #entries: PendingUpdate[] = [];
  /** Each record's revision as last read from (or written to) the database; none: no row as far as we know. */
  readonly #revisions = new Map<string, string>();
  /** Being written right now (still "local" for the conflict rule until the write ends). */
  #inFlight = new Map<DocumentCollection, Set<string>>();

  #timer: ReturnType<typeof setTimeout> | null = null;
  #keepAlive: ReturnType<typeof setInterval> | null = null;
  /** Every database operation runs on this chain, one at a time: a write and a change read never overlap. */
  #chain: Promise<unknown> = Promise.resolve();
  #readQueued = false;
  #failures = 0;
  #lastWriteAt = Number.NEGATIVE_INFINITY;
  #closed = false;
  #refused: Error | null = null;

  readonly #tracker = new ChangeTracker();
  readonly #events = new DocumentEvents();

  readonly stats = { writes: 0, failedWrites: 0, reads: 0, applied: 0, echoesSkipped: 0, rebases: 0 };

  constructor(opts: FirmDocumentStoreOptions) {
    this.#db = opts.db;
    this.#deviceId = opts.deviceId ?? null;
    this.#coalesceMs = opts.coalesceMs ?? 50;
    this.#maxRetryDelayMs = opts.maxRetryDelayMs ?? 5_000;
    this.#endPools = opts.endPoolsOnClose ?? true;
    this.#listenDb = opts.listenDb;
    const listenConnect = opts.listenDb ? () => opts.listenDb!.connect() : () => this.#db.connect();
    this.#listener = new ChangeListener({
      connect: listenConnect,
      channel: CHANGE_CHANNEL,
      onNotify: (payload) => this.#onNotify(payload),
      onListening: (again) => {
        // Whatever happened while deaf (or between open's read and this LISTEN): read it; and writes that
        // waited for the database can go now.
        this.#queueRead();
        if (again && this.#hasPending()) this.#kickWrite();
      },
      onError: (error) => this.#emitError(error),
    });
  }

  // ── the port ─────────────────────────────────────────────────────────────────────────────────────────

  /** Loads the document and starts listening. Throws if the database cannot be read (nothing to show yet). */
  async open(): Promise<void> {
    if (this.#doc) throw new Error('FirmDocumentStore is already open');
    const doc = emptyMetadata();
    const rows = await this.#readChanges(-1n);
    this.#doc = doc;
    this.#applyRows(rows, { initial: true });
    await this.#listener.start();
  }

  peek(): DeepReadonly<MetadataDocument> {
    return this.#requireOpen() as DeepReadonly<MetadataDocument>;
  }

  update(mutator: Mutator, opts: UpdateOptions = {}): Promise<void> {
    const doc = this.#requireOpen();
    if (this.#closed) return Promise.reject(new Error('FirmDocumentStore is closed'));
    if (this.#refused) return Promise.reject(this.#refused);
    let thrown: { error: unknown } | null = null;
    const event = this.#tracker.apply(doc, (d) => {
      try {
        mutator(d);
      } catch (error) {
        thrown = { error };
      }
    });
    if (thrown) {
      // The mutator may have changed part of what it touched before throwing: put those records back as the
      // database has them (#restoreFromDatabase says what that costs).
      this.#restoreFromDatabase(event);
      return Promise.reject((thrown as { error: unknown }).error);
    }
    const changed = this.#markDirty(event);
    if (!changed) return Promise.resolve();
    this.#holdProcess();
    const entry: PendingUpdate = { mutator, ids: keysOfEvent(event), settings: event.settings };
    this.#entries.push(entry);
    const done = opts.durable ? new Promise<void>((resolve, reject) => (entry.waiter = { resolve, reject })) : Promise.resolve();
    this.#schedule(opts.durable === true);
    this.#announce(event);
    return done;
  }

  onCommit(listener: (event: CommitEvent) => void): () => void {
    return this.#events.onCommit(listener);
  }

  onChange(listener: () => void): () => void {
    return this.#events.onChange(listener);
  }

  /** The firm store never repairs a damaged file; kept for the port (nothing is emitted). */
  onRecovery(listener: (event: RecoveryEvent) => void): () => void {
    return this.#events.onRecovery(listener);
  }

  onError(listener: (error: Error) => void): () => void {
    return this.#events.onError(listener);
  }

  /** Writes everything pending now. Rejects if that write fails (the changes stay pending). */
  async flush(): Promise<void> {
    if (!this.#doc) return;
    this.#cancelTimer();
    while (this.#hasPending()) {
      if (this.#refused) throw this.#refused;
      await this.#enqueue(() => this.#writeBatch());
    }
    await this.#chain.catch(() => undefined);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    let failure: unknown = null;
    try {
      await this.flush();
    } catch (error) {
      failure = error;
    } finally {
      this.#closed = true;
      this.#cancelTimer();
      await this.#listener.stop();
      await this.#chain.catch(() => undefined);
      this.#releaseProcess();
      for (const e of this.#entries) e.waiter?.reject(new Error('FirmDocumentStore closed before this change was stored'));
      if (this.#endPools) {
        await this.#db.end().catch(() => undefined);
        if (this.#listenDb?.end) await this.#listenDb.end().catch(() => undefined);
      }
    }
    if (failure) throw failure;
  }

  /** Whether the LISTEN connection is up (for the window's "firm database unreachable since …"). */
  get listening(): boolean {
    return this.#listener.listening;
  }

  /** Whether changes are waiting to be written. */
  get pending(): boolean {
    return this.#hasPending();
  }

  // ── writing ──────────────────────────────────────────────────────────────────────────────────────────

  #markDirty(event: CommitEvent): boolean {
    let any = event.settings;
    if (event.settings) this.#dirtySettings = true;
    for (const collection of DOCUMENT_COLLECTIONS) {
      const ids = event.ids[collection];
      if (!ids || ids.length === 0) continue;
      any = true;
      let set = this.#dirty.get(collection);
      if (!set) this.#dirty.set(collection, (set = new Set()));
      for (const id of ids) set.add(id);
    }
    return any;
  }

  #hasPending(): boolean {
    return this.#dirtySettings || [...this.#dirty.values()].some((s) => s.size > 0);
  }

  #schedule(urgent: boolean): void {
    if (this.#closed || this.#refused || !this.#hasPending()) return;
    const backoff = this.#failures === 0 ? 0 : Math.min(this.#maxRetryDelayMs, this.#coalesceMs * 2 ** this.#failures);
    const wait = Math.max(this.#coalesceMs, backoff) - (performance.now() - this.#lastWriteAt);
    const delay = Math.max(0, urgent && backoff === 0 ? Math.min(URGENT_WRITE_MS, wait) : wait);
    if (this.#timer && !urgent) return;
    this.#cancelTimer();
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#kickWrite();
    }, delay);
    this.#timer.unref?.();
  }

  #kickWrite(): void {
    this.#cancelTimer();
    this.#enqueue(() => this.#writeBatch()).catch(() => undefined);
  }

  #enqueue<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#chain.then(task, task);
    this.#chain = run.catch(() => undefined);
    return run;
  }

  async #writeBatch(): Promise<void> {
    if (!this.#hasPending() || this.#refused) return;
    this.#lastWriteAt = performance.now();
    try {
      for (let rebases = 0; ; rebases++) {
        try {
          await this.#writeOnce();
          this.#failures = 0;
          return;
        } catch (thrown) {
          if (!(thrown instanceof WriteConflict) || rebases >= MAX_REBASES) throw thrown;
        }
        // Another desktop changed some of these records since they were read: rebase on its versions, again.
        this.stats.rebases++;
        await this.#rebase(new Map());
      }
    } catch (thrown) {
      this.#failures++;
      this.stats.failedWrites++;
      const problem = firmSchemaProblemOf(thrown);
      // A newer Relink migrated the database: writing cannot succeed until this one is updated.
      if (problem) this.#refused = Object.assign(new Error(problem.message), { code: problem.code });
      const cause = thrown instanceof Error ? thrown : new Error(String(thrown));
      const what = thrown instanceof WriteConflict ? `other desktops kept changing the same records (${MAX_REBASES} rebases): ` : '';
      const told = this.#refused ?? new Error(`Could not write changes to the firm database (they are kept and retried): ${what}${cause.message}`, { cause });
      // The changes stay pending (and in the document); their durable waiters are told now.
      for (const e of this.#entries) {
        e.waiter?.reject(told);
        delete e.waiter;
      }
      this.#emitError(told);
      throw told;
    } finally {
      this.#inFlight = new Map();
      if (this.#hasPending()) this.#schedule(this.#entries.some((e) => e.waiter));
      else this.#releaseProcess();
    }
  }

  /** One write transaction of everything pending now; throws (the batch put back) if it fails or conflicts. */
  async #writeOnce(): Promise<void> {
    // Take the batch: what is dirty now. Changes made while it is written are the next batch.
    const batch = this.#dirty;
    const settings = this.#dirtySettings;
    const entries = this.#entries.splice(0);
    this.#dirty = new Map();
    this.#dirtySettings = false;
    this.#inFlight = batch;
    try {
      const expected = (collection: Parameters<typeof keyOf>[0], id: string) => this.#revisions.get(keyOf(collection, id)) ?? null;
      const { plan, refused } = planWrite(this.#requireOpen(), batch, settings, expected);
      for (const message of refused) this.#emitError(new Error(message));
      if (!isEmptyPlan(plan)) {
        const announcement = JSON.stringify({ by: this.#instance });
        const { noFirmRow, revisions } = await writeChanges(this.#db, plan, this.#deviceId, announcement);
        this.stats.writes++;
        for (const { collection, id, revision } of revisions) {
          if (revision === null) this.#revisions.delete(keyOf(collection, id));
          else this.#revisions.set(keyOf(collection, id), revision);
        }
        if (noFirmRow) this.#emitError(new Error('The firm database has no firm yet (relink firm create), so the settings were not stored there'));
      }
      for (const e of entries) e.waiter?.resolve();
    } catch (thrown) {
      // Put the batch back in front (merged with what changed since); the document keeps the changes.
      this.#entries.unshift(...entries);
      addKeys(this.#dirty, batch);
      if (settings) this.#dirtySettings = true;
      throw thrown;
    } finally {
      this.#inFlight = new Map();
    }
  }

  /**
   * Rebase (see CONFLICTS): what others changed since `seq`, then every record a pending update touched (and
   * `extra`) put back as the database has it now, and the pending mutators re-applied on top.
   */
  async #rebase(extra: Keys, extraSettings = false): Promise<void> {
    this.#applyRows(await this.#readChanges(this.#seq), { initial: false });
    const doc = this.#requireOpen();
    let keys = unionKeys(extra, this.#dirty, ...this.#entries.map((e) => e.ids));
    for (let round = 0; round < 20; round++) {
      const current = await readCurrent(this.#db, keys);
      // Updates made while reading: their records must have been read too before anything is re-applied.
      const all = unionKeys(this.#dirty, ...this.#entries.map((e) => e.ids));
      if (!isSubset(all, keys)) {
        keys = unionKeys(keys, all);
        continue;
      }
      const settings = extraSettings || this.#dirtySettings || this.#entries.some((e) => e.settings);
      const { needs } = replayOnCurrent({
        doc,
        current,
        keys,
        settings,
        entries: this.#entries,
        tracker: this.#tracker,
        revisions: this.#revisions,
        dropped: (entry, error) => {
          // As the one-file store does: a durable update is told through its promise, any other through onError.
          entry.waiter?.reject(error);
          if (!entry.waiter) this.#emitError(error);
        },
        unreadable: (message) => this.#emitError(new Error(message)),
      });
      if (needs) {
        keys = unionKeys(keys, needs);
        continue;
      }
      this.#dirty = unionKeys(...this.#entries.map((e) => e.ids));
      this.#dirtySettings = this.#entries.some((e) => e.settings);
      const ids: Partial<Record<DocumentCollection, string[]>> = {};
      for (const [collection, set] of unionKeys(keys, this.#dirty)) ids[collection] = [...set];
      this.#announce({ ids, settings });
      return;
    }
    throw new Error('Could not rebase the pending changes: the records they touch kept changing');
  }

  // ── reading other desktops' changes ──────────────────────────────────────────────────────────────────

  #onNotify(payload: string): void {
    try {
      const parsed = JSON.parse(payload) as { by?: string };
      if (parsed.by === this.#instance) {
        this.stats.echoesSkipped++;
        return;
      }
    } catch {
      // not ours to understand: read anyway
    }
    this.#queueRead();
  }

  /** One read at a time, and one more after it if notifications arrived meanwhile. */
  #queueRead(): void {
    if (this.#readQueued || this.#closed || !this.#doc) return;
    this.#readQueued = true;
    this.#enqueue(async () => {
      this.#readQueued = false;
      if (this.#closed) return;
      const rows = await this.#readChanges(this.#seq);
      this.#applyRows(rows, { initial: false });
    }).catch((error: unknown) => {
      this.#emitError(new Error(`Could not read changes from the firm database: ${(error as Error).message}`, { cause: error }));
      // Try again soon while the listener is up; if it is down, its reconnect reads again.
      if (this.#listener.listening) setTimeout(() => this.#queueRead(), 500).unref?.();
    });
  }

  async #readChanges(since: bigint): Promise<ChangeRow[]> {
    const rows = await readChanges(this.#db, since);
    this.stats.reads++;
    return rows;
  }

  /** Applies what the database holds and the document does not (see CONFLICTS), and tells the listeners. */
  #applyRows(rows: ChangeRow[], { initial }: { initial: boolean }): void {
    const doc = this.#requireOpen();
    const { ids, settings, seq } = applyChangeRows({
      doc,
      rows,
      seq: this.#seq,
      isLocal: (collection, id) => this.#dirty.get(collection)?.has(id) || this.#inFlight.get(collection)?.has(id) || false,
      settingsLocal: this.#dirtySettings,
      revisions: this.#revisions,
      stats: this.stats,
      unreadable: (message) => this.#emitError(new Error(message)),
    });
    this.#seq = seq;
    doc.revision = Number(seq < 0n ? 0n : seq);
    if (initial) return;
    if (settings || Object.keys(ids).length > 0) this.#announce({ ids, settings });
  }

  /**
   * After a mutator threw: the records it touched are put back as the database holds them (and removed if the
   * database has none), with the pending updates re-applied on them (a rebase, on the chain); until then they
   * show what the mutator left.
   */
  #restoreFromDatabase(event: CommitEvent): void {
    const touched = keysOfEvent(event);
    if (touched.size === 0 && !event.settings) return;
    this.#enqueue(() => this.#rebase(touched, event.settings))
      .then(() => this.#schedule(false))
      .catch((error: unknown) => this.#emitError(new Error(`Could not re-read records after an update failed: ${(error as Error).message}`, { cause: error })));
  }

  // ── events and process ───────────────────────────────────────────────────────────────────────────────

  #announce = (event: CommitEvent) => this.#events.announce(event);
  #emitError = (error: Error) => this.#events.error(error);

  /** Unwritten changes keep the process alive (timers are unref'd), as the file store does. */
  #holdProcess(): void {
    this.#keepAlive ??= setInterval(noop, 2 ** 30);
  }

  #releaseProcess(): void {
    if (this.#keepAlive) clearInterval(this.#keepAlive);
    this.#keepAlive = null;
  }

  #cancelTimer(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }

  #requireOpen(): MetadataDocument {
    if (!this.#doc) throw new Error('FirmDocumentStore is not open: call open() first');
    return this.#doc;
  }
}
