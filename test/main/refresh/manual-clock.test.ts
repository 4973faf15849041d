import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../support/manual-clock.js';

/** The test clock itself: if it lied, every scheduler test would be meaningless. */

describe('ManualClock', () => {
  it('fires due timers in deadline order, each at its own instant, including timers armed during the advance', () => {
    const clock = new ManualClock({ now: 1_000_000, monotonic: 0 });
    const log: string[] = [];
    clock.setTimer(() => log.push(`b@${clock.monotonic()}`), 200);
    clock.setTimer(() => {
      log.push(`a@${clock.monotonic()}`);
      clock.setTimer(() => log.push(`a2@${clock.monotonic()}`), 50); // due at 150, before b
    }, 100);
    clock.setTimer(() => log.push('late'), 1000);
    clock.advance(300);
    expect(log).toEqual(['a@100', 'a2@150', 'b@200']);
    expect(clock.monotonic()).toBe(300);
    expect(clock.now()).toBe(1_000_300);
    expect(clock.armedTimers).toBe(1);
  });

  it('fires equal deadlines in arming order and not at all once cleared', () => {
    const clock = new ManualClock();
    const log: number[] = [];
    const handles = [1, 2, 3].map((n) => clock.setTimer(() => log.push(n), 10));
    clock.clearTimer(handles[1]!);
    clock.advance(10);
    expect(log).toEqual([1, 3]);
    expect(clock.armedTimers).toBe(0);
  });

  it('jumps the wall clock without moving monotonic time or firing timers', () => {
    const clock = new ManualClock({ now: 5000, monotonic: 0 });
    let fired = 0;
    clock.setTimer(() => fired++, 10);
    clock.jumpWallClock(-3_600_000);
    expect(clock.now()).toBe(5000 - 3_600_000);
    expect(clock.monotonic()).toBe(0);
    expect(fired).toBe(0);
  });

  it('sleeps without firing, then fires overdue timers late on the next advance', () => {
    const clock = new ManualClock({ now: 0, monotonic: 0 });
    const at: number[] = [];
    clock.setTimer(() => at.push(clock.monotonic()), 1000);
    clock.setTimer(() => at.push(clock.monotonic()), 2000);
    clock.sleep(10_000);
    expect(at).toEqual([]);
    expect(clock.now()).toBe(10_000);
    clock.advance(0);
    expect(at).toEqual([10_000, 10_000]);
  });

  it('refuses a delay Node would silently turn into 1 ms', () => {
    const clock = new ManualClock();
    expect(() => clock.setTimer(() => {}, 2 ** 31)).toThrow(/exceeds/);
    expect(() => clock.setTimer(() => {}, 2 ** 31 - 1)).not.toThrow();
  });

  it('lets promise continuations run between firings in advanceAsync', async () => {
    const clock = new ManualClock({ now: 0, monotonic: 0 });
    const log: number[] = [];
    clock.setTimer(() => {
      void Promise.resolve()
        .then(() => undefined)
        .then(() => clock.setTimer(() => log.push(clock.monotonic()), 10));
    }, 10);
    await clock.advanceAsync(100);
    expect(log).toEqual([20]);
  });
});
