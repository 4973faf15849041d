import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { isoNow, type Clock } from '../core/clock.js';
import type { DamagedMarker, JournalContents, RefreshJournalPort, RefreshMarker } from './ports.js';

/**
 * The write-ahead "refresh in flight" journal (security-anchors §3 H3). Before the refresher sends a refresh
 * request for a grant it records a marker; after the rotated token is persisted and read back it removes it.
 * A marker found at start-up means a process died with a refresh in flight: the response may have been lost
 * and the token rotated at Xero, so the refresher retries with the stored (old) token while Xero's 30-minute
 * grace lasts, and otherwise marks the grant for reconnection — never deletes it.
 *
 * One small file per grant (`<dataDir>/refresh-journal/<grantId>.json`), not a field in relink.json: the
 * marker is written on every refresh and must be on disk before the request goes out, and a hundred bytes
 * fsync'd is cheap where rewriting the whole metadata document is not.
 *
 * Written in place and fsync'd, without a temp file, rename and folder fsync (which tripled the system calls
 * of every refresh). A marker cut short by a crash reads as damaged, and a damaged marker is treated as a
 * refresh that was in flight, which is the safe reading. After a power cut the marker of a refresh started
 * just before may be missing, as its folder entry was not synced; the next start then refreshes that grant
 * as usual with the stored token, which is exactly what the marker would have asked for (Xero's grace
 * accepts it for 30 minutes), and a later `invalid_grant` is reported for reconnection in both cases.
 */

export const JOURNAL_DIR = 'refresh-journal';
/** Token generation stamps, one small file per grant (see `generation`). */
export const GENERATIONS_DIR = 'token-generations';
const TMP_SUFFIX = '.tmp';
/** A temp file younger than this may be another live process's write in progress. */
const STALE_TMP_MS = 60_000;

const isoDate = z.iso.datetime({ offset: true });
/** The marker as stored; its type is the port's (ports.ts), which the schema must produce. */
export const refreshMarkerSchema = z
  .object({
    grantId: z.string().min(1),
    startedAt: isoDate,
    pid: z.number().int().min(0),
    attempt: z.number().int().min(1),
  })
  .strict() satisfies z.ZodType<RefreshMarker>;
export type { DamagedMarker, JournalContents, RefreshMarker } from './ports.js';

/** The journal in the profile folder (the local RefreshJournalPort). */
export class RefreshJournal implements RefreshJournalPort {
  readonly dir: string;
  readonly generationsDir: string;

  constructor(
    dataDir: string,
    private readonly clock: Clock,
    private readonly pid: number = process.pid,
  ) {
    this.dir = path.join(dataDir, JOURNAL_DIR);
    this.generationsDir = path.join(dataDir, GENERATIONS_DIR);
  }

  /**
   * Create the folder and remove temp files left by a crash: those older than a minute, and those whose
   * writer (the pid in the name) is gone. Call once at start-up, before `list()`.
   */
  async init(): Promise<{ removedTemps: number }> {
    await fs.promises.mkdir(this.dir, { recursive: true, mode: 0o700 });
    await fs.promises.mkdir(this.generationsDir, { recursive: true, mode: 0o700 });
    let removedTemps = 0;
    for (const name of await fs.promises.readdir(this.dir)) {
      if (!name.endsWith(TMP_SUFFIX)) continue;
      const full = path.join(this.dir, name);
      try {
        const { mtimeMs } = await fs.promises.stat(full);
        const writer = Number(/\.(\d+)-[0-9a-f]+\.tmp$/.exec(name)?.[1]);
        const writerGone = Number.isInteger(writer) && writer !== this.pid && !isAlive(writer);
        // File times are wall-clock times, so they are compared with the wall clock, not the engine's Clock.
        if (writerGone || Date.now() - mtimeMs > STALE_TMP_MS) {
          await fs.promises.unlink(full);
          removedTemps++;
        }
      } catch {
        // Renamed or removed by its writer meanwhile.
      }
    }
    return { removedTemps };
  }

  /** Record a refresh about to be sent. Resolves once the marker's content is on disk (fsync'd). */
  async begin(grantId: string, attempt = 1): Promise<RefreshMarker> {
    const marker = refreshMarkerSchema.parse({ grantId, startedAt: isoNow(this.clock), pid: this.pid, attempt });
    const target = this.#pathFor(grantId);
    const write = () => fs.promises.writeFile(target, JSON.stringify(marker), { mode: 0o600, flush: true });
    // init() made the folder; only if it was removed since is it made again.
    await write().catch(async (error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error;
      await fs.promises.mkdir(this.dir, { recursive: true, mode: 0o700 });
      await write();
    });
    return marker;
  }

  /** The refresh finished (rotated token persisted, or a terminal answer recorded). */
  async end(grantId: string): Promise<void> {
    try {
      await fs.promises.unlink(this.#pathFor(grantId));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }

  /**
   * The grant's token generation: a random stamp replaced whenever its stored refresh token may change (a
   * refresh about to be sent, a new consent). A process that finds the stamp it last saw knows the keychain
   * still holds the token it last read or wrote there, and can skip reading it again under the lock; any
   * other stamp (or none) means "read the keychain". Not fsync'd: after a power cut every process starts
   * with no cached token anyway, so only visibility between running processes matters.
   */
  async generation(grantId: string): Promise<string | null> {
    try {
      return await fs.promises.readFile(this.#generationPath(grantId), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
  }

  /** Replaces the grant's generation stamp (see `generation`) and returns the new one. */
  async bumpGeneration(grantId: string): Promise<string> {
    const stamp = `${this.pid}-${randomBytes(12).toString('hex')}`;
    const file = this.#generationPath(grantId);
    await fs.promises.writeFile(file, stamp, { mode: 0o600 }).catch(async (error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error;
      await fs.promises.mkdir(this.generationsDir, { recursive: true, mode: 0o700 });
      await fs.promises.writeFile(file, stamp, { mode: 0o600 });
    });
    return stamp;
  }

  #generationPath(grantId: string): string {
    return path.join(this.generationsDir, path.basename(this.#pathFor(grantId)).slice(0, -'.json'.length));
  }

  async read(grantId: string): Promise<RefreshMarker | DamagedMarker | null> {
    const full = this.#pathFor(grantId);
    return readMarker(full, grantId);
  }

  /**
   * The grants whose refresh may have been in flight when a process died: every marker, damaged ones
   * included — a marker cut short by a crash is the most likely kind, and ignoring it would leave a rotation
   * whose answer was lost waiting for the next probe, perhaps past Xero's 30-minute grace. What the engine
   * refreshes first at start-up.
   */
  async interrupted(): Promise<string[]> {
    const { markers, damaged } = await this.list();
    return [...new Set([...markers, ...damaged].map((m) => m.grantId))];
  }

  /** Markers left behind, e.g. by a process that crashed mid-refresh; unreadable ones are listed as damaged. */
  async list(): Promise<JournalContents> {
    const out: JournalContents = { markers: [], damaged: [] };
    let names: string[];
    try {
      names = await fs.promises.readdir(this.dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return out;
      throw error;
    }
    for (const name of names.sort()) {
      if (!name.endsWith('.json')) continue;
      const grantId = decodeGrantId(name.slice(0, -'.json'.length));
      if (grantId === null) continue;
      const result = await readMarker(path.join(this.dir, name), grantId);
      if (result === null) continue;
      if ('reason' in result) out.damaged.push(result);
      else out.markers.push(result);
    }
    return out;
  }

  #pathFor(grantId: string): string {
    if (typeof grantId !== 'string' || grantId.length === 0 || grantId.length > 200) {
      throw new TypeError('Invalid grant id for the refresh journal');
    }
    return path.join(this.dir, `${encodeGrantId(grantId)}.json`);
  }
}

async function readMarker(full: string, grantId: string): Promise<RefreshMarker | DamagedMarker | null> {
  let mtime: Date | null = null;
  const damaged = (reason: string): DamagedMarker => ({ grantId, path: full, modifiedAt: mtime?.toISOString() ?? null, reason });
  let text: string;
  try {
    mtime = (await fs.promises.stat(full)).mtime;
    text = await fs.promises.readFile(full, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return null; // ended (removed) meanwhile
    // There but unreadable (a folder in its place, no permission, a disk error): still a refresh that may have
    // been in flight, never a reason to stop start-up.
    return damaged(`could not be read (${code ?? (error as Error).message})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return damaged('not valid JSON');
  }
  const parsed = refreshMarkerSchema.safeParse(json);
  if (!parsed.success) return damaged('unexpected shape');
  if (parsed.data.grantId !== grantId) return damaged('the marker names another grant');
  return parsed.data;
}

/**
 * Grant ids become file names on every platform: keep [a-z0-9_-] and percent-encode the rest — capitals
 * too, because macOS and Windows file names ignore case and `Abc`/`abc` must not share a marker; dots too,
 * so no name is `.` or `..` and none ends in a dot, which Windows strips.
 */
export function encodeGrantId(grantId: string): string {
  let out = '';
  for (const byte of Buffer.from(grantId, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += /[a-z0-9_-]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

function decodeGrantId(name: string): string | null {
  try {
    return decodeURIComponent(name);
  } catch {
    return null;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
