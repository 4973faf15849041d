import { settingsSchema } from '../../../shared/domain.js';
import type { DocumentCollection } from '../../store/ports.js';
import type { MetadataDocument } from '../../store/schema.js';
import {
  CHANGE_CHANNEL,
  COLLECTION_TABLES,
  DOCUMENT_LOCK,
  FIRM_EXISTS_SQL,
  UPDATE_SETTINGS_SQL,
  changesSinceSql,
  deleteSql,
  upsertSql,
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

export interface WritePlan {
  upserts: Array<{ table: CollectionTable; records: unknown[] }>;
  deletes: Array<{ table: CollectionTable; ids: string[] }>;
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
export function planWrite(doc: MetadataDocument, batch: Map<DocumentCollection, Set<string>>, settingsChanged: boolean): PlannedWrite {
  const plan: WritePlan = { upserts: [], deletes: [], settings: null };
  const refused: string[] = [];
  for (const table of COLLECTION_TABLES) {
    const ids = batch.get(table.collection);
    if (!ids) continue;
    const records: unknown[] = [];
    const gone: string[] = [];
    const live = doc[table.collection] as Record<string, unknown>;
    for (const id of [...ids].sort()) {
      const record = Object.prototype.hasOwnProperty.call(live, id) ? live[id] : undefined;
      if (record === undefined) {
        gone.push(id);
        continue;
      }
      const checked = table.schema.safeParse(record);
      if (!checked.success || (record as Record<string, unknown>)[table.keyField] !== id) {
        ids.delete(id);
        const why = checked.success ? 'its key does not match its id' : checked.error.issues.slice(0, 3).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
        refused.push(`A ${table.collection} record (${id}) is not valid and was not written to the firm database: ${why}`);
        continue;
      }
      records.push(checked.data);
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
}

const noop = () => undefined;

/**
 * One transaction: the document lock shared, the upserts and deletes, the settings, and a NOTIFY (delivered at
 * COMMIT, and only if it commits; small on purpose, as payloads stop at 8000 bytes: the listeners read the rows
 * themselves). Throws, rolled back, on any failure; a commit whose answer was lost is simply written again by
 * the retry (every statement is idempotent).
 */
export async function writeChanges(db: FirmDocumentDatabase, plan: WritePlan, deviceId: string | null, announcement: string): Promise<WriteOutcome> {
  const client = await db.connect();
  // A dropped connection also fails the running query (handled by the caller); without a listener the
  // connection's 'error' event would end the process.
  client.on('error', noop);
  let inTransaction = false;
  try {
    await client.query('BEGIN');
    inTransaction = true;
    await client.query('SELECT pg_advisory_xact_lock_shared($1::integer, $2::integer)', [...DOCUMENT_LOCK]);
    let wrote = plan.deletes.length > 0;
    for (const { table, records } of plan.upserts) {
      const { rows } = await client.query(upsertSql(table), [JSON.stringify(records), deviceId]);
      if (rows.length > 0) wrote = true;
    }
    for (const { table, ids } of plan.deletes) await client.query(deleteSql(table), [ids]);
    let noFirmRow = false;
    if (plan.settings !== null) {
      const { rows } = await client.query(UPDATE_SETTINGS_SQL, [JSON.stringify(plan.settings)]);
      if (rows.length > 0) wrote = true;
      else noFirmRow = (await client.query(FIRM_EXISTS_SQL)).rows[0].n === 0;
    }
    if (wrote) await client.query('SELECT pg_notify($1, $2)', [CHANGE_CHANNEL, announcement]);
    await client.query('COMMIT');
    inTransaction = false;
    return { wrote, noFirmRow };
  } finally {
    if (inTransaction) await client.query('ROLLBACK').catch(noop);
    client.removeListener('error', noop);
    client.release(inTransaction ? true : undefined);
  }
}

/**
 * Everything changed after change number `since` (-1: everything), read holding the document lock exclusively,
 * so that no write is half-way and no smaller change number can still commit after this read (document-tables.ts).
 * READ COMMITTED: the read statement's snapshot is taken after the lock is held.
 */
export async function readChanges(db: FirmDocumentDatabase, since: bigint): Promise<ChangeRow[]> {
  const client = await db.connect();
  client.on('error', noop);
  let inTransaction = false;
  try {
    await client.query('BEGIN');
    inTransaction = true;
    await client.query('SELECT pg_advisory_xact_lock($1::integer, $2::integer)', [...DOCUMENT_LOCK]);
    const { rows } = await client.query(changesSinceSql(), [since.toString()]);
    await client.query('COMMIT');
    inTransaction = false;
    return rows as ChangeRow[];
  } finally {
    if (inTransaction) await client.query('ROLLBACK').catch(noop);
    client.removeListener('error', noop);
    client.release(inTransaction ? true : undefined);
  }
}
