import type { z } from 'zod';
import { appSchema, connectionSchema, grantSchema, incidentSchema, organisationSchema, staffSchema } from '../../../shared/domain.js';
import { offboardingSchema, passwordChangeSchema, reconnectRunSchema, trackedConnectionSchema } from '../../../shared/workflows.js';
import type { DocumentCollection } from '../../store/ports.js';

/**
 * Where each collection of the metadata document lives in the firm database (migrations.ts, schema v1), and the
 * SQL the firm document store (firm-document-store.ts) runs on those tables. Pure: SQL text and the mapping, no
 * I/O and no `pg`, so the store's logic and this text are read and tested apart from any connection.
 *
 * Each record is stored whole in `record jsonb`; the typed columns the schema checks against the record are
 * computed by the SQL from the record itself (`record->>'appId'`), so they can never disagree with it. The
 * columns the store writes are exactly the key, those typed columns, `record`, `revision` and `updated_by`:
 * never a grant's sealed refresh token, lease or in-flight marker, nor an app's sealed client secret — those
 * belong to leases.ts and rotation-commit.ts, and the document holds no secret to write (shared/domain.ts).
 */

export interface CollectionTable {
  collection: DocumentCollection;
  /** The table in the relink schema. */
  table: string;
  /** The primary key column, and the record field it equals. */
  key: string;
  keyField: string;
  /** Typed columns and the record field each equals (migrations.ts checks them). */
  columns: ReadonlyArray<readonly [column: string, field: string]>;
  /** The record's schema: a record is validated before it is written (the table's checks would fail a whole batch). */
  schema: z.ZodType;
}

export const COLLECTION_TABLES: readonly CollectionTable[] = [
  { collection: 'apps', table: 'apps', key: 'id', keyField: 'id', columns: [['provider', 'provider']], schema: appSchema },
  { collection: 'staff', table: 'staff', key: 'id', keyField: 'id', columns: [['status', 'status']], schema: staffSchema },
  { collection: 'organisations', table: 'organisations', key: 'tenant_id', keyField: 'tenantId', columns: [], schema: organisationSchema },
  {
    collection: 'grants',
    table: 'grants',
    key: 'id',
    keyField: 'id',
    columns: [
      ['app_id', 'appId'],
      ['staff_id', 'staffId'],
      ['state', 'state'],
    ],
    schema: grantSchema,
  },
  {
    collection: 'connections',
    table: 'connections',
    key: 'id',
    keyField: 'id',
    columns: [
      ['app_id', 'appId'],
      ['grant_id', 'grantId'],
      ['staff_id', 'staffId'],
      ['tenant_id', 'tenantId'],
    ],
    schema: connectionSchema,
  },
  { collection: 'incidents', table: 'incidents', key: 'id', keyField: 'id', columns: [['event_key', 'key']], schema: incidentSchema },
  { collection: 'tracked', table: 'tracked_connections', key: 'id', keyField: 'id', columns: [], schema: trackedConnectionSchema },
  { collection: 'passwordChanges', table: 'password_changes', key: 'id', keyField: 'id', columns: [], schema: passwordChangeSchema },
  { collection: 'reconnectRuns', table: 'reconnect_runs', key: 'id', keyField: 'id', columns: [], schema: reconnectRunSchema },
  { collection: 'offboardings', table: 'offboardings', key: 'staff_id', keyField: 'staffId', columns: [], schema: offboardingSchema },
];

export const TABLE_OF = new Map(COLLECTION_TABLES.map((t) => [t.collection, t]));
export const COLLECTION_OF_TABLE = new Map(COLLECTION_TABLES.map((t) => [t.table, t]));

/** The channel every desktop's store announces committed changes on. One firm per database, so one channel. */
export const CHANGE_CHANNEL = 'relink_document_changes';

/**
 * The advisory lock that orders document writes against change reads (two keys: 'RLNK', 2).
 * Writers take it shared (they do not wait for each other), a change read takes it exclusively, for the one
 * statement it runs: so while a read runs no write transaction is half-way, and no change sequence number below
 * the highest one the read sees can still be committed later (sequence numbers are handed out before commit,
 * so without this a read could see 11 committed, skip past it, and miss 10 committing a moment later). Held only
 * inside these short transactions: never across an HTTP call.
 */
export const DOCUMENT_LOCK = [1380732491, 2] as const;

/**
 * Optimistic concurrency (firm-document-store.ts, CONFLICTS): each statement writes a record only if the row is
 * as this desktop last read it. $1 is a jsonb array of `{ r: record, rev: "<revision>" }`, $2 this device (or null).
 */

/** New records: inserted, unless a row with that key exists already (then it is not returned: a conflict). */
export function insertNewSql(t: CollectionTable): string {
  const cols = [t.key, ...t.columns.map(([c]) => c)];
  const values = [t.keyField, ...t.columns.map(([, f]) => f)].map((f) => `e.x->'r'->>'${f}'`);
  return `INSERT INTO relink.${t.table} (${cols.join(', ')}, record, updated_by)
    SELECT ${values.join(', ')}, e.x->'r', $2::uuid FROM jsonb_array_elements($1::jsonb) AS e(x)
    ON CONFLICT (${t.key}) DO NOTHING
    RETURNING ${t.key} AS id, revision::text AS revision`;
}

/**
 * Known records: rewritten only `WHERE revision = expected`, bumping it. An unchanged record is not rewritten
 * (no new change number, no echo); a record not returned is either unchanged or changed by someone else since.
 */
export function updateExpectedSql(t: CollectionTable): string {
  const sets = [...t.columns.map(([c, f]) => `${c} = e.x->'r'->>'${f}'`), "record = e.x->'r'", 'updated_by = $2::uuid', 'revision = cur.revision + 1'];
  return `UPDATE relink.${t.table} AS cur SET ${sets.join(', ')}
    FROM jsonb_array_elements($1::jsonb) AS e(x)
    WHERE cur.${t.key} = e.x->'r'->>'${t.keyField}' AND cur.revision = (e.x->>'rev')::bigint AND cur.record IS DISTINCT FROM e.x->'r'
    RETURNING cur.${t.key} AS id, cur.revision::text AS revision`;
}

/** Deletes by key, only rows still at the expected revision ($1: jsonb array of `{ id, rev }`); the trigger notes each. */
export function deleteExpectedSql(t: CollectionTable): string {
  return `DELETE FROM relink.${t.table} AS cur USING jsonb_array_elements($1::jsonb) AS e(x)
    WHERE cur.${t.key} = e.x->>'id' AND cur.revision = (e.x->>'rev')::bigint
    RETURNING cur.${t.key} AS id`;
}

/** The current rows of some keys ($1, text[]): to tell an unchanged record from a conflict, and for a rebase. */
export function currentRowsSql(t: CollectionTable): string {
  return `SELECT ${t.key} AS id, revision::text AS revision, record, updated_by::text AS updated_by FROM relink.${t.table} WHERE ${t.key} = ANY($1::text[])`;
}

/** The document's settings live in the firm row (one per database). */
export const UPDATE_SETTINGS_SQL = `UPDATE relink.firm SET settings = $1::jsonb WHERE settings IS DISTINCT FROM $1::jsonb RETURNING changed_seq::text AS seq`;
export const FIRM_SETTINGS_SQL = 'SELECT settings FROM relink.firm';
export const FIRM_EXISTS_SQL = 'SELECT count(*)::integer AS n FROM relink.firm';

/** One row of a change read: a record (kind 'row'), the settings ('settings') or a deletion ('deleted'). */
export interface ChangeRow {
  kind: 'row' | 'settings' | 'deleted';
  tbl: string;
  id: string;
  record: unknown;
  seq: string;
  /** The row's revision (rows only; null for settings and deletions). */
  revision: string | null;
}

/**
 * Everything changed after change number $1, in one statement (one snapshot, so a record's current row and its
 * deletions agree): every collection's rows, the firm's settings, and the deletions. With $1 = -1, the whole
 * document (what opening reads).
 */
export function changesSinceSql(): string {
  const parts = COLLECTION_TABLES.map(
    (t) => `SELECT 'row'::text AS kind, '${t.table}'::text AS tbl, ${t.key} AS id, record, changed_seq::text AS seq, revision::text AS revision FROM relink.${t.table} WHERE changed_seq > $1::bigint`,
  );
  parts.push(`SELECT 'settings', 'firm', id::text, settings, changed_seq::text, NULL::text FROM relink.firm WHERE changed_seq > $1::bigint`);
  // Deletions of tables the document does not hold (none today) are left out by the IN list.
  parts.push(
    `SELECT 'deleted', tbl, id, NULL::jsonb, changed_seq::text, NULL::text FROM relink.deletions WHERE changed_seq > $1::bigint AND tbl IN (${COLLECTION_TABLES.map((t) => `'${t.table}'`).join(', ')})`,
  );
  return parts.join('\nUNION ALL\n');
}

/** Compares two JSON values by content (jsonb reorders object keys, so key order is ignored). */
export function sameJsonContent(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return a === b || (a === undefined && b === undefined);
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((v, i) => sameJsonContent(v, bb[i]));
  }
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  const ak = Object.keys(ao).filter((k) => ao[k] !== undefined);
  const bk = Object.keys(bo).filter((k) => bo[k] !== undefined);
  return ak.length === bk.length && ak.every((k) => Object.prototype.hasOwnProperty.call(bo, k) && sameJsonContent(ao[k], bo[k]));
}
