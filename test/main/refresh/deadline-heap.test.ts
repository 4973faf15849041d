import { describe, expect, it } from 'vitest';
import { DeadlineHeap } from '../../../main/refresh/deadline-heap.js';
import { mulberry32 } from './support/prng.js';

/**
 * The heap behind the engine's one timer, checked against the simplest correct model: an array searched
 * linearly. Random operations with a fixed seed, so a failure reproduces.
 */

interface ModelEntry {
  key: string;
  at: number;
  seq: number;
}

/** The obviously-correct reference: earliest deadline first, then earliest (re)scheduling. */
class Model {
  entries: ModelEntry[] = [];
  seq = 0;
  push(key: string, at: number) {
    this.entries = this.entries.filter((e) => e.key !== key);
    this.entries.push({ key, at, seq: this.seq++ });
  }
  update(key: string, at: number): boolean {
    if (!this.entries.some((e) => e.key === key)) return false;
    this.push(key, at);
    return true;
  }
  remove(key: string): boolean {
    const n = this.entries.length;
    this.entries = this.entries.filter((e) => e.key !== key);
    return this.entries.length !== n;
  }
  sorted(): ModelEntry[] {
    return [...this.entries].sort((a, b) => a.at - b.at || a.seq - b.seq);
  }
  pop(): ModelEntry | undefined {
    const min = this.sorted()[0];
    if (min) this.remove(min.key);
    return min;
  }
}

describe('DeadlineHeap', () => {
  it('pops in deadline order and moves a re-pushed key instead of duplicating it', () => {
    const h = new DeadlineHeap<string>();
    h.push('c', 30);
    h.push('a', 10);
    h.push('b', 20);
    h.push('c', 5); // moved to the front
    expect(h.size).toBe(3);
    expect(h.peek()).toEqual({ key: 'c', at: 5 });
    expect([h.pop(), h.pop(), h.pop(), h.pop()].map((e) => e?.key)).toEqual(['c', 'a', 'b', undefined]);
  });

  it('updates and removes by key, and reports absent keys', () => {
    const h = new DeadlineHeap<string>();
    for (const [k, at] of [['a', 1], ['b', 2], ['c', 3], ['d', 4]] as const) h.push(k, at);
    expect(h.update('d', 0)).toBe(true);
    expect(h.update('zz', 0)).toBe(false);
    expect(h.has('zz')).toBe(false);
    expect(h.remove('a')).toBe(true);
    expect(h.remove('a')).toBe(false);
    expect(h.atOf('d')).toBe(0);
    expect(h.atOf('a')).toBeUndefined();
    expect(h.peekSecond()).toEqual({ key: 'b', at: 2 });
    expect([h.pop(), h.pop(), h.pop()].map((e) => e?.key)).toEqual(['d', 'b', 'c']);
  });

  it('breaks ties in (re)scheduling order', () => {
    const h = new DeadlineHeap<string>();
    for (const k of ['a', 'b', 'c', 'd']) h.push(k, 100);
    h.push('a', 100); // re-scheduled: now the last of the equal deadlines
    expect([h.pop(), h.pop(), h.pop(), h.pop()].map((e) => e?.key)).toEqual(['b', 'c', 'd', 'a']);
  });

  it('rejects non-finite deadlines', () => {
    const h = new DeadlineHeap<string>();
    expect(() => h.push('a', NaN)).toThrow(RangeError);
    expect(() => h.push('a', Infinity)).toThrow(RangeError);
    expect(h.size).toBe(0);
  });

  it.each([
    { seed: 1, keys: 50, range: 1000 },
    { seed: 2, keys: 400, range: 1_000_000 },
    // A small time range: many equal deadlines, so tie-breaking is exercised hard.
    { seed: 3, keys: 200, range: 8 },
  ])('matches a sorted-array model over 20,000 random operations (seed $seed)', ({ seed, keys, range }) => {
    const rand = mulberry32(seed);
    const heap = new DeadlineHeap<string>();
    const model = new Model();
    const key = () => `k${Math.floor(rand() * keys)}`;
    const at = () => Math.floor(rand() * range);
    const counts = { push: 0, update: 0, remove: 0, pop: 0 };

    for (let step = 0; step < 20_000; step++) {
      const op = rand();
      if (op < 0.4) {
        const [k, t] = [key(), at()];
        heap.push(k, t);
        model.push(k, t);
        counts.push++;
      } else if (op < 0.6) {
        const [k, t] = [key(), at()];
        expect(heap.update(k, t)).toBe(model.update(k, t));
        counts.update++;
      } else if (op < 0.75) {
        const k = key();
        expect(heap.remove(k)).toBe(model.remove(k));
        counts.remove++;
      } else {
        const got = heap.pop();
        const want = model.pop();
        expect(got && { key: got.key, at: got.at }).toEqual(want && { key: want.key, at: want.at });
        counts.pop++;
      }

      expect(heap.size).toBe(model.entries.length);
      const sorted = model.sorted();
      expect(heap.peek()).toEqual(sorted[0] && { key: sorted[0].key, at: sorted[0].at });
      expect(heap.peekSecond()?.at).toBe(sorted[1]?.at);
      if (step % 500 === 0) {
        // The index map agrees with the contents for every key, present or not.
        for (let i = 0; i < keys; i++) {
          const k = `k${i}`;
          const m = model.entries.find((e) => e.key === k);
          expect(heap.has(k)).toBe(m !== undefined);
          expect(heap.atOf(k)).toBe(m?.at);
        }
      }
    }

    // Draining what is left comes out in exactly the model's order.
    const rest: string[] = [];
    for (let e = heap.pop(); e; e = heap.pop()) rest.push(e.key);
    expect(rest).toEqual(model.sorted().map((e) => e.key));
    // Every kind of operation really happened.
    for (const n of Object.values(counts)) expect(n).toBeGreaterThan(1000);
  });
});
