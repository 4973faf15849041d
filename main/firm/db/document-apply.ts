import { DEFAULT_SETTINGS, settingsSchema } from '../../../shared/domain.js';
import type { DocumentCollection } from '../../store/ports.js';
import type { MetadataDocument } from '../../store/schema.js';
import { keyOf } from './document-rebase.js';
import { COLLECTION_OF_TABLE, sameJsonContent, type ChangeRow } from './document-tables.js';

/**
 * Taking other desktops' committed rows into the firm document store's document (firm-document-store.ts): a
 * change read's rows, applied where they differ from the document, with each record's revision remembered for
 * the store's optimistic writes. A record pending on this desktop is left as it is (its write will conflict and
 * the rebase takes the database's version then: CONFLICTS in the store). Synchronous, no I/O.
 */

export interface ApplyInput {
  doc: MetadataDocument;
  rows: ChangeRow[];
  /** The highest change number read before these rows. */
  seq: bigint;
  /** Whether this desktop has the record pending (changed and not yet committed). */
  isLocal: (collection: DocumentCollection, id: string) => boolean;
  settingsLocal: boolean;
  revisions: Map<string, string>;
  stats: { applied: number; echoesSkipped: number };
  unreadable: (message: string) => void;
}

export interface Applied {
  ids: Partial<Record<DocumentCollection, string[]>>;
  settings: boolean;
  /** The highest change number now read. */
  seq: bigint;
}

export function applyChangeRows({ doc, rows, seq: since, isLocal, settingsLocal, revisions, stats, unreadable }: ApplyInput): Applied {
  const ids: Partial<Record<DocumentCollection, string[]>> = {};
  let settings = false;
  const current = new Set<string>();
  for (const row of rows) if (row.kind === 'row') current.add(`${row.tbl}\u0000${row.id}`);
  let max = since;
  for (const row of rows) {
    const seq = BigInt(row.seq);
    if (seq > max) max = seq;
    if (row.kind === 'settings') {
      if (settingsLocal) continue;
      const parsed = settingsSchema.safeParse({ ...DEFAULT_SETTINGS, ...(row.record as object) });
      if (!parsed.success) {
        unreadable('The firm database holds settings this Relink cannot read; the defaults are used');
        continue;
      }
      if (!sameJsonContent(doc.settings, parsed.data)) {
        doc.settings = parsed.data;
        settings = true;
      }
      continue;
    }
    const table = COLLECTION_OF_TABLE.get(row.tbl);
    if (!table) continue;
    const collection = table.collection;
    // Pending here: kept as it is; writing it conflicts, and the rebase takes the database's version.
    if (isLocal(collection, row.id)) continue;
    const records = doc[collection] as Record<string, unknown>;
    if (row.kind === 'deleted') {
      // The record exists again (re-created later): its current row wins over the old deletion.
      if (current.has(`${row.tbl}\u0000${row.id}`)) continue;
      revisions.delete(keyOf(collection, row.id));
      if (!Object.prototype.hasOwnProperty.call(records, row.id)) continue;
      delete records[row.id];
    } else {
      if (row.revision !== null) revisions.set(keyOf(collection, row.id), row.revision);
      const parsed = table.schema.safeParse(row.record);
      if (!parsed.success) {
        unreadable(`The firm database holds a ${collection} record (${row.id}) this Relink cannot read; it was left out`);
        continue;
      }
      if (sameJsonContent(records[row.id], parsed.data)) {
        stats.echoesSkipped++;
        continue;
      }
      records[row.id] = parsed.data;
    }
    stats.applied++;
    (ids[collection] ??= []).push(row.id);
  }
  return { ids, settings, seq: max };
}
