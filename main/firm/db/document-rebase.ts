import { DEFAULT_SETTINGS, settingsSchema } from '../../../shared/domain.js';
import type { ChangeTracker } from '../../store/change-tracker.js';
import { DOCUMENT_COLLECTIONS, type CommitEvent, type DocumentCollection, type Mutator } from '../../store/ports.js';
import type { MetadataDocument } from '../../store/schema.js';
import { TABLE_OF } from './document-tables.js';
import type { CurrentRecords } from './document-transactions.js';

/**
 * The rebase of the firm document store (firm-document-store.ts, CONFLICTS): the pending updates' records are
 * put back as the database holds them now, and the pending mutators re-applied on them, in order, as the
 * one-file store does on a newer file (metadata-store.ts, #syncWithDisk). Pure and synchronous: the store reads
 * the rows (document-transactions.ts, readCurrent) and hands them in.
 *
 * How the store uses it: it remembers each record's `revision` as last read, and keeps every update not yet committed (its
 * mutator, in order). A batch writes each record only `WHERE revision = <as read>` (a new one only if no row has
 * its key), bumping it, all in one transaction. If any record was changed, created or deleted on another
 * desktop meanwhile, the transaction is rolled back whole; the store reads what changed since its change
 * number and the current rows of every record a pending update touched, puts those records back as the
 * database has them, re-applies the pending mutators on them in order (replayOnCurrent) and writes again, up
 * to MAX_REBASES (the store's) times per batch (then onError, and it is retried later like a failed write). So two desktops
 * incrementing one grant's failure count both count, and two changing different fields of one record both keep
 * theirs. A mutator that throws on the newer record is dropped (its durable waiter rejected, else onError) and
 * the others stay. A record that arrives from another desktop while this one has it pending is not taken at
 * once: the write conflicts and the rebase takes it. DELETES: a delete is re-applied like any change, so a
 * mutator deleting a record that another desktop changed meanwhile deletes the newer version (a mutator that
 * wants to keep a record someone changed says so by checking the record it is given); a delete of a row already
 * gone is done. The settings have no revision (the firm row): the pending settings mutators are re-applied on
 * the database's settings when a rebase happens, but a settings write by itself is last-writer-wins.
 *
 * The replay is watched (the ChangeTracker), unlike the first application's "bare" replays of the one-file
 * store: a mutator re-applied on a newer record may decide to change other records, and those must be written
 * (and put back on the next rebase) too; a rebase is rare, so watching it costs nothing that matters.
 */

export type Keys = Map<DocumentCollection, Set<string>>;

/** An update applied here and not yet committed to the database. */
export interface PendingUpdate {
  mutator: Mutator;
  /** The records it changed the last time it ran (on the live document, or on the last rebase). */
  ids: Keys;
  settings: boolean;
  waiter?: { resolve: () => void; reject: (error: unknown) => void };
}

export const keyOf = (collection: DocumentCollection, id: string) => `${collection}\u0000${id}`;

export function keysOfEvent(event: CommitEvent): Keys {
  const keys: Keys = new Map();
  for (const collection of DOCUMENT_COLLECTIONS) {
    const ids = event.ids[collection];
    if (ids?.length) keys.set(collection, new Set(ids));
  }
  return keys;
}

/** `into` gains every key of `from`; returns whether it gained any. */
export function addKeys(into: Keys, from: Keys): boolean {
  let added = false;
  for (const [collection, ids] of from) {
    let set = into.get(collection);
    if (!set) into.set(collection, (set = new Set()));
    for (const id of ids) {
      if (set.has(id)) continue;
      set.add(id);
      added = true;
    }
  }
  return added;
}

export function unionKeys(...all: Keys[]): Keys {
  const keys: Keys = new Map();
  for (const k of all) addKeys(keys, k);
  return keys;
}

export const isSubset = (inner: Keys, outer: Keys) => [...inner].every(([c, ids]) => [...ids].every((id) => outer.get(c)?.has(id)));

export interface ReplayInput {
  doc: MetadataDocument;
  current: CurrentRecords;
  /** The records to put back as `current` has them: every record a pending update changed, and more. */
  keys: Keys;
  /** Whether the settings are put back too (a pending update changed them). */
  settings: boolean;
  /** The pending updates, oldest first; an update whose mutator throws is taken out of it. */
  entries: PendingUpdate[];
  tracker: ChangeTracker;
  /** Each record's revision as the database has it now (set or deleted for every key). */
  revisions: Map<string, string>;
  /** A pending update that threw on the newer records: taken out, and told (its waiter, or onError). */
  dropped: (entry: PendingUpdate, error: Error) => void;
  unreadable: (message: string) => void;
}

/**
 * Puts `keys` back as the database has them and re-applies every pending update on top, watched, so that a
 * mutator now touching other records (it decides on the newer record) names them too, and each update's `ids`
 * are what it changes now. A mutator that throws is dropped and the pass starts again without it (its
 * half-done changes must not stay); if it had touched records outside `keys`, those are returned instead, to be
 * read before another pass (`needs`).
 */
export function replayOnCurrent(input: ReplayInput): { needs: Keys | null } {
  for (;;) {
    reset(input);
    let restart = false;
    for (const entry of [...input.entries]) {
      let thrown: { error: unknown } | null = null;
      const event = input.tracker.apply(input.doc, (d) => {
        try {
          entry.mutator(d);
        } catch (error) {
          thrown = { error };
        }
      });
      const touched = keysOfEvent(event);
      if (thrown) {
        const cause = (thrown as { error: unknown }).error;
        const message = cause instanceof Error ? cause.message : String(cause);
        input.entries.splice(input.entries.indexOf(entry), 1);
        input.dropped(entry, new Error(`An update could not be re-applied on another desktop's newer version of its records, so it was dropped: ${message}`, { cause }));
        if (!isSubset(touched, input.keys) || (event.settings && !input.settings)) return { needs: touched };
        restart = true;
        break;
      }
      entry.ids = touched;
      entry.settings = event.settings;
    }
    if (!restart) return { needs: null };
  }
}

function reset({ doc, current, keys, settings, revisions, unreadable }: ReplayInput): void {
  for (const [collection, ids] of keys) {
    const table = TABLE_OF.get(collection)!;
    const records = doc[collection] as Record<string, unknown>;
    const rows = current.rows.get(collection);
    for (const id of ids) {
      const row = rows?.get(id);
      if (!row) {
        delete records[id];
        revisions.delete(keyOf(collection, id));
        continue;
      }
      revisions.set(keyOf(collection, id), row.revision);
      const parsed = table.schema.safeParse(row.record);
      if (parsed.success) records[id] = parsed.data;
      else {
        delete records[id];
        unreadable(`The firm database holds a ${collection} record (${id}) this Relink cannot read; it was left out`);
      }
    }
  }
  if (settings) {
    const parsed = settingsSchema.safeParse({ ...DEFAULT_SETTINGS, ...(current.settings as object) });
    if (parsed.success) doc.settings = parsed.data;
  }
}
