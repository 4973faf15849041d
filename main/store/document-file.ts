import fs from 'node:fs';
import path from 'node:path';
import Conf from 'conf';

/**
 * One JSON document in one file, read and written whole, with `conf` as the engine — electron-store inside
 * Electron (electron-store-backend.ts), plain conf under Node (tests, the CLI). Both write atomically: a
 * temporary file, fsync, rename over the target, so a crash or a full disk leaves the old file or the new one,
 * never half of each (security-anchors §5 #16–#17).
 *
 * How conf 16 behaves, and what this file does about it (checked by test/main/store/document-file.test.ts):
 * - With `clearInvalidConfig: false`, a file that is not JSON makes the constructor throw a SyntaxError
 *   ("The config file `…` is not valid JSON."), and so does every later read of `.store`. The engine is
 *   therefore created lazily and its SyntaxError becomes a `CorruptFile` value; any other error (EACCES, EIO)
 *   is thrown as it is, because a file we cannot read right now is not a damaged file.
 * - A file holding a JSON array or scalar reads as an empty object, and a missing file also reads as `{}`.
 *   Existence is checked first so "no file yet" is told apart; an empty object fails the schema, so damage
 *   of that kind is still caught (by the metadata store).
 * - No conf `schema`: validation is zod's job (schema.ts), done by the caller, so conf never clears or
 *   rewrites a file on its own.
 * - A crash can leave conf's temporary files (`relink.json.tmp-…`) behind; stale ones are removed when the
 *   backend is created.
 */

/** The file exists but could not be parsed. `reason` never quotes the file's content. */
export class CorruptFile {
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {}
}

export interface DocumentFile {
  readonly path: string;
  /** The parsed document; `undefined` when the file does not exist; `CorruptFile` when it cannot be parsed. */
  read(): unknown;
  /** Replace the whole file atomically. */
  write(doc: unknown): void;
  /** Cheap change detection (inode, size, mtime), or null when there is no file. */
  fingerprint(): string | null;
  /** Rename the file to `fileName` in the same folder (quarantine); returns the new path, or null if absent. */
  moveAside(fileName: string): string | null;
}

/** The metadata file plus its last-good copy, in one data folder. */
export interface DocumentBackend extends DocumentFile {
  readonly dataDir: string;
  readonly lastGood: DocumentFile;
}

/** The slice of conf's API we use; electron-store's class has it too. */
export interface ConfEngine {
  store: Record<string, unknown>;
  readonly path: string;
}

/**
 * How a ConfDocumentFile has conf read and write its file. conf's default writer indents with tabs and,
 * before every whole-store write, walks every value looking for functions and symbols; at 10,000 connections
 * that is a 5.8 MB file and tens of milliseconds per write. The metadata is plain JSON built from validated
 * data, so Relink writes it compact (4.3 MB) with plain JSON.stringify, which also tells conf the walk is not
 * needed.
 *
 * And before each whole-store write conf re-reads and parses the whole file, only to carry over a
 * bookkeeping key of its own (`__internal__`, for conf's migrations), which Relink never uses: its schema
 * has its own version and migrations. Parsing 4 MB to find nothing costs ~25 MB of garbage per write, so
 * while a write is under way the codec answers that read with an empty store. Every other read parses.
 */
export interface DocumentCodec {
  serialize: (value: unknown) => string;
  deserialize: (text: string) => Record<string, unknown>;
}

export type EngineFactory = (configName: string, codec: DocumentCodec) => ConfEngine;

export const DOCUMENT_NAME = 'relink';
export const LAST_GOOD_NAME = 'relink.last-good';
/** A temporary file younger than this may belong to a write in progress in another process. */
const STALE_TEMP_MS = 60_000;

export class ConfDocumentFile implements DocumentFile {
  readonly path: string;
  #engine: ConfEngine | null = null;
  #writing = false;
  readonly #codec: DocumentCodec = {
    serialize: (value) => JSON.stringify(value),
    deserialize: (text) => (this.#writing ? {} : (JSON.parse(text) as Record<string, unknown>)),
  };

  constructor(
    readonly dataDir: string,
    private readonly configName: string,
    private readonly createEngine: EngineFactory,
  ) {
    this.path = path.join(dataDir, `${configName}.json`);
  }

  read(): unknown {
    if (!fs.existsSync(this.path)) return undefined;
    try {
      // conf returns objects without a prototype; a plain copy keeps equality checks and zod unsurprising.
      return { ...this.#open().store };
    } catch (error) {
      if (isParseError(error)) return new CorruptFile(this.path, 'the file is not valid JSON');
      throw error;
    }
  }

  write(doc: unknown): void {
    if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw new TypeError('A document must be an object');
    this.#writing = true;
    try {
      this.#open().store = doc as Record<string, unknown>;
    } finally {
      this.#writing = false;
    }
  }

  fingerprint(): string | null {
    const s = fs.statSync(this.path, { throwIfNoEntry: false, bigint: true });
    return s ? `${s.ino}:${s.size}:${s.mtimeNs}` : null;
  }

  moveAside(fileName: string): string | null {
    if (path.basename(fileName) !== fileName) throw new Error('moveAside takes a file name, not a path');
    // rename() replaces an existing target on POSIX; never let one quarantined file bury another.
    const ext = path.extname(fileName);
    const stem = fileName.slice(0, fileName.length - ext.length);
    let target = path.join(this.dataDir, fileName);
    for (let n = 2; fs.existsSync(target); n++) target = path.join(this.dataDir, `${stem}-${n}${ext}`);
    try {
      fs.renameSync(this.path, target);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
    // The engine may hold a half-read state of the old file; start afresh for the next one.
    this.#engine = null;
    return target;
  }

  #open(): ConfEngine {
    this.#engine ??= this.createEngine(this.configName, this.#codec);
    return this.#engine;
  }
}

export class ConfDocumentBackend extends ConfDocumentFile implements DocumentBackend {
  readonly lastGood: DocumentFile;

  constructor(dataDir: string, createEngine: EngineFactory) {
    fs.mkdirSync(dataDir, { recursive: true });
    super(dataDir, DOCUMENT_NAME, createEngine);
    this.lastGood = new ConfDocumentFile(dataDir, LAST_GOOD_NAME, createEngine);
    removeStaleTemps(dataDir, [DOCUMENT_NAME, LAST_GOOD_NAME]);
  }
}

/** The backend outside Electron: plain conf in `dataDir`. */
export class ConfBackend extends ConfDocumentBackend {
  constructor(dataDir: string) {
    super(dataDir, (configName, codec) => new Conf({ cwd: dataDir, configName, clearInvalidConfig: false, configFileMode: 0o600, ...codec }));
  }
}

function isParseError(error: unknown): boolean {
  return error instanceof Error && error.name === 'SyntaxError';
}

/** conf (through `atomically`) names temporaries `<file>.tmp-<10 digits><6 hex>`. */
function removeStaleTemps(dataDir: string, names: string[], now = Date.now()): void {
  let entries: string[];
  try {
    entries = fs.readdirSync(dataDir);
  } catch {
    return;
  }
  for (const entry of entries) {
    if (!names.some((n) => entry.startsWith(`${n}.json.tmp-`))) continue;
    const full = path.join(dataDir, entry);
    try {
      if (now - fs.statSync(full).mtimeMs > STALE_TEMP_MS) fs.unlinkSync(full);
    } catch {
      // Gone already, or not ours to remove: either way nothing to do.
    }
  }
}
