import type { Clock, TimerHandle } from '../../main/core/clock.js';

/**
 * A Clock that only moves when a test moves it, so hours of refresh schedule run in milliseconds and every
 * timer the engine arms can be counted.
 *
 * Three ways time can pass, matching what real machines do:
 * - `advance(ms)`: time passes normally; due timers fire in deadline order, including timers armed by
 *   callbacks during the advance. `advanceAsync(ms)` does the same but lets promise continuations run
 *   between firings (async tasks finishing, then re-arming).
 * - `jumpWallClock(ms)`: the wall clock jumps (a user changing the time, NTP) while monotonic time stands
 *   still. Timers are monotonic, so none fire.
 * - `sleep(ms)`: the lid is closed: both clocks move but no timer fires during the gap. Overdue timers fire
 *   late, on the next `advance` (even `advance(0)`).
 */

/** Node's setTimeout silently turns a longer delay into 1 ms; a test clock should make that bug loud. */
export const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;

interface PendingTimer {
  readonly id: number;
  readonly callback: () => void;
  /** Monotonic time at which it is due. */
  readonly due: number;
  /** Arming order, to break ties like Node does (first armed, first fired). */
  readonly seq: number;
  /** The delay asked for, for tests that inspect stepping of long waits. */
  readonly delayMs: number;
}

export interface ManualClockOptions {
  /** Initial wall-clock time (ms since the epoch). Default 2025-03-03T09:00:00Z. */
  now?: number;
  /** Initial monotonic reading. Default 0. */
  monotonic?: number;
}

export class ManualClock implements Clock {
  #wall: number;
  #mono: number;
  #nextId = 1;
  #seq = 0;
  readonly #timers = new Map<number, PendingTimer>();
  /** Every delay ever requested, in order (tests of long-wait stepping read it). */
  readonly requestedDelays: number[] = [];

  constructor(options: ManualClockOptions = {}) {
    this.#wall = options.now ?? Date.UTC(2025, 2, 3, 9, 0, 0);
    this.#mono = options.monotonic ?? 0;
  }

  now(): number {
    return this.#wall;
  }

  monotonic(): number {
    return this.#mono;
  }

  setTimer(callback: () => void, delayMs: number): TimerHandle {
    if (Number.isNaN(delayMs)) throw new RangeError('ManualClock: timer delay is NaN');
    if (delayMs > MAX_TIMER_DELAY_MS) {
      throw new RangeError(`ManualClock: delay ${delayMs} ms exceeds setTimeout's limit of ${MAX_TIMER_DELAY_MS} ms (Node would fire it after 1 ms)`);
    }
    const delay = Math.max(0, delayMs);
    const id = this.#nextId++;
    this.requestedDelays.push(delay);
    this.#timers.set(id, { id, callback, due: this.#mono + delay, seq: this.#seq++, delayMs: delay });
    return { id };
  }

  clearTimer(handle: TimerHandle): void {
    this.#timers.delete(handle.id);
  }

  /** Timers armed right now. */
  get armedTimers(): number {
    return this.#timers.size;
  }

  /** Delays (ms from now, monotonic) of the armed timers, earliest first. */
  pendingDelays(): number[] {
    return [...this.#timers.values()].sort(byDue).map((t) => t.due - this.#mono);
  }

  /** Time passes normally for `ms`; due timers fire in order, each at its own instant. */
  advance(ms: number): void {
    const target = this.#startAdvance(ms);
    let fired = 0;
    for (let t = this.#nextDue(target); t; t = this.#nextDue(target)) {
      if (++fired > 1_000_000) throw new Error('ManualClock: over a million timers fired in one advance (a timer re-arming itself at 0 ms?)');
      this.#fire(t);
    }
    this.#moveTo(target);
  }

  /**
   * Like `advance`, but before each firing (and at the end) lets pending promise continuations and
   * setImmediate callbacks run, so async work started by one timer can finish and arm the next.
   */
  async advanceAsync(ms: number): Promise<void> {
    const target = this.#startAdvance(ms);
    let fired = 0;
    for (;;) {
      await settle();
      const t = this.#nextDue(target);
      if (!t) break;
      if (++fired > 1_000_000) throw new Error('ManualClock: over a million timers fired in one advance');
      this.#fire(t);
    }
    this.#moveTo(target);
    await settle();
  }

  /** The wall clock jumps by `ms` (either sign); monotonic time does not move and no timer fires. */
  jumpWallClock(ms: number): void {
    this.#wall += ms;
  }

  /**
   * The machine sleeps for `ms`: both clocks move, nothing fires. Timers that came due during the sleep fire
   * late, on the next advance.
   */
  sleep(ms: number): void {
    if (ms < 0) throw new RangeError('ManualClock: cannot sleep a negative time');
    this.#wall += ms;
    this.#mono += ms;
  }

  #startAdvance(ms: number): number {
    if (!(ms >= 0)) throw new RangeError(`ManualClock: cannot advance by ${ms} ms`);
    return this.#mono + ms;
  }

  #nextDue(limit: number): PendingTimer | undefined {
    let best: PendingTimer | undefined;
    for (const t of this.#timers.values()) {
      if (t.due <= limit && (!best || byDue(t, best) < 0)) best = t;
    }
    return best;
  }

  #fire(t: PendingTimer): void {
    this.#timers.delete(t.id);
    // A timer overdue after a sleep fires "now", not back in the past.
    this.#moveTo(Math.max(this.#mono, t.due));
    t.callback();
  }

  #moveTo(mono: number): void {
    const step = mono - this.#mono;
    if (step <= 0) return;
    this.#mono += step;
    this.#wall += step;
  }
}

function byDue(a: PendingTimer, b: PendingTimer): number {
  return a.due - b.due || a.seq - b.seq;
}

/** Resolves after every queued microtask and already-due macrotask has run. */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
