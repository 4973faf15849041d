/**
 * The firm database's schema, as numbered migrations (DESIGN.md §7, firm mode; issue 12). SQL text only — no I/O
 * and no `pg` — run by migrate.ts. Migrations are TypeScript modules rather than .sql files on disk so that they
 * travel inside the Electron bundle (main/electron/build.mjs bundles the main process into one file).
 *
 * Rules for every migration, now and later:
 * - Append only. A released migration is never edited; a change is a new migration with the next number.
 * - Everything lives in the `relink` schema, named in full (`relink.grants`), so nothing depends on a session's
 *   search_path and nothing collides with other software's tables in a shared database.
 * - It grants the desktop role (`relink_desktop`, below) exactly the rights the new tables need.
 * - Nothing holds a secret in plaintext. A refresh token or client secret is AES-256-GCM ciphertext (`bytea`, the
 *   tag appended), its 12-byte nonce (`bytea`) and the firm key version it was sealed under; the grant's id and
 *   generation are its associated data, so a ciphertext copied onto another grant or generation does not open.
 *   test/main/firm/db/schema.test.ts fails on any text column named like a token, secret, code or key material.
 *
 * The document collections (apps … offboardings) store each record, exactly as shared/domain.ts and
 * shared/workflows.ts define it, in `record jsonb`, with the few fields queries and indexes need also as typed
 * columns (checked equal to the record). They have no foreign keys between them on purpose: the document
 * store's re-appliable mutators own that integrity (metadata-store.ts), and a foreign key would make a rebased
 * commit fail half-way on a record another desktop just removed. Firm tables (firm, devices, invites, keys) do
 * have foreign keys: nothing deletes a device (it is marked removed), so they cannot bite.
 *
 * Every row a desktop can change carries `changed_seq`, taken from one firm-wide sequence on every insert and
 * update (trigger), and every delete leaves a row in `relink.deletions`: a desktop that was offline (or missed a
 * NOTIFY) asks for everything past the last sequence number it saw, instead of re-reading the firm.
 */

/** The newest schema this code knows. A database at a higher version refuses this code's writes. */
export const FIRM_SCHEMA_VERSION = 1;

/** The role every desktop's login is a member of: data rights on the firm's tables, no DDL. */
export const DEFAULT_DESKTOP_ROLE = 'relink_desktop';

export interface MigrationContext {
  /** The desktop role, already checked to be a plain lower-case identifier. */
  desktopRole: string;
}

export interface FirmMigration {
  version: number;
  name: string;
  /** Statements run in order, in one transaction with every other pending migration. */
  statements: (ctx: MigrationContext) => string[];
}

/** The document collections' tables: name, typed columns and their checks against the record, extra indexes. */
const COLLECTION_TABLES: ReadonlyArray<{ table: string; columns: string; checks: string[]; indexes: string[] }> = [
  {
    table: 'apps',
    columns: `id text PRIMARY KEY,
      provider text NOT NULL,
      -- A web app's client secret: AES-256-GCM under the firm key (never in record).
      client_secret_ciphertext bytea,
      client_secret_nonce bytea,
      client_secret_key_version integer,`,
    checks: [
      "record->>'id' = id",
      "record->>'provider' = provider",
      `(client_secret_ciphertext IS NULL) = (client_secret_nonce IS NULL)
        AND (client_secret_ciphertext IS NULL) = (client_secret_key_version IS NULL)`,
      'client_secret_nonce IS NULL OR octet_length(client_secret_nonce) = 12',
    ],
    indexes: [],
  },
  {
    table: 'staff',
    columns: `id text PRIMARY KEY,
      status text NOT NULL,`,
    checks: ["record->>'id' = id", "record->>'status' = status"],
    indexes: ['status'],
  },
  {
    table: 'organisations',
    columns: 'tenant_id text PRIMARY KEY,',
    checks: ["record->>'tenantId' = tenant_id"],
    indexes: [],
  },
  {
    table: 'connections',
    columns: `id text PRIMARY KEY,
      app_id text NOT NULL,
      grant_id text NOT NULL,
      staff_id text NOT NULL,
      tenant_id text NOT NULL,`,
    checks: [
      "record->>'id' = id",
      "record->>'appId' = app_id",
      "record->>'grantId' = grant_id",
      "record->>'staffId' = staff_id",
      "record->>'tenantId' = tenant_id",
    ],
    indexes: ['grant_id', 'tenant_id', 'app_id, tenant_id', 'staff_id'],
  },
  {
    table: 'incidents',
    columns: `id text PRIMARY KEY,
      event_key text NOT NULL,`,
    checks: ["record->>'id' = id", "record->>'key' = event_key"],
    indexes: ['event_key'],
  },
  {
    // The third-party inventory: apps connected to an organisation whose tokens Relink does not hold.
    table: 'tracked_connections',
    columns: 'id text PRIMARY KEY,',
    checks: ["record->>'id' = id"],
    indexes: [],
  },
  {
    table: 'password_changes',
    columns: 'id text PRIMARY KEY,',
    checks: ["record->>'id' = id"],
    indexes: [],
  },
  {
    // Reconnect plans being worked through (plan runs).
    table: 'reconnect_runs',
    columns: 'id text PRIMARY KEY,',
    checks: ["record->>'id' = id"],
    indexes: [],
  },
  {
    // Offboarding records, keyed by the leaving staff member.
    table: 'offboardings',
    columns: 'staff_id text PRIMARY KEY,',
    checks: ["record->>'staffId' = staff_id"],
    indexes: [],
  },
];

/** Columns every change-tracked table ends with (see the file comment). */
const CHANGE_COLUMNS = `changed_seq bigint NOT NULL DEFAULT 0,
        updated_at timestamptz NOT NULL DEFAULT now()`;

/** Tables a desktop may only read from and append to. */
const APPEND_ONLY = ['activity'];

const v1: FirmMigration = {
  version: 1,
  name: 'firm, devices, invites, the document collections, grants with leases, activity',
  statements: ({ desktopRole }) => {
    const role = `"${desktopRole}"`;
    const collectionDdl = COLLECTION_TABLES.flatMap(({ table, columns, checks, indexes }) => [
      `CREATE TABLE relink.${table} (
        ${columns}
        record jsonb NOT NULL CHECK (jsonb_typeof(record) = 'object'),
        revision bigint NOT NULL DEFAULT 1,
        updated_by uuid REFERENCES relink.devices (id),
        ${CHANGE_COLUMNS},
        ${checks.map((c) => `CHECK (${c})`).join(',\n        ')}
      )`,
      ...indexes.map((cols) => `CREATE INDEX ON relink.${table} (${cols})`),
    ]);
    const dataTables = ['firm', 'devices', 'sealed_firm_keys', 'invites', 'grants', ...COLLECTION_TABLES.map((t) => t.table)];
    const changeTracked = ['firm', 'devices', 'grants', ...COLLECTION_TABLES.map((t) => t.table)];
    return [
      // ── plumbing: the firm-wide change sequence, the row stamp, deletions, the schema guard ──
      'CREATE SEQUENCE relink.change_seq AS bigint',
      `CREATE FUNCTION relink.stamp_change() RETURNS trigger LANGUAGE plpgsql SET search_path = pg_catalog AS $$
      BEGIN
        NEW.changed_seq := nextval('relink.change_seq');
        NEW.updated_at := now();
        RETURN NEW;
      END $$`,
      `CREATE TABLE relink.deletions (
        tbl text NOT NULL,
        id text NOT NULL,
        changed_seq bigint NOT NULL DEFAULT nextval('relink.change_seq'),
        deleted_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (changed_seq)
      )`,
      `CREATE FUNCTION relink.record_deletion() RETURNS trigger LANGUAGE plpgsql SET search_path = pg_catalog AS $$
      DECLARE
        key_column text := TG_ARGV[0];
      BEGIN
        INSERT INTO relink.deletions (tbl, id) VALUES (TG_TABLE_NAME, to_jsonb(OLD) ->> key_column);
        RETURN OLD;
      END $$`,
      // Every write statement on a firm table first checks that the session's code knows the database's schema.
      // pool.ts sets relink.code_schema on every connection to the version its code was built with, so a
      // desktop that was running while another one migrated the database refuses its next write, in words.
      `CREATE FUNCTION relink.check_code_schema() RETURNS trigger LANGUAGE plpgsql SET search_path = pg_catalog AS $$
      DECLARE
        known integer := nullif(current_setting('relink.code_schema', true), '')::integer;
        current integer;
      BEGIN
        SELECT max(version) INTO current FROM relink.schema_version;
        IF known IS NULL THEN
          RAISE EXCEPTION USING ERRCODE = 'RLK02',
            MESSAGE = 'This connection did not say which firm schema it was written for, so it may not change the firm database; connect through Relink, or SET relink.code_schema first. (schema-unknown)';
        END IF;
        IF current > known THEN
          RAISE EXCEPTION USING ERRCODE = 'RLK01',
            MESSAGE = format('This firm database was updated by a newer Relink (schema %s); update Relink on this computer to keep using it. (schema-newer)', current),
            DETAIL = format('database schema %s; this Relink knows schema %s', current, known);
        END IF;
        RETURN NULL;
      END $$`,

      // ── the firm and its desktops ──
      `CREATE TABLE relink.firm (
        id uuid PRIMARY KEY,
        -- One firm per database.
        singleton boolean NOT NULL DEFAULT true UNIQUE CHECK (singleton),
        name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
        -- The version of the firm key secrets are sealed under now; rotation (removing a desktop) bumps it.
        key_version integer NOT NULL DEFAULT 1 CHECK (key_version >= 1),
        -- The document's settings (probe interval, keep-alive, firm name on reports…), as shared/domain.ts has them.
        settings jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(settings) = 'object'),
        created_at timestamptz NOT NULL DEFAULT now(),
        ${CHANGE_COLUMNS}
      )`,
      `CREATE TABLE relink.devices (
        id uuid PRIMARY KEY,
        name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
        -- The desktop's X25519 public key; its private key lives only in that desktop's OS keychain.
        public_key bytea NOT NULL UNIQUE CHECK (octet_length(public_key) BETWEEN 32 AND 256),
        enrolled_at timestamptz NOT NULL DEFAULT now(),
        enrolled_by uuid REFERENCES relink.devices (id),
        removed_at timestamptz,
        removed_by uuid REFERENCES relink.devices (id),
        last_seen_at timestamptz,
        ${CHANGE_COLUMNS}
      )`,
      'CREATE UNIQUE INDEX devices_active_name ON relink.devices (lower(name)) WHERE removed_at IS NULL',
      `ALTER TABLE relink.firm ADD COLUMN created_by uuid REFERENCES relink.devices (id)`,
      // The firm key of each version, sealed to each enrolled desktop's public key: only that desktop opens it.
      `CREATE TABLE relink.sealed_firm_keys (
        device_id uuid NOT NULL REFERENCES relink.devices (id),
        key_version integer NOT NULL CHECK (key_version >= 1),
        sealed_key bytea NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (device_id, key_version)
      )`,
      // One-time join codes: only a hash of the code is stored, never the code.
      `CREATE TABLE relink.invites (
        id uuid PRIMARY KEY,
        code_hash bytea NOT NULL UNIQUE CHECK (octet_length(code_hash) >= 32),
        device_name text NOT NULL CHECK (length(device_name) BETWEEN 1 AND 200),
        -- What the joining desktop needs, encrypted under a key derived from the code (never the code itself).
        sealed_payload bytea,
        created_by uuid REFERENCES relink.devices (id),
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL,
        used_at timestamptz,
        used_by uuid REFERENCES relink.devices (id),
        CHECK (expires_at > created_at),
        CHECK ((used_at IS NULL) = (used_by IS NULL))
      )`,
      'CREATE INDEX invites_open ON relink.invites (expires_at) WHERE used_at IS NULL',

      // ── the document collections ──
      ...collectionDdl,

      // ── grants: the record, the sealed refresh token, and the lease that makes one desktop its refresher ──
      `CREATE TABLE relink.grants (
        id text PRIMARY KEY,
        app_id text NOT NULL,
        staff_id text NOT NULL,
        state text NOT NULL CHECK (state IN ('active', 'revoked', 'app-rejected')),
        record jsonb NOT NULL CHECK (jsonb_typeof(record) = 'object'),
        revision bigint NOT NULL DEFAULT 1,
        updated_by uuid REFERENCES relink.devices (id),
        -- The refresh token now stored: AES-256-GCM ciphertext (tag appended), nonce, firm key version.
        -- Associated data: the grant id and generation.
        refresh_token_ciphertext bytea,
        refresh_token_nonce bytea,
        refresh_token_key_version integer,
        -- The token it replaced, kept for a lost-response retry inside the provider's grace window.
        previous_refresh_token_ciphertext bytea,
        previous_refresh_token_nonce bytea,
        previous_refresh_token_key_version integer,
        previous_saved_at timestamptz,
        -- Bumped whenever the stored token may change: a commit must name the generation it claimed (fencing).
        generation bigint NOT NULL DEFAULT 0 CHECK (generation >= 0),
        -- Who may refresh this grant now, and until when (claim: UPDATE … WHERE lease expired RETURNING).
        lease_holder uuid REFERENCES relink.devices (id),
        lease_expires_at timestamptz,
        -- The write-ahead "refresh in flight" marker, written before the refresh is sent: if that desktop
        -- dies, another one finishes the rotation inside the grace window.
        refresh_in_flight_since timestamptz,
        refresh_in_flight_device uuid REFERENCES relink.devices (id),
        refresh_in_flight_attempt integer,
        -- When keep-alive, the access token or a retry next makes this grant due.
        next_refresh_at timestamptz,
        ${CHANGE_COLUMNS},
        CHECK (record->>'id' = id),
        CHECK (record->>'appId' = app_id),
        CHECK (record->>'staffId' = staff_id),
        CHECK (record->>'state' = state),
        CHECK ((refresh_token_ciphertext IS NULL) = (refresh_token_nonce IS NULL)
          AND (refresh_token_ciphertext IS NULL) = (refresh_token_key_version IS NULL)),
        CHECK ((previous_refresh_token_ciphertext IS NULL) = (previous_refresh_token_nonce IS NULL)
          AND (previous_refresh_token_ciphertext IS NULL) = (previous_refresh_token_key_version IS NULL)
          AND (previous_refresh_token_ciphertext IS NULL) = (previous_saved_at IS NULL)),
        CHECK (refresh_token_nonce IS NULL OR octet_length(refresh_token_nonce) = 12),
        CHECK (previous_refresh_token_nonce IS NULL OR octet_length(previous_refresh_token_nonce) = 12),
        CHECK ((lease_holder IS NULL) = (lease_expires_at IS NULL)),
        CHECK ((refresh_in_flight_since IS NULL) = (refresh_in_flight_device IS NULL))
      )`,
      // Due work: SELECT id FROM relink.grants WHERE state = 'active' AND next_refresh_at <= now() AND
      // (lease_expires_at IS NULL OR lease_expires_at < now()) ORDER BY next_refresh_at LIMIT n
      // FOR UPDATE SKIP LOCKED — this index serves it, so a sweep never scans revoked grants.
      "CREATE INDEX grants_due ON relink.grants (next_refresh_at) WHERE state = 'active'",
      // Interrupted refreshes, for the desktop that finishes them.
      'CREATE INDEX grants_in_flight ON relink.grants (refresh_in_flight_since) WHERE refresh_in_flight_since IS NOT NULL',
      'CREATE INDEX ON relink.grants (app_id)',
      'CREATE INDEX ON relink.grants (staff_id)',

      // ── the activity log: append-only, with the person and the desktop for every action ──
      `CREATE TABLE relink.activity (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        ts timestamptz NOT NULL,
        actor text NOT NULL CHECK (actor IN ('engine', 'advisor', 'cli')),
        person text,
        device_id uuid REFERENCES relink.devices (id),
        action text NOT NULL,
        -- The whole entry as shared/domain.ts defines it, scrubbed of secrets before it is written.
        entry jsonb NOT NULL CHECK (jsonb_typeof(entry) = 'object')
      )`,
      'CREATE INDEX ON relink.activity (ts)',
      'CREATE INDEX ON relink.activity (action, ts)',

      // ── triggers ──
      ...changeTracked.map((t) => `CREATE TRIGGER stamp_change BEFORE INSERT OR UPDATE ON relink.${t} FOR EACH ROW EXECUTE FUNCTION relink.stamp_change()`),
      ...COLLECTION_TABLES.map(({ table, columns }) => {
        const key = /^(\w+) text PRIMARY KEY/.exec(columns.trim())![1];
        return `CREATE TRIGGER record_deletion AFTER DELETE ON relink.${table} FOR EACH ROW EXECUTE FUNCTION relink.record_deletion('${key}')`;
      }),
      `CREATE TRIGGER record_deletion AFTER DELETE ON relink.grants FOR EACH ROW EXECUTE FUNCTION relink.record_deletion('id')`,
      ...[...dataTables, 'activity', 'deletions'].map(
        (t) => `CREATE TRIGGER check_code_schema BEFORE INSERT OR UPDATE OR DELETE ON relink.${t} FOR EACH STATEMENT EXECUTE FUNCTION relink.check_code_schema()`,
      ),

      // ── the desktop role's rights: data, never DDL (it owns nothing, so it can neither ALTER nor DROP) ──
      `GRANT USAGE ON SCHEMA relink TO ${role}`,
      `GRANT SELECT ON relink.schema_version TO ${role}`,
      // The firm row is created by the migrating (owner) connection at `firm create`; desktops rename it and
      // bump its key version.
      `GRANT SELECT, UPDATE ON relink.firm TO ${role}`,
      // A joining desktop enrols itself; removing one marks it removed (rows are never deleted).
      `GRANT SELECT, INSERT, UPDATE ON relink.devices TO ${role}`,
      ...dataTables.filter((t) => t !== 'firm' && t !== 'devices').map((t) => `GRANT SELECT, INSERT, UPDATE, DELETE ON relink.${t} TO ${role}`),
      ...APPEND_ONLY.map((t) => `GRANT SELECT, INSERT ON relink.${t} TO ${role}`),
      `GRANT SELECT, INSERT, DELETE ON relink.deletions TO ${role}`,
      `GRANT USAGE ON ALL SEQUENCES IN SCHEMA relink TO ${role}`,
    ];
  },
};

/** Every migration, oldest first. */
export const FIRM_MIGRATIONS: readonly FirmMigration[] = [v1];

/** Every table schema v1 creates, for tests and for the plaintext scan. */
export const FIRM_TABLES_V1 = [
  'schema_version',
  'deletions',
  'firm',
  'devices',
  'sealed_firm_keys',
  'invites',
  ...COLLECTION_TABLES.map((t) => t.table),
  'grants',
  'activity',
] as const;

// ── what a desktop is told when the schema and its code disagree ─────────────────────────────────────────

export type FirmSchemaProblemCode = 'schema-newer' | 'schema-older' | 'schema-unknown' | 'not-permitted';

/** An error value (never thrown by the schema check): the code for programs, the sentence for people. */
export interface FirmSchemaProblem {
  code: FirmSchemaProblemCode;
  /** The database's schema version, or null for a database that has none yet. */
  databaseVersion: number | null;
  /** The newest schema this code knows. */
  knownVersion: number;
  message: string;
}

export function schemaNewerProblem(databaseVersion: number, knownVersion: number): FirmSchemaProblem {
  return {
    code: 'schema-newer',
    databaseVersion,
    knownVersion,
    message: `This firm database was updated by a newer Relink (schema ${databaseVersion}); update Relink on this computer to keep using it. (schema-newer)`,
  };
}

export function schemaOlderProblem(databaseVersion: number | null, knownVersion: number): FirmSchemaProblem {
  return {
    code: 'schema-older',
    databaseVersion,
    knownVersion,
    message:
      databaseVersion === null
        ? `This database has no Relink firm schema yet; the first desktop to use it must connect as the database's owner to set it up (schema ${knownVersion}). (schema-older)`
        : `This firm database is at schema ${databaseVersion} and this Relink needs schema ${knownVersion}; connect once as the database's owner (or ask whoever runs it) so Relink can update it. (schema-older)`,
  };
}

export function notPermittedProblem(databaseVersion: number | null, knownVersion: number, what: string): FirmSchemaProblem {
  return {
    code: 'not-permitted',
    databaseVersion,
    knownVersion,
    message: `The firm database refused to let this connection update its schema (${what}); connect as the database's owner to do it. (not-permitted)`,
  };
}
