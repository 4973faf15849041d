import { STATUS_COLLECTIONS, STATUS_FIELDS, type StatusDelta, type StatusSnapshot, type VersionedStatus } from '../../shared/api.js';

/**
 * What changed between two status snapshots, as the `statusDelta` event carries it (without its versions).
 * Linear in the size of the snapshots: entries are matched by id (by position first, which is how the service
 * lists them from one push to the next) and compared structurally, field by field, without serialising them.
 * `generatedAt` alone never counts as a change.
 */

/** Where a publisher's pushes go (RelinkApp's event hub). */
export interface StatusSink {
  /** Whether any window listens: without one, nothing is diffed or sent. */
  listening(): boolean;
  whole(status: VersionedStatus): void;
  delta(delta: StatusDelta): void;
}

/**
 * A change touching more than this share of the status's entries may be pushed whole rather than as a delta:
 * then the smaller of the two (as JSON) is sent.
 */
const WHOLE_STATUS_SHARE = 0.5;

/**
 * The status windows were last told about, and its version (one more with every change pushed). Each
 * `publish` tells them what changed since: nothing when nothing did (the time aside), a delta for a usual
 * change, the whole versioned picture when the change touches most of it (another profile, the demo starting).
 */
export class StatusPublisher {
  #pushed: { snapshot: StatusSnapshot; version: number } | null = null;
  #version = 0;

  constructor(private readonly sink: StatusSink) {}

  get version(): number {
    return this.#version;
  }

  /** Returns the snapshot and the version every window should now hold. */
  publish(snapshot: StatusSnapshot): { snapshot: StatusSnapshot; version: number } {
    const prev = this.#pushed;
    if (!this.sink.listening() || !prev) {
      // No window to tell (or nothing told yet): whoever opens one starts from `status.get`.
      this.#version += 1;
      this.#pushed = { snapshot, version: this.#version };
      if (this.sink.listening()) this.sink.whole({ ...snapshot, version: this.#version });
      return this.#pushed;
    }
    const diff = diffStatus(prev.snapshot, snapshot);
    if (!diff) {
      this.#pushed = { snapshot, version: prev.version };
      return this.#pushed;
    }
    this.#version += 1;
    const version = this.#version;
    this.#pushed = { snapshot, version };
    const delta = { ...diff.changes, version, baseVersion: prev.version };
    const large = diff.touched > statusSize(snapshot) * WHOLE_STATUS_SHARE;
    if (large && JSON.stringify(delta).length >= JSON.stringify(snapshot).length) this.sink.whole({ ...snapshot, version });
    else this.sink.delta(delta);
    return this.#pushed;
  }
}

export type StatusChanges = Omit<StatusDelta, 'version' | 'baseVersion'>;

export interface StatusDiff {
  changes: StatusChanges;
  /** Entries added, changed or removed, over every collection: how much of the picture the change touches. */
  touched: number;
}

/** Null when nothing but the time changed. */
export function diffStatus(prev: StatusSnapshot, next: StatusSnapshot): StatusDiff | null {
  const changes: Record<string, unknown> = { generatedAt: next.generatedAt };
  let touched = 0;
  let changed = false;
  for (const name of STATUS_COLLECTIONS) {
    const d = diffCollection<{ id: string }>(prev[name], next[name]);
    if (!d) continue;
    changes[name] = d;
    touched += (d.upsert?.length ?? 0) + (d.patch?.length ?? 0) + (d.patchAlike?.reduce((n, g) => n + g.ids.length, 0) ?? 0) + (d.remove?.length ?? 0) + (d.order ? 1 : 0);
    changed = true;
  }
  for (const name of STATUS_FIELDS) {
    if (sameJson(prev[name], next[name])) continue;
    changes[name] = next[name];
    touched += 1;
    changed = true;
  }
  return changed ? { changes: changes as StatusChanges, touched } : null;
}

/** How many entries a snapshot holds, over every collection (to weigh a diff against). */
export function statusSize(s: StatusSnapshot): number {
  let n = STATUS_FIELDS.length;
  for (const name of STATUS_COLLECTIONS) n += s[name].length;
  return n;
}

interface CollectionDelta<T> {
  upsert?: T[];
  patch?: Array<Partial<T> & { id: string }>;
  patchAlike?: Array<{ ids: string[]; set: Partial<T> }>;
  remove?: string[];
  order?: string[];
}

/** The delta of one collection, its empty parts left out (null when nothing changed). */
function diffCollection<T extends { id: string }>(prev: readonly T[], next: readonly T[]): CollectionDelta<T> | null {
  const upsert: T[] = [];
  const patch: Array<Partial<T> & { id: string }> = [];
  const changedEntry = (old: T, e: T) => {
    const p = entryPatch(old, e);
    if (p === 'whole') upsert.push(e);
    else if (p) patch.push(p);
  };
  let aligned = prev.length === next.length;
  for (let i = 0; aligned && i < next.length; i++) if (prev[i]!.id !== next[i]!.id) aligned = false;
  if (aligned) {
    // The usual case: the same entries in the same order, a few of them changed.
    for (let i = 0; i < next.length; i++) changedEntry(prev[i]!, next[i]!);
    return parts(upsert, patch, [], null);
  }
  const before = new Map<string, T>();
  for (const e of prev) before.set(e.id, e);
  const added: string[] = [];
  for (const e of next) {
    const old = before.get(e.id);
    if (old === undefined) {
      upsert.push(e);
      added.push(e.id);
    } else {
      changedEntry(old, e);
    }
  }
  const present = new Set<string>();
  for (const e of next) present.add(e.id);
  const remove: string[] = [];
  for (const e of prev) if (!present.has(e.id)) remove.push(e.id);
  // Applying the delta keeps the remaining entries where they were and appends the new ones: say the order only
  // when that is not the new order.
  const expected: string[] = [];
  for (const e of prev) if (present.has(e.id)) expected.push(e.id);
  expected.push(...added);
  let inOrder = expected.length === next.length;
  for (let i = 0; inOrder && i < next.length; i++) if (expected[i] !== next[i]!.id) inOrder = false;
  return parts(upsert, patch, remove, inOrder ? null : next.map((e) => e.id));
}

function parts<T>(upsert: T[], patches: Array<Partial<T> & { id: string }>, remove: string[], order: string[] | null): CollectionDelta<T> | null {
  if (!upsert.length && !patches.length && !remove.length && !order) return null;
  const { patch, patchAlike } = alike(patches);
  return {
    ...(upsert.length ? { upsert } : {}),
    ...(patch.length ? { patch } : {}),
    ...(patchAlike.length ? { patchAlike } : {}),
    ...(remove.length ? { remove } : {}),
    ...(order ? { order } : {}),
  };
}

/** Entries changed alike (the same fields to the same values) are said once, with their ids. */
function alike<T>(patches: Array<Partial<T> & { id: string }>): Pick<Required<CollectionDelta<T>>, 'patch' | 'patchAlike'> {
  if (patches.length < 2) return { patch: patches, patchAlike: [] };
  const groups = new Map<string, { ids: string[]; set: Partial<T> }>();
  for (const { id, ...set } of patches) {
    // Patches of one collection list their fields in the entries' order, so equal ones serialise equally.
    const key = JSON.stringify(set);
    const g = groups.get(key);
    if (g) g.ids.push(id);
    else groups.set(key, { ids: [id], set: set as Partial<T> });
  }
  const patch: Array<Partial<T> & { id: string }> = [];
  const patchAlike: Array<{ ids: string[]; set: Partial<T> }> = [];
  for (const g of groups.values()) {
    if (g.ids.length > 1) patchAlike.push(g);
    else patch.push({ id: g.ids[0]!, ...g.set });
  }
  return { patch, patchAlike };
}

/**
 * What changed in one entry: nothing (null), its id and the fields that changed, or 'whole' when a field went
 * away (a patch cannot say so; the status's entries always have every field, so this is only a safeguard).
 */
function entryPatch<T extends { id: string }>(old: T, e: T): (Partial<T> & { id: string }) | null | 'whole' {
  if (old === e) return null;
  let p: (Partial<T> & { id: string }) | null = null;
  let fields = 0;
  for (const k in e) {
    fields += 1;
    if (sameJson(old[k], e[k]) && Object.prototype.hasOwnProperty.call(old, k)) continue;
    p ??= { id: e.id } as Partial<T> & { id: string };
    p[k] = e[k];
  }
  for (const _ in old) fields -= 1;
  return fields !== 0 ? 'whole' : p;
}

/** Structural equality of JSON values (what a snapshot is made of). */
export function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameJson(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  let keys = 0;
  for (const k in x) {
    if (!Object.prototype.hasOwnProperty.call(x, k)) continue;
    keys += 1;
    if (!Object.prototype.hasOwnProperty.call(y, k) || !sameJson(x[k], y[k])) return false;
  }
  for (const k in y) if (Object.prototype.hasOwnProperty.call(y, k)) keys -= 1;
  return keys === 0;
}
