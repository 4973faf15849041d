import { settingsSchema } from '../../../shared/domain.js';
import type { DocumentCollection } from '../../store/ports.js';
import type { MetadataDocument } from '../../store/schema.js';
import {
  CHANGE_CHANNEL,
  COLLECTION_TABLES,
  DOCUMENT_LOCK,
  FIRM_EXISTS_SQL,
  FIRM_SETTINGS_SQL,
  UPDATE_SETTINGS_SQL,
  changesSinceSql,
  currentRowsSql,
  deleteExpectedSql,
  insertNewSql,
  sameJsonContent,
  updateExpectedSql,
  type ChangeRow,
  type CollectionTable,
} from './document-tables.js';

/**
 * The two transactions of the firm document store (firm-document-store.ts): writing a batch of changed records,
 * and reading what changed after a change number. Apart from the store so that the store holds only the state
 * (what is dirty, what was read, who listens) and this file only the round trips, each one short, each one
 * holding the document lock only for itself (document-tables.ts, DOCUMENT_LOCK) and never across anything else.
 * No `pg` import: it runs on any pool whose connections look like pg's PoolClient.
 */

/** A connection checked out for one transaction (a pg PoolClient). */
export interface FirmTransactionClient {
  query(text: string, values?: unknown[]): Promise<{ rows: any[] }>;
  on(event: string, listener: (...args: any[]) => void): unknown;
  removeListener(event: string, listener: (...args: any[]) => void): unknown;
  release(destroy?: boolean | Error): void;
}

/** What the store needs of a pool (a pg Pool has it). */
export interface FirmDocumentDatabase {
  connect(): Promise<FirmTransactionClient>;
  end(): Promise<void>;
}

/** The revision a record had when this desktop read it (null: not in the database as far as it knows). */
export type ExpectedRevision = (collection: DocumentCollection, id: string) => string | null;

export interface WritePlan {
  upserts: Array<{ table: CollectionTable; records: Array<{ id: string; record: unknown; rev: string | null }> }>;
  deletes: Array<{ table: CollectionTable; ids: Array<{ id: string; rev: string | null }> }>;
  /** The settings to store, or null when they did not change (or are not valid). */
  settings: unknown;
}

export interface PlannedWrite {
  plan: WritePlan;
  /** Records left out because they are not valid (each named, never its content); their ids leave the batch. */
  refused: string[];
}

/**
 * What to write for the dirty ids of `batch`: a record still in the document is upserted (validated with its
 * strict schema first: the table's checks would otherwise fail the whole batch, and a stray field such as a
 * token never reaches the database), one no longer there is deleted. Tables in one order and keys sorted, so
 * two desktops' batches lock rows in the same order.
 */
export function planWrite(doc: MetadataDocument, batch: Map<DocumentCollection, Set<string>>, settingsChanged: boolean, expected: ExpectedRevision): PlannedWrite {
  const plan: WritePlan = { upserts: [], deletes: [], settings: null };
  const refused: string[] = [];
  for (const table of COLLECTION_TABLES) {
    const ids = batch.get(table.collection);
    if (!ids) continue;
    const records: Array<{ id: string; record: unknown; rev: string | null }> = [];
    const gone: Array<{ id: string; rev: string | null }> = [];
    const live = doc[table.collection] as Record<string, unknown>;
    for (const id of [...ids].sort()) {
      const record = Object.prototype.hasOwnProperty.call(live, id) ? live[id] : undefined;
      if (record === undefined) {
        gone.push({ id, rev: expected(table.collection, id) });
        continue;
      }
      const checked = table.schema.safeParse(record);
      if (!checked.success || (record as Record<string, unknown>)[table.keyField] !== id) {
        ids.delete(id);
        const why = checked.success ? 'its key does not match its id' : checked.error.issues.slice(0, 3).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
        refused.push(`A ${table.collection} record (${id}) is not valid and was not written to the firm database: ${why}`);
        continue;
      }
      records.push({ id, record: checked.data, rev: expected(table.collection, id) });
    }
    if (records.length) plan.upserts.push({ table, records });
    if (gone.length) plan.deletes.push({ table, ids: gone });
  }
  if (settingsChanged) {
    const checked = settingsSchema.safeParse(doc.settings);
    if (checked.success) plan.settings = checked.data;
    else refused.push('The settings are not valid and were not written to the firm database');
  }
  return { plan, refused };
}

export const isEmptyPlan = (plan: WritePlan) => plan.upserts.length === 0 && plan.deletes.length === 0 && plan.settings === null;

export interface WriteOutcome {
  /** Whether any row changed (an unchanged record is not rewritten, and then nobody is notified). */
  wrote: boolean;
  /** The settings changed but the database has no firm row to hold them (`relink firm create` not run). */
  noFirmRow: boolean;
  /** Each record written: its revision now (null: deleted). */
  revisions: Array<{ collection: DocumentCollection; id: string; revision: string | null }>;
}

/** Some records were changed (or created, or deleted) by another desktop since this one read them. */
export class WriteConflict extends Error {
  constructor(readonly records: Array<{ collection: DocumentCollection; id: string }>) {
    super(`${records.length} record(s) were changed on another desktop meanwhile: ${records.slice(0, 5).map((r) => `${r.collection} ${r.id}`).join(', ')}`);
  }
}

const noop = () => undefined;

/**
 * One transaction: the document lock shared, the writes, each only if its row is still at the revision this
 * desktop read (new records: only if no row has the key; deletes: a row already gone is fine), the settings
 * (last writer wins: the firm row has no revision), and a NOTIFY (delivered at COMMIT, and only if it commits;
 * small on purpose, as payloads stop at 8000 bytes: the listeners read the rows themselves). Throws, rolled back,
 * on any failure; a `WriteConflict` naming every record that is not as expected, so the store can rebase. A
 * commit whose answer was lost is written again by the retry and finds its records already there, by this
 * device at the next revision: no conflict (with no device id, or another desktop's change on top meanwhile,
 * the rebase re-applies on a version that has this change already: rare enough to accept).
 */
export async function writeChanges(db: FirmDocumentDatabase, plan: WritePlan, deviceId: string | null, announcement: string): Promise<WriteOutcome> {
  // A conflict rolls back cleanly and the connection goes back to the pool.
  return transaction(db, 'BEGIN', { keepAfterRollback: true }, async (client) => {
    await client.query('SELECT pg_advisory_xact_lock_shared($1::integer, $2::integer)', [...DOCUMENT_LOCK]);
    let wrote = false;
    const revisions: WriteOutcome['revisions'] = [];
    const conflicts: WriteConflict['records'] = [];
    for (const { table, records } of plan.upserts) {
      const fresh = records.filter((r) => r.rev === null);
      const known = records.filter((r) => r.rev !== null);
      const written = new Map<string, string>();
      if (fresh.length) for (const row of (await client.query(insertNewSql(table), [JSON.stringify(fresh.map((r) => ({ r: r.record }))), deviceId])).rows) written.set(row.id, row.revision);
      if (known.length) for (const row of (await client.query(updateExpectedSql(table), [JSON.stringify(known.map((r) => ({ r: r.record, rev: r.rev }))), deviceId])).rows) written.set(row.id, row.revision);
      const missed = records.filter((r) => !written.has(r.id));
      // Not written: unchanged (its row still at the expected revision), or a conflict — unless the row is this
      // desktop's own commit of exactly this record whose answer was lost (written by this device, one revision on).
      const now = missed.length ? await currentRows(client, table, missed.map((r) => r.id)) : new Map<string, CurrentRow>();
      const ownLostCommit = (row: CurrentRow, r: { rev: string | null; record: unknown }) =>
        deviceId !== null && row.updated_by === deviceId && BigInt(row.revision) === (r.rev === null ? 1n : BigInt(r.rev) + 1n) && sameJsonContent(row.record, r.record);
      for (const r of missed) {
        const row = now.get(r.id);
        if (row && (row.revision === r.rev || ownLostCommit(row, r))) revisions.push({ collection: table.collection, id: r.id, revision: row.revision });
        else conflicts.push({ collection: table.collection, id: r.id });
      }
      if (written.size) wrote = true;
      for (const [id, revision] of written) revisions.push({ collection: table.collection, id, revision });
    }
    for (const { table, ids } of plan.deletes) {
      const known = ids.filter((r) => r.rev !== null);
      if (known.length && (await client.query(deleteExpectedSql(table), [JSON.stringify(known)])).rows.length) wrote = true;
      // A row still there was changed (or created) by another desktop since it was read: a conflict. One
      // already gone is what this desktop wanted.
      const left = await currentRows(client, table, ids.map((r) => r.id));
      for (const r of ids) {
        if (left.has(r.id)) conflicts.push({ collection: table.collection, id: r.id });
        else revisions.push({ collection: table.collection, id: r.id, revision: null });
      }
    }
    if (conflicts.length) throw new WriteConflict(conflicts);
    let noFirmRow = false;
    if (plan.settings !== null) {
      const { rows } = await client.query(UPDATE_SETTINGS_SQL, [JSON.stringify(plan.settings)]);
      if (rows.length > 0) wrote = true;
      else noFirmRow = (await client.query(FIRM_EXISTS_SQL)).rows[0].n === 0;
    }
    if (wrote) await client.query('SELECT pg_notify($1, $2)', [CHANGE_CHANNEL, announcement]);
    return { wrote, noFirmRow, revisions };
  });
}

/**
 * Runs `fn` in one transaction on a pooled connection: `begin`, then COMMIT when `fn` resolves. On a failure,
 * a ROLLBACK; the connection then goes back to the pool only with `keepAfterRollback` and a ROLLBACK that
 * worked — one in an unknown state is destroyed, never reused. A dropped connection also fails the running
 * query (the caller handles that); without a listener its 'error' event would end the process.
 */
async function transaction<T>(db: FirmDocumentDatabase, begin: string, opts: { keepAfterRollback: boolean }, fn: (client: FirmTransactionClient) => Promise<T>): Promise<T> {
  const client = await db.connect();
  client.on('error', noop);
  let open = false;
  let broken = false;
  try {
    await client.query(begin);
    open = true;
    const result = await fn(client);
    await client.query('COMMIT');
    open = false;
    return result;
  } finally {
    if (open) await client.query('ROLLBACK').catch(() => void (broken = true));
    client.removeListener('error', noop);
    client.release(broken || (open && !opts.keepAfterRollback) ? true : undefined);
  }
}

type CurrentRow = { revision: string; record: unknown; updated_by: string | null };

async function currentRows(client: FirmTransactionClient, table: CollectionTable, ids: string[]): Promise<Map<string, CurrentRow>> {
  const { rows } = await client.query(currentRowsSql(table), [ids]);
  return new Map(rows.map((r: CurrentRow & { id: string }) => [r.id, r]));
}

/** What a rebase starts from: the current rows of some records (absent: no row) and the firm's settings. */
export interface CurrentRecords {
  rows: Map<DocumentCollection, Map<string, { revision: string; record: unknown }>>;
  settings: unknown;
}

/** The current rows of `keys` and the settings, in one snapshot (REPEATABLE READ, read only). */
export async function readCurrent(db: FirmDocumentDatabase, keys: Map<DocumentCollection, Set<string>>): Promise<CurrentRecords> {
  return transaction(db, 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY', { keepAfterRollback: false }, async (client) => {
    const rows: CurrentRecords['rows'] = new Map();
    for (const table of COLLECTION_TABLES) {
      const ids = keys.get(table.collection);
      if (ids?.size) rows.set(table.collection, await currentRows(client, table, [...ids]));
    }
    const firm = (await client.query(FIRM_SETTINGS_SQL)).rows[0];
    return { rows, settings: firm?.settings ?? {} };
  });
}

/**
 * Everything changed after change number `since` (-1: everything), read holding the document lock exclusively,
 * so that no write is half-way and no smaller change number can still commit after this read (document-tables.ts).
 * READ COMMITTED: the read statement's snapshot is taken after the lock is held.
 */
export async function readChanges(db: FirmDocumentDatabase, since: bigint): Promise<ChangeRow[]> {
  return transaction(db, 'BEGIN', { keepAfterRollback: false }, async (client) => {
    await client.query('SELECT pg_advisory_xact_lock($1::integer, $2::integer)', [...DOCUMENT_LOCK]);
    const { rows } = await client.query(changesSinceSql(), [since.toString()]);
    return rows as ChangeRow[];
  });
}
