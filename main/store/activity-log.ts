import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { isoNow, type Clock } from '../core/clock.js';
import { redactSecrets } from '../core/redact.js';
import { activityEntrySchema, type ActivityEntry } from '../../shared/domain.js';
import type { ActivityLogPort, ActivityQuery, NewActivityEntry } from './ports.js';

/**
 * The activity log: what Relink and the advisors did, one JSON object per line in `activity.jsonl` in the
 * data folder. Append-only — lines are added with appendFile and never rewritten — so a crash can at worst
 * leave a torn last line, which readers skip. This is the record an offboarding audit or a support case reads
 * ("who reconnected Harbour Payroll Bridge for Acme, and when?"), so it must never hold a secret: every
 * string is passed through `redactSecrets` before it is written.
 */

export const ACTIVITY_FILE = 'activity.jsonl';

export { activityEntrySchema } from '../../shared/domain.js';
export type { ActivityEntry } from '../../shared/domain.js';
export type { ActivityQuery, NewActivityEntry } from './ports.js';

/** The activity log in the profile folder (the local ActivityLogPort). */
export class ActivityLog implements ActivityLogPort {
  readonly path: string;
  /** Appends run one after another so lines keep the order in which `append` was called. */
  #tail: Promise<unknown> = Promise.resolve();

  constructor(
    dataDir: string,
    private readonly clock: Clock,
  ) {
    this.path = path.join(dataDir, ACTIVITY_FILE);
  }

  /** Validate, scrub and append one entry; resolves with what was written. */
  append(entry: NewActivityEntry): Promise<ActivityEntry> {
    const scrubbed = scrub({ ...entry, ts: entry.ts ?? isoNow(this.clock) });
    const parsed = activityEntrySchema.safeParse(scrubbed);
    if (!parsed.success) {
      const where = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
      return Promise.reject(new TypeError(`Invalid activity entry: ${where}`));
    }
    const line = `${JSON.stringify(parsed.data)}\n`;
    const write = this.#tail.then(async () => {
      // Normally there already (the metadata backend makes it); if not, as private as the rest (0700).
      await fs.promises.mkdir(path.dirname(this.path), { recursive: true, mode: 0o700 });
      await fs.promises.appendFile(this.path, line, { encoding: 'utf8', mode: 0o600 });
      return parsed.data;
    });
    this.#tail = write.catch(() => undefined);
    return write;
  }

  /** Entries matching the query, oldest first. Lines that do not parse (a torn write) are skipped. */
  async read(query: ActivityQuery = {}): Promise<ActivityEntry[]> {
    await this.#tail;
    const from = query.from ? Date.parse(query.from) : Number.NEGATIVE_INFINITY;
    const to = query.to ? Date.parse(query.to) : Number.POSITIVE_INFINITY;
    const limit = query.limit ?? Number.POSITIVE_INFINITY;
    const out: ActivityEntry[] = [];
    let stream: fs.ReadStream;
    try {
      await fs.promises.access(this.path);
      stream = fs.createReadStream(this.path, { encoding: 'utf8' });
    } catch {
      return out;
    }
    const lines = readline.createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY });
    for await (const line of lines) {
      if (!line.trim()) continue;
      let entry: ActivityEntry;
      try {
        const parsed = activityEntrySchema.safeParse(JSON.parse(line));
        if (!parsed.success) continue;
        entry = parsed.data;
      } catch {
        continue;
      }
      const t = Date.parse(entry.ts);
      if (t < from || t >= to) continue;
      if (query.action !== undefined && entry.action !== query.action) continue;
      out.push(entry);
      // Keep only the newest `limit` as we go, so a long log is never held in memory whole.
      if (out.length > limit) out.shift();
    }
    return out;
  }
}

/** Every string of the entry through redactSecrets (ids included: a pasted token in the wrong field too). */
function scrub(entry: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(entry)) {
    if (value === undefined) continue;
    if (typeof value === 'string') out[key] = key === 'ts' ? value : redactSecrets(value);
    else if (Array.isArray(value)) out[key] = value.map((v) => (typeof v === 'string' ? redactSecrets(v) : v));
    else out[key] = value;
  }
  return out;
}
