import { z } from 'zod';
import {
  DEFAULT_SETTINGS,
  appSchema,
  connectionSchema,
  grantSchema,
  incidentSchema,
  organisationSchema,
  settingsSchema,
  staffSchema,
} from '../../shared/domain.js';
import { offboardingSchema, passwordChangeSchema, reconnectRunSchema, trackedConnectionSchema } from '../../shared/workflows.js';

/**
 * The metadata document: everything Relink knows except secrets, in one JSON file (relink.json). Collections
 * are records keyed by id so that two processes changing different grants touch different keys, and a
 * re-applied mutator finds its target by id.
 *
 * `revision` counts writes. The store compares it after re-reading the file under the cross-process lock to
 * know whether another process wrote since this one last read (metadata-store.ts).
 */
export const SCHEMA_VERSION = 2;

/** A record whose keys must equal each value's own id, so a lookup by key never finds a different item. */
function keyedBy<T extends z.ZodType>(item: T, idOf: (value: z.infer<T>) => string) {
  return z.record(z.string().min(1), item).superRefine((record, ctx) => {
    for (const [key, value] of Object.entries(record)) {
      if (idOf(value as z.infer<T>) !== key) {
        ctx.addIssue({ code: 'custom', path: [key], message: 'record key does not match the id it holds' });
      }
    }
  });
}

export const metadataSchema = z
  .object({
    schemaVersion: z.literal(SCHEMA_VERSION),
    revision: z.number().int().min(0),
    apps: keyedBy(appSchema, (a) => a.id),
    staff: keyedBy(staffSchema, (s) => s.id),
    organisations: keyedBy(organisationSchema, (o) => o.tenantId),
    grants: keyedBy(grantSchema, (g) => g.id),
    connections: keyedBy(connectionSchema, (c) => c.id),
    incidents: keyedBy(incidentSchema, (i) => i.id),
    settings: settingsSchema,
    // Since v2 (issue 5, firm workflows): the third-party inventory, declared password changes, reconnect
    // plans being worked through, and offboarding records (keyed by the leaving staff member's id).
    tracked: keyedBy(trackedConnectionSchema, (t) => t.id),
    passwordChanges: keyedBy(passwordChangeSchema, (p) => p.id),
    reconnectRuns: keyedBy(reconnectRunSchema, (r) => r.id),
    offboardings: keyedBy(offboardingSchema, (o) => o.staffId),
  })
  .strict();
export type MetadataDocument = z.infer<typeof metadataSchema>;

export type DeepReadonly<T> = T extends (infer U)[]
  ? readonly DeepReadonly<U>[]
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T;

export function emptyMetadata(): MetadataDocument {
  return {
    schemaVersion: SCHEMA_VERSION,
    revision: 0,
    apps: {},
    staff: {},
    organisations: {},
    grants: {},
    connections: {},
    incidents: {},
    settings: { ...DEFAULT_SETTINGS },
    tracked: {},
    passwordChanges: {},
    reconnectRuns: {},
    offboardings: {},
  };
}

// --- Errors ---------------------------------------------------------------------------------------------------

/** The file was written by a newer Relink. Never migrated down, never overwritten. */
export class NewerSchemaError extends Error {
  constructor(
    readonly found: number,
    readonly path: string,
  ) {
    super(
      `${path} was written by a newer version of Relink (metadata schema ${found}; this version understands up to ` +
        `${SCHEMA_VERSION}). Relink did not change the file. Update Relink, or point it at another data folder.`,
    );
    this.name = 'NewerSchemaError';
  }
}

/** The document is JSON but not a Relink metadata document we can read: handled like a corrupt file. */
export class InvalidMetadataError extends Error {
  constructor(readonly reason: string) {
    super(`The metadata document is not valid: ${reason}`);
    this.name = 'InvalidMetadataError';
  }
}

// --- Migrations -----------------------------------------------------------------------------------------------

/**
 * The layout before schema versions (v0): collections as arrays, no incidents, no revision, `schemaVersion`
 * absent or 0. Recognised by its shape (`apps` is an array) rather than by the absence of a version, so an
 * empty or foreign JSON object is treated as damage and quarantined, not "migrated" into an empty world.
 */
type Migration = (doc: Record<string, unknown>) => Record<string, unknown>;

/** `migrations[n]` turns a version-n document into version n+1. Each step is pure and deterministic. */
export const migrations: Readonly<Record<number, Migration>> = {
  0: (doc) => {
    const byId = (items: unknown, key: string): Record<string, unknown> => {
      const out: Record<string, unknown> = {};
      if (!Array.isArray(items)) return out;
      for (const item of items) {
        const id = item && typeof item === 'object' ? (item as Record<string, unknown>)[key] : undefined;
        if (typeof id === 'string') out[id] = item;
      }
      return out;
    };
    const settings = doc.settings && typeof doc.settings === 'object' ? doc.settings : {};
    return {
      schemaVersion: 1,
      revision: 0,
      apps: byId(doc.apps, 'id'),
      staff: byId(doc.staff, 'id'),
      organisations: byId(doc.organisations, 'tenantId'),
      grants: byId(doc.grants, 'id'),
      connections: byId(doc.connections, 'id'),
      incidents: {},
      settings: { ...DEFAULT_SETTINGS, ...settings },
    };
  },
  /**
   * v1 → v2: the firm workflows' collections start empty and settings gain `firmName`. Everything else is kept
   * as it is (an older Relink reading the file refuses it as newer rather than dropping these collections).
   */
  1: (doc) => {
    const settings = doc.settings && typeof doc.settings === 'object' ? (doc.settings as Record<string, unknown>) : {};
    const keep = (key: string) => (doc[key] && typeof doc[key] === 'object' && !Array.isArray(doc[key]) ? doc[key] : {});
    return {
      ...doc,
      schemaVersion: 2,
      settings: { firmName: DEFAULT_SETTINGS.firmName, ...settings },
      tracked: keep('tracked'),
      passwordChanges: keep('passwordChanges'),
      reconnectRuns: keep('reconnectRuns'),
      offboardings: keep('offboardings'),
    };
  },
};

/** The schema version of a raw document, or null when it is not recognisably ours. */
export function versionOf(raw: unknown): number | null {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return null;
  const doc = raw as Record<string, unknown>;
  if (doc.schemaVersion === undefined) return Array.isArray(doc.apps) ? 0 : null;
  return typeof doc.schemaVersion === 'number' && Number.isInteger(doc.schemaVersion) && doc.schemaVersion >= 0
    ? doc.schemaVersion
    : null;
}

export interface ParsedMetadata {
  doc: MetadataDocument;
  /** The version the document had on disk; less than SCHEMA_VERSION when it was migrated in memory. */
  fromVersion: number;
}

/**
 * Read a raw document: migrate it step by step to the current version, then validate. Throws
 * NewerSchemaError for a future version (the caller must leave the file alone) and InvalidMetadataError for
 * anything else it cannot read (the caller quarantines it).
 */
export function parseMetadata(raw: unknown, path: string, opts: { consume?: boolean } = {}): ParsedMetadata {
  const fromVersion = versionOf(raw);
  if (fromVersion === null) throw new InvalidMetadataError('not a Relink metadata document (no recognisable schemaVersion)');
  if (fromVersion > SCHEMA_VERSION) throw new NewerSchemaError(fromVersion, path);
  let doc = { ...(raw as Record<string, unknown>) };
  for (let v = fromVersion; v < SCHEMA_VERSION; v++) {
    const step = migrations[v];
    if (!step) throw new InvalidMetadataError(`no migration from schema ${v}`);
    doc = step(doc);
  }
  return { doc: validatedByRecord(doc, opts.consume ?? false), fromVersion };
}

/** The collections that can hold thousands of records, with the field each record is keyed by. */
const BULK = [
  ['connections', connectionSchema, (v: { id: string }) => v.id],
  ['organisations', organisationSchema, (v: { tenantId: string }) => v.tenantId],
  ['tracked', trackedConnectionSchema, (v: { id: string }) => v.id],
] as const;

/**
 * The full validation of a document just read, the same checks as `metadataSchema`, done record by record on
 * the bulk collections; with `consume` (a document read from disk that nobody else holds) each raw record is
 * dropped as soon as its validated copy exists. Validating the whole 10,000-connection document at once held the raw and the validated copy (and
 * zod's bookkeeping for both) at the same moment, about 40 MB at peak on every start.
 */
function validatedByRecord(doc: Record<string, unknown>, consume: boolean): MetadataDocument {
  const { connections, organisations, tracked, ...small } = doc;
  const bulk: Record<string, unknown> = { connections, organisations, tracked };
  const parsedSmall = lightSchema.safeParse(small);
  const problems: string[] = parsedSmall.success ? [] : [summariseIssues(parsedSmall.error)];
  const out: Record<string, Record<string, unknown>> = {};
  for (const [name, schema, idOf] of BULK) {
    const records = bulk[name];
    if (records === null || typeof records !== 'object' || Array.isArray(records)) {
      problems.push(`${name}: expected an object of records`);
      continue;
    }
    const raw = records as Record<string, unknown>;
    const valid: Record<string, unknown> = {};
    for (const key of Object.keys(raw)) {
      const r = (schema as z.ZodType).safeParse(raw[key]);
      if (consume) delete raw[key];
      if (!r.success) {
        if (problems.length < 5) problems.push(summariseIssues(r.error).replace(/^/, `${name}.${key}.`).replace(/; /g, `; ${name}.${key}.`));
        continue;
      }
      if ((idOf as (v: unknown) => string)(r.data) !== key) {
        if (problems.length < 5) problems.push(`${name}.${key}: record key does not match the id it holds`);
        continue;
      }
      valid[key] = r.data;
    }
    out[name] = valid;
  }
  if (problems.length > 0 || !parsedSmall.success) throw new InvalidMetadataError(problems.join('; '));
  return { ...parsedSmall.data, ...out } as MetadataDocument;
}

/** Validate a document about to be written (throws InvalidMetadataError); returns a fresh deep copy. */
export function validateMetadata(doc: unknown): MetadataDocument {
  const parsed = metadataSchema.safeParse(doc);
  if (!parsed.success) throw new InvalidMetadataError(summariseIssues(parsed.error));
  return parsed.data;
}

/** Everything but the bulk collections, which a light validation copies instead of re-checking. */
const lightSchema = metadataSchema.omit({ connections: true, organisations: true, tracked: true });

/**
 * The cheap check used between full validations: every small collection (apps, staff, grants, incidents,
 * settings) is validated as usual; connections and organisations — 10,000 records in a large firm, written
 * only by code that builds them from validated `/connections` answers — are copied one level deep. A full
 * validation of them costs ~40 ms per write on a 10,000-connection document, which a sweep of 200 refreshes
 * cannot afford on every coalesced write; the store still runs one regularly and on every load.
 */
export function validateMetadataLight(doc: MetadataDocument): MetadataDocument {
  // The third-party inventory can also run to thousands of entries; it is written only by code that validates
  // each entry first (main/workflows), and copied whole here because entries hold an array (their history).
  const { connections, organisations, tracked, ...small } = doc;
  const parsed = lightSchema.safeParse(small);
  if (!parsed.success) throw new InvalidMetadataError(summariseIssues(parsed.error));
  const copy = <T extends object>(records: Record<string, T>): Record<string, T> => {
    const out: Record<string, T> = {};
    for (const [k, v] of Object.entries(records)) out[k] = { ...v };
    return out;
  };
  return {
    ...parsed.data,
    connections: copy(connections),
    organisations: copy(organisations),
    tracked: structuredClone(tracked),
  } as MetadataDocument;
}

/** Where and what, never the offending values (a damaged file could hold anything). */
export function summariseIssues(error: z.ZodError): string {
  const shown = error.issues.slice(0, 5).map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`);
  const more = error.issues.length > 5 ? `; and ${error.issues.length - 5} more` : '';
  return shown.join('; ') + more;
}
