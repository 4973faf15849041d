/**
 * A binary min-heap of deadlines keyed by a unique key, with an index map so that a deadline can be moved or
 * removed in O(log n) without searching. The scheduler keeps one entry per grant (plus its own heartbeat)
 * here and arms a single timer for whatever sits at the top (DESIGN.md §5 flow 2: one timer for the engine).
 *
 * Keys are unique: pushing a key that is already present moves it. Equal deadlines come out in the order
 * they were (re)scheduled, so runs are deterministic and a catch-up keeps its intended order.
 */
export interface DeadlineEntry<K> {
  readonly key: K;
  /** Milliseconds since the epoch (or any other time base the owner uses consistently). */
  readonly at: number;
}

interface Slot<K> {
  key: K;
  at: number;
  /** Tie-breaker: later (re)scheduling of an equal deadline comes out later. */
  seq: number;
}

export class DeadlineHeap<K> {
  readonly #slots: Slot<K>[] = [];
  /** key → position in #slots; kept in step with every swap so remove/update never search. */
  readonly #index = new Map<K, number>();
  #seq = 0;

  get size(): number {
    return this.#slots.length;
  }

  has(key: K): boolean {
    return this.#index.has(key);
  }

  /** The deadline of `key`, or undefined if it is not in the heap. */
  atOf(key: K): number | undefined {
    const i = this.#index.get(key);
    return i === undefined ? undefined : this.#slots[i]!.at;
  }

  /** The earliest entry, without removing it. */
  peek(): DeadlineEntry<K> | undefined {
    const top = this.#slots[0];
    return top && { key: top.key, at: top.at };
  }

  /**
   * The second-earliest entry: the smaller of the root's children. The scheduler keeps one internal entry
   * (its heartbeat) in the heap and uses this to report the earliest *task* deadline in O(1).
   */
  peekSecond(): DeadlineEntry<K> | undefined {
    const a = this.#slots[1];
    const b = this.#slots[2];
    const best = a && b ? (this.#less(2, 1) ? b : a) : a;
    return best && { key: best.key, at: best.at };
  }

  /** Adds `key` at `at`, or moves it there if it is already present. O(log n). */
  push(key: K, at: number): void {
    if (!Number.isFinite(at)) throw new RangeError(`deadline must be a finite number, got ${at}`);
    if (this.update(key, at)) return;
    const i = this.#slots.length;
    this.#slots.push({ key, at, seq: this.#seq++ });
    this.#index.set(key, i);
    this.#up(i);
  }

  /** Moves an existing key to a new deadline; returns false (and does nothing) if the key is absent. O(log n). */
  update(key: K, at: number): boolean {
    if (!Number.isFinite(at)) throw new RangeError(`deadline must be a finite number, got ${at}`);
    const i = this.#index.get(key);
    if (i === undefined) return false;
    const slot = this.#slots[i]!;
    slot.at = at;
    slot.seq = this.#seq++;
    // It may have moved either way; at most one of these does anything.
    this.#down(this.#up(i));
    return true;
  }

  /** Removes and returns the earliest entry. O(log n). */
  pop(): DeadlineEntry<K> | undefined {
    const top = this.#slots[0];
    if (!top) return undefined;
    this.#removeAt(0);
    return { key: top.key, at: top.at };
  }

  /** Removes `key`; returns whether it was present. O(log n). */
  remove(key: K): boolean {
    const i = this.#index.get(key);
    if (i === undefined) return false;
    this.#removeAt(i);
    return true;
  }

  clear(): void {
    this.#slots.length = 0;
    this.#index.clear();
  }

  #removeAt(i: number): void {
    const last = this.#slots.length - 1;
    const removed = this.#slots[i]!;
    if (i !== last) this.#swap(i, last);
    this.#slots.pop();
    this.#index.delete(removed.key);
    if (i < this.#slots.length) this.#down(this.#up(i));
  }

  #less(i: number, j: number): boolean {
    const a = this.#slots[i]!;
    const b = this.#slots[j]!;
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }

  #swap(i: number, j: number): void {
    const a = this.#slots[i]!;
    const b = this.#slots[j]!;
    this.#slots[i] = b;
    this.#slots[j] = a;
    this.#index.set(b.key, i);
    this.#index.set(a.key, j);
  }

  /** Sifts up; returns the final position. */
  #up(i: number): number {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.#less(i, parent)) break;
      this.#swap(i, parent);
      i = parent;
    }
    return i;
  }

  #down(i: number): void {
    const n = this.#slots.length;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let smallest = i;
      if (l < n && this.#less(l, smallest)) smallest = l;
      if (r < n && this.#less(r, smallest)) smallest = r;
      if (smallest === i) return;
      this.#swap(i, smallest);
      i = smallest;
    }
  }
}
