import type { ApiResult, StatusDelta, StatusSnapshot, VersionedStatus } from '../../../shared/api.js';
import { STATUS_COLLECTIONS, STATUS_FIELDS } from '../../../shared/api.js';

/**
 * Keeps the window's copy of the status current from main's pushes: whole versioned pictures (`status.get`, the
 * `status` event) and deltas (`statusDelta`), applied strictly in version order. A delta that does not follow
 * on from the version held means one was missed (or the window is still loading): the window asks for the whole
 * picture once, holding the deltas that arrive meanwhile, and carries on from it. Entries a delta leaves alone
 * keep their identity, so views that memoise on them do not redraw.
 */

export interface StatusSyncOptions {
  /** The whole picture (`status.get`). */
  fetchStatus(): Promise<ApiResult<VersionedStatus>>;
  /** Main pushes what changed now and answers the version (`status.sync`). */
  fetchVersion(): Promise<ApiResult<{ version: number }>>;
  /** The window's current snapshot (which the store may have patched locally, e.g. settings just saved). */
  get(): StatusSnapshot | null;
  set(snapshot: StatusSnapshot): void;
  /** How long to wait for deltas to arrive after `status.sync` answered a newer version, before fetching it whole. */
  catchUpMs?: number;
}

const MAX_HELD = 200;

export class StatusSync {
  #version: number | null = null;
  #resync: Promise<ApiResult<StatusSnapshot>> | null = null;
  /** Deltas that arrived while the window had no base to apply them to (loading, or fetching after a gap). */
  #held: StatusDelta[] = [];
  #waiters = new Set<() => void>();
  #resyncs = 0;

  constructor(private readonly opts: StatusSyncOptions) {}

  /** The version of the picture the window holds (null before the first). */
  get version(): number | null {
    return this.#version;
  }

  /** How many times the whole picture was fetched (first load included). */
  get resyncs(): number {
    return this.#resyncs;
  }

  /** A whole picture: taken unless the window already holds a newer one. */
  adopt(full: VersionedStatus): boolean {
    if (this.#version !== null && full.version < this.#version) return false;
    const { version, ...snapshot } = full;
    this.#version = version;
    this.opts.set(snapshot);
    this.#drain();
    this.#notify();
    return true;
  }

  delta(d: StatusDelta): void {
    if (this.#resync || this.#version === null) {
      // Bounded: a window that cannot load the status at all starts again from a whole picture anyway.
      if (this.#held.push(d) > MAX_HELD) this.#held.shift();
      return;
    }
    if (d.version <= this.#version) return; // already part of the picture
    if (d.baseVersion !== this.#version) {
      this.#held.push(d);
      void this.resync();
      return;
    }
    this.#apply(d);
    this.#notify();
  }

  /** Fetches the whole picture (one request at a time); the answer says whether it could. */
  resync(): Promise<ApiResult<StatusSnapshot>> {
    if (this.#resync) return this.#resync;
    this.#resyncs += 1;
    this.#resync = this.#fetchWhole();
    return this.#resync;
  }

  async #fetchWhole(): Promise<ApiResult<StatusSnapshot>> {
    let r: ApiResult<VersionedStatus>;
    try {
      r = await this.opts.fetchStatus();
    } finally {
      // From here deltas apply directly again (and a gap left among the held ones may fetch anew).
      this.#resync = null;
    }
    if (!r.ok) {
      // Apply what follows on from the picture held; the rest waits for the next push to try again.
      this.#drain(false);
      return r;
    }
    this.adopt(r.value);
    const current = this.opts.get();
    return current ? { ok: true, value: current } : { ok: false, error: { code: 'internal', message: 'Relink could not read its status.' } };
  }

  /**
   * Makes sure the window holds at least main's current picture (after the advisor did something): main pushes
   * its change, which usually arrives before the answer; otherwise the window waits briefly, then fetches it.
   */
  async catchUp(): Promise<void> {
    const r = await this.opts.fetchVersion();
    if (!r.ok) return;
    const target = r.value.version;
    if (this.#version !== null && this.#version >= target) return;
    if (this.#version === null || !(await this.#waitFor(target, this.opts.catchUpMs ?? 500))) await this.resync();
  }

  #waitFor(version: number, ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const check = () => {
        if (this.#version === null || this.#version < version) return;
        done(true);
      };
      const done = (ok: boolean) => {
        clearTimeout(timer);
        this.#waiters.delete(check);
        resolve(ok);
      };
      const timer = setTimeout(() => done(false), ms);
      this.#waiters.add(check);
    });
  }

  #notify(): void {
    for (const w of [...this.#waiters]) w();
  }

  /** Applies the held deltas that follow on from the picture held; a gap left among them fetches again. */
  #drain(resyncOnGap = true): void {
    if (!this.#held.length || this.#version === null) return;
    const held = this.#held.sort((a, b) => a.version - b.version);
    this.#held = [];
    for (let i = 0; i < held.length; i++) {
      const d = held[i]!;
      if (d.version <= this.#version) continue;
      if (d.baseVersion !== this.#version) {
        this.#held = held.slice(i);
        if (resyncOnGap) void this.resync();
        return;
      }
      this.#apply(d);
    }
  }

  #apply(d: StatusDelta): void {
    const current = this.opts.get();
    if (!current) return;
    this.opts.set(applyStatusDelta(current, d));
    this.#version = d.version;
  }
}

/** The snapshot with a delta applied (a new object; untouched collections and entries are the same objects). */
export function applyStatusDelta(snapshot: StatusSnapshot, d: StatusDelta): StatusSnapshot {
  const next: Record<string, unknown> = { ...snapshot, generatedAt: d.generatedAt };
  for (const name of STATUS_COLLECTIONS) {
    const change = d[name];
    if (change) next[name] = applyCollection<{ id: string }>(snapshot[name], change);
  }
  for (const name of STATUS_FIELDS) if (d[name] !== undefined) next[name] = d[name];
  return next as StatusSnapshot;
}

function applyCollection<T extends { id: string }>(
  list: readonly T[],
  change: {
    upsert?: T[] | undefined;
    patch?: Array<Partial<T> & { id: string }> | undefined;
    patchAlike?: Array<{ ids: string[]; set: Partial<Omit<T, 'id'>> }> | undefined;
    remove?: string[] | undefined;
    order?: string[] | undefined;
  },
): T[] {
  const removed = new Set(change.remove ?? []);
  const upserts = new Map<string, T>();
  for (const e of change.upsert ?? []) upserts.set(e.id, e);
  const patches = new Map<string, Partial<T>>();
  for (const p of change.patch ?? []) patches.set(p.id, p);
  for (const g of change.patchAlike ?? []) for (const id of g.ids) patches.set(id, { ...patches.get(id), ...g.set } as Partial<T>);
  const out: T[] = [];
  for (const e of list) {
    if (removed.has(e.id)) continue;
    const replacement = upserts.get(e.id);
    if (replacement) upserts.delete(e.id);
    const p = patches.get(e.id);
    out.push(replacement ?? (p ? { ...e, ...p } : e));
  }
  // What is left is new, in the snapshot's order.
  for (const e of upserts.values()) out.push(e);
  if (!change.order) return out;
  const byId = new Map(out.map((e) => [e.id, e] as const));
  return change.order.map((id) => byId.get(id)).filter((e): e is T => e !== undefined);
}
