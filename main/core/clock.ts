/**
 * Time as the engine sees it. Services take a Clock instead of calling Date.now() or setTimeout directly, so
 * tests can drive hours of refresh schedule in milliseconds (test/support/manual-clock.ts) and the engine
 * never arms a timer it cannot account for.
 */
export interface TimerHandle {
  readonly id: number;
}

export interface Clock {
  /** Wall-clock milliseconds since the epoch (may jump: sleep, NTP, a user changing the time). */
  now(): number;
  /** Milliseconds from an arbitrary origin that never jumps; used to notice wall-clock jumps. */
  monotonic(): number;
  setTimer(callback: () => void, delayMs: number): TimerHandle;
  clearTimer(handle: TimerHandle): void;
}

/** The real clock. Timers are unref'd so that an idle engine never keeps a CLI process alive by itself. */
export class SystemClock implements Clock {
  #next = 1;
  readonly #timers = new Map<number, NodeJS.Timeout>();

  now(): number {
    return Date.now();
  }

  monotonic(): number {
    return performance.now();
  }

  setTimer(callback: () => void, delayMs: number): TimerHandle {
    const id = this.#next++;
    // setTimeout's limit is 2^31-1 ms (~24.8 days); the scheduler re-arms long waits in steps.
    const t = setTimeout(() => {
      this.#timers.delete(id);
      callback();
    }, Math.max(0, Math.min(delayMs, 2 ** 31 - 1)));
    t.unref();
    this.#timers.set(id, t);
    return { id };
  }

  clearTimer(handle: TimerHandle): void {
    const t = this.#timers.get(handle.id);
    if (t) clearTimeout(t);
    this.#timers.delete(handle.id);
  }

  /** Timers armed right now: the engine promises exactly one (benchmarks print this). */
  get armedTimers(): number {
    return this.#timers.size;
  }
}

export const isoNow = (clock: Clock): string => new Date(clock.now()).toISOString();
