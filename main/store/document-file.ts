import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import Conf from 'conf';

/**
 * One JSON document in one file, read and written whole. `conf` reads it — electron-store inside Electron
 * (../electron/electron-store-backend.ts), plain conf under Node (tests, the CLI) — and Relink writes it
 * itself, with a write that is checked before it replaces anything (`writeVerified` below): a temporary
 * file, every byte written, fsync, read back and compared, and only then renamed over the target. So a crash or a full disk
 * leaves the old file or the new one, never half of each (security-anchors §5 #16–#17).
 *
 * Why not conf's own write: conf writes through `atomically` 2.1.1, which makes one `writeSync` call and
 * ignores a short count. On a nearly full disk the kernel accepts part of the bytes without an error, and
 * the partial file was fsync'd and renamed over relink.json (and over its last good copy) — 20 KB of invalid
 * JSON, with the command reporting success (issue 9, item 2). test/main/store/disk-full.test.ts shows it.
 *
 * How conf 16 reads, and what this file does about it (checked by test/main/store/document-file.test.ts):
 * - With `clearInvalidConfig: false`, a file that is not JSON makes the constructor throw a SyntaxError
 *   ("The config file `…` is not valid JSON."), and so does every later read of `.store`. The engine is
 *   therefore created lazily and its SyntaxError becomes a `CorruptFile` value; any other error (EACCES, EIO)
 *   is thrown as it is, because a file we cannot read right now is not a damaged file.
 * - A file holding a JSON array or scalar reads as an empty object, and a missing file also reads as `{}`.
 *   Existence is checked first so "no file yet" is told apart; an empty object fails the schema, so damage
 *   of that kind is still caught (by the metadata store).
 * - No conf `schema`: validation is zod's job (schema.ts), done by the caller, so conf never clears or
 *   rewrites a file on its own.
 * - A crash can leave temporary files (`relink.json.tmp-…`) behind; stale ones are removed when the backend
 *   is created. A write that fails removes its own at once, so a full disk is not made fuller.
 */

/** The errors that mean "no room": the disk is full, the user's quota is used up, or the file is too big. */
export const DISK_FULL_CODES = ['ENOSPC', 'EDQUOT', 'EFBIG'] as const;
export type DiskFullCode = (typeof DISK_FULL_CODES)[number];

/**
 * A write refused for lack of space. Thrown only once the old file is known to be untouched (the partial
 * temporary file is removed first), which is what lets the message say that nothing was changed.
 */
export class DiskFullError extends Error {
  constructor(
    readonly code: DiskFullCode,
    readonly path: string,
    options?: { cause?: unknown },
  ) {
    super(`The disk is full: nothing was changed. Free some space and try again. (${code})`, options);
    this.name = 'DiskFullError';
  }
}

/** What reached the disk is not what was written (read back and compared): the old file was kept. */
export class UnverifiedWriteError extends Error {
  readonly code = 'EIO';
  constructor(
    readonly path: string,
    detail: string,
  ) {
    super(`Relink could not save its data safely (${detail}), so the previous file was kept. Check the disk, then try again. (EIO)`);
    this.name = 'UnverifiedWriteError';
  }
}

/** A DiskFullError, or a raw file-system error with one of DISK_FULL_CODES. */
export function isDiskFull(error: unknown): boolean {
  if (error instanceof DiskFullError) return true;
  const code = (error as NodeJS.ErrnoException | null)?.code;
  return typeof code === 'string' && (DISK_FULL_CODES as readonly string[]).includes(code);
}

/** The parts of node:fs a verified write uses; tests pass a fake one that writes short or lies. */
export type WriteFs = Pick<typeof fs, 'openSync' | 'writeSync' | 'fsyncSync' | 'closeSync' | 'readFileSync' | 'renameSync' | 'unlinkSync'>;

/**
 * Replace `target` with `text`, or leave it exactly as it was and throw. Every step is checked before the
 * rename, the only step that changes what `target` holds:
 * - write to a new temporary file next to it (same folder, so the rename is atomic), looping until every byte
 *   is written: a write may accept fewer bytes than asked (a nearly full disk does), and Node does not retry;
 * - fsync, so the bytes are on the disk and not only in a cache when the rename makes them the file;
 * - read the file back and compare it with what was meant, byte for byte — which also proves it parses, since
 *   the text is JSON.stringify's output (re-parsing 4 MB per write would cost ~25 MB of garbage each time);
 * - rename over the target, then fsync the folder so the rename itself survives a power cut.
 * On any failure the temporary file is removed. ENOSPC, EDQUOT and EFBIG become DiskFullError.
 */
export function writeVerified(target: string, text: string, fsi: WriteFs = fs): void {
  const data = Buffer.from(text, 'utf8');
  // The same shape as atomically's names, so removeStaleTemps also cleans up after a crash of this writer.
  const temp = `${target}.tmp-${String(Date.now()).slice(-10)}${randomBytes(3).toString('hex')}`;
  let fd: number | null = null;
  try {
    fd = fsi.openSync(temp, 'wx', 0o600);
    for (let offset = 0; offset < data.length; ) {
      const written = fsi.writeSync(fd, data, offset, data.length - offset, offset);
      if (!(written > 0)) throw new UnverifiedWriteError(target, `the disk accepted no more bytes after ${offset} of ${data.length}`);
      offset += written;
    }
    fsi.fsyncSync(fd);
    fsi.closeSync(fd);
    fd = null;
    const back = fsi.readFileSync(temp);
    if (back.length !== data.length) throw new UnverifiedWriteError(target, `the new file has ${back.length} bytes instead of ${data.length}`);
    if (!back.equals(data)) throw new UnverifiedWriteError(target, 'the new file does not hold what was written');
    renameWithRetry(fsi, temp, target);
  } catch (error) {
    if (fd !== null) {
      try {
        fsi.closeSync(fd);
      } catch {
        // Closing is best effort here: the error that matters is the one being thrown.
      }
    }
    try {
      fsi.unlinkSync(temp);
    } catch {
      // Never created, or already gone.
    }
    const code = (error as NodeJS.ErrnoException).code;
    if (!(error instanceof DiskFullError) && isDiskFull(error)) throw new DiskFullError(code as DiskFullCode, target, { cause: error });
    throw error;
  }
  syncFolder(path.dirname(target));
}

/**
 * On Windows an antivirus or indexer holding the target open makes a rename fail for a moment with EPERM,
 * EACCES or EBUSY (atomically retried for 1 s too). Elsewhere those codes are real and retrying is harmless.
 */
function renameWithRetry(fsi: WriteFs, from: string, to: string): void {
  const deadline = Date.now() + 1_000;
  for (;;) {
    try {
      fsi.renameSync(from, to);
      return;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (!(code === 'EPERM' || code === 'EACCES' || code === 'EBUSY') || Date.now() >= deadline) throw error;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 25);
    }
  }
}

/**
 * Best effort: a folder cannot be opened for fsync on Windows, and some file systems refuse to sync one
 * (EINVAL). The file itself is already synced; at worst a power cut in the next moment undoes the rename and
 * leaves the previous, complete file.
 */
function syncFolder(dir: string): void {
  if (process.platform === 'win32') return;
  let fd: number | null = null;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    // See above.
  } finally {
    if (fd !== null) fs.closeSync(fd);
  }
}

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
  /**
   * Replace the whole file atomically, verified before it replaces anything (see writeVerified). Throws
   * DiskFullError or another error with the file left exactly as it was.
   */
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
 * How conf parses the file (plain JSON.parse), and the compact JSON.stringify Relink writes with: at 10,000
 * connections that is 4.3 MB instead of conf's tab-indented 5.8 MB. conf itself never writes the file (see
 * the top of this file), so its serializer is given only to keep the two formats the same.
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
  readonly #codec: DocumentCodec = {
    serialize: (value) => JSON.stringify(value),
    deserialize: (text) => JSON.parse(text) as Record<string, unknown>,
  };

  constructor(
    readonly dataDir: string,
    private readonly configName: string,
    private readonly createEngine: EngineFactory,
    private readonly fsi: WriteFs = fs,
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
    writeVerified(this.#target(), JSON.stringify(doc), this.fsi);
  }

  /**
   * Where the write goes: through a symlink at the path to the file it points at, as conf's own write did, so
   * that a relink.json linked elsewhere stays linked rather than being replaced by a plain file.
   */
  #target(): string {
    try {
      if (fs.lstatSync(this.path, { throwIfNoEntry: false })?.isSymbolicLink()) return fs.realpathSync(this.path);
    } catch {
      // A link that points nowhere: write where it stands.
    }
    return this.path;
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

  constructor(dataDir: string, createEngine: EngineFactory, fsi: WriteFs = fs) {
    ensurePrivateFolder(dataDir);
    super(dataDir, DOCUMENT_NAME, createEngine, fsi);
    this.lastGood = new ConfDocumentFile(dataDir, LAST_GOOD_NAME, createEngine, fsi);
    removeStaleTemps(dataDir, [DOCUMENT_NAME, LAST_GOOD_NAME]);
  }
}

/** The backend outside Electron: plain conf in `dataDir`. `fs` is for tests that simulate a failing disk. */
export class ConfBackend extends ConfDocumentBackend {
  constructor(dataDir: string, opts: { fs?: WriteFs } = {}) {
    super(dataDir, (configName, codec) => new Conf({ cwd: dataDir, configName, clearInvalidConfig: false, configFileMode: 0o600, ...codec }), opts.fs);
  }
}

/**
 * The data folder is its owner's only (0700), like the files in it (0600): its listing alone names grants
 * (refresh-journal/, token-generations/) and quarantined copies. Relink before issue 9 created it 0755, so a
 * folder that already holds Relink's metadata file and belongs to this user is tightened too. A folder that
 * does not hold it yet is left as it is: it may be one the user pointed --data-dir at for other reasons (it is
 * tightened once it has become Relink's). Windows has ACLs, not these modes.
 */
export function ensurePrivateFolder(dir: string): void {
  const created = fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (created !== undefined || process.platform === 'win32') return;
  try {
    const s = fs.statSync(dir);
    const ours = s.uid === process.getuid?.();
    const relinks = [DOCUMENT_NAME, LAST_GOOD_NAME].some((name) => fs.existsSync(path.join(dir, `${name}.json`)));
    if (ours && relinks && (s.mode & 0o077) !== 0) fs.chmodSync(dir, 0o700);
  } catch {
    // Tightening is defence in depth (the files are 0600 already); a folder we cannot chmod still works.
  }
}

function isParseError(error: unknown): boolean {
  return error instanceof Error && error.name === 'SyntaxError';
}

/** writeVerified (and, before it, conf through `atomically`) names temporaries `<file>.tmp-<10 digits><6 hex>`. */
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
