import { describe, expect, it } from 'vitest';
import { SystemClock } from '../../../main/core/clock.js';
import { MAX_TIMER_STEP_MS, Scheduler, type ClockJump, type SchedulerOptions } from '../../../main/refresh/scheduler.js';
import { MAX_TIMER_DELAY_MS, ManualClock, settle } from '../../support/manual-clock.js';
import { eventLoopTurns, runsWithoutATurnBetween } from './support/event-loop.js';
import { mulberry32 } from './support/prng.js';

/**
 * The engine's one timer (DESIGN.md §5 flow 2, security-anchors H6), driven by a ManualClock: hours and
 * weeks of schedule, sleeps and clock jumps, in milliseconds of test time.
 */

const SEC = 1000;
const MIN = 60 * SEC;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

function setup(options: SchedulerOptions = {}) {
  const clock = new ManualClock();
  const t0 = clock.now();
  const ran: { key: string; at: number }[] = [];
  const errors: { key: string; err: unknown }[] = [];
  const jumps: ClockJump[] = [];
  const scheduler = new Scheduler(clock, {
    random: mulberry32(1),
    onTaskError: (key, err) => errors.push({ key, err }),
    onClockJump: (j) => jumps.push(j),
    ...options,
  });
  /** A task that records when it ran. */
  const record = (key: string) => () => {
    ran.push({ key, at: clock.now() });
  };
  /** The scheduler's promise, checked against what the clock really has armed. */
  const expectOneTimerAtMost = () => {
    expect(clock.armedTimers).toBe(scheduler.armedTimers);
    expect(clock.armedTimers).toBeLessThanOrEqual(1);
  };
  return { clock, t0, ran, errors, jumps, scheduler, record, expectOneTimerAtMost };
}

function deferred() {
  let resolve!: () => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

describe('Scheduler: one timer for the whole engine', () => {
  it('arms exactly one timer for 10,000 scheduled keys, without churning it', () => {
    const { clock, t0, ran, scheduler, record } = setup();
    const rand = mulberry32(10);
    const deadlines = new Map<string, number>();
    scheduler.start();
    for (let i = 0; i < 10_000; i++) {
      const at = t0 + 1 + Math.floor(rand() * 30 * DAY);
      deadlines.set(`grant-${i}`, at);
      scheduler.schedule(`grant-${i}`, at, record(`grant-${i}`));
    }
    expect(clock.armedTimers).toBe(1);
    expect(scheduler.armedTimers).toBe(1);
    expect(scheduler.size).toBe(10_000);
    const sorted = [...deadlines.values()].sort((a, b) => a - b);
    expect(scheduler.nextAt()).toBe(sorted[0]);
    // A timer is re-armed only when a new earliest deadline arrives: about ln(10 000) times, not 10 000.
    expect(clock.requestedDelays.length).toBeLessThan(40);

    // Run through the first 500 deadlines: still one timer, and exactly the due ones ran.
    clock.advance(sorted[499]! - t0);
    expect(ran.length).toBe(sorted.filter((at) => at <= clock.now()).length);
    expect(ran.length).toBeGreaterThanOrEqual(500);
    expect(clock.armedTimers).toBe(1);
    expect(scheduler.nextAt()).toBe(sorted[ran.length]);
  });

  it('runs deadlines in order, each at its exact time (equal deadlines in scheduling order)', () => {
    const { clock, t0, ran, jumps, scheduler, record, expectOneTimerAtMost } = setup();
    const rand = mulberry32(2);
    const planned: { key: string; at: number }[] = [];
    for (let i = 0; i < 300; i++) {
      // Whole minutes within 10 h: plenty of equal deadlines.
      const at = t0 + Math.floor(rand() * 600 + 1) * MIN;
      planned.push({ key: `g${i}`, at });
      scheduler.schedule(`g${i}`, at, record(`g${i}`));
    }
    scheduler.start();
    for (let h = 0; h < 11; h++) {
      clock.advance(HOUR);
      expectOneTimerAtMost();
    }
    const expected = planned.map((p, i) => ({ ...p, i })).sort((a, b) => a.at - b.at || a.i - b.i);
    expect(ran).toEqual(expected.map(({ key, at }) => ({ key, at })));
    expect(jumps).toEqual([]);
    expect(scheduler.size).toBe(0);
    expect(scheduler.nextAt()).toBeNull();
  });

  it('re-arms its one timer when an earlier deadline arrives, and moves a re-scheduled key', () => {
    const { clock, t0, ran, scheduler, record } = setup({ heartbeatMs: 0 });
    scheduler.start();
    scheduler.schedule('a', t0 + HOUR, record('a'));
    expect(clock.pendingDelays()).toEqual([HOUR]);
    scheduler.schedule('b', t0 + 5 * MIN, record('b'));
    expect(clock.pendingDelays()).toEqual([5 * MIN]); // re-armed, still one timer
    scheduler.schedule('c', t0 + 2 * HOUR, record('c'));
    expect(clock.pendingDelays()).toEqual([5 * MIN]); // a later deadline needs no re-arm

    scheduler.schedule('a', t0 + MIN, record('a')); // moved earlier
    expect(clock.pendingDelays()).toEqual([MIN]);
    scheduler.schedule('b', t0 + 3 * HOUR, record('b')); // moved later
    clock.advance(2 * HOUR + MIN);
    expect(ran).toEqual([
      { key: 'a', at: t0 + MIN },
      { key: 'c', at: t0 + 2 * HOUR },
    ]);
    clock.advance(HOUR);
    expect(ran.map((r) => r.key)).toEqual(['a', 'c', 'b']); // each ran once, at its latest time only
    expect(clock.armedTimers).toBe(0);
  });

  it('re-scheduling a key replaces its task', () => {
    const { clock, t0, ran, scheduler, record } = setup();
    scheduler.start();
    scheduler.schedule('a', t0 + MIN, record('old'));
    scheduler.schedule('a', t0 + MIN, record('new'));
    clock.advance(MIN);
    expect(ran.map((r) => r.key)).toEqual(['new']);
  });

  it('cancels a deadline, and drops the timer when nothing is left', () => {
    const { clock, t0, ran, scheduler, record } = setup({ heartbeatMs: 0 });
    scheduler.start();
    scheduler.schedule('a', t0 + MIN, record('a'));
    scheduler.schedule('b', t0 + 2 * MIN, record('b'));
    scheduler.schedule('c', t0 + 3 * MIN, record('c'));
    expect(scheduler.cancel('a')).toBe(true);
    expect(scheduler.cancel('a')).toBe(false);
    expect(scheduler.has('a')).toBe(false);
    expect(scheduler.has('b')).toBe(true);
    expect(scheduler.nextAt()).toBe(t0 + 2 * MIN);
    clock.advance(10 * MIN);
    expect(ran.map((r) => r.key)).toEqual(['b', 'c']);

    scheduler.schedule('d', t0 + HOUR, record('d'));
    expect(clock.armedTimers).toBe(1);
    scheduler.cancel('d');
    expect(clock.armedTimers).toBe(0);
    clock.advance(2 * HOUR);
    expect(ran.map((r) => r.key)).toEqual(['b', 'c']);
  });

  it('lets a task schedule its own next run (a timer armed while the clock is advancing)', () => {
    const { clock, t0, ran, scheduler, expectOneTimerAtMost } = setup();
    const every30 = () => {
      ran.push({ key: 'keep-alive', at: clock.now() });
      scheduler.schedule('keep-alive', clock.now() + 30 * MIN, every30);
    };
    scheduler.schedule('keep-alive', t0 + 30 * MIN, every30);
    scheduler.start();
    clock.advance(3 * HOUR);
    expect(ran.map((r) => r.at)).toEqual([1, 2, 3, 4, 5, 6].map((n) => t0 + n * 30 * MIN));
    expectOneTimerAtMost();
  });
});

describe('Scheduler: concurrency and errors', () => {
  it('starts due async tasks without waiting for each other, but never more than maxConcurrent', async () => {
    const { clock, t0, scheduler, expectOneTimerAtMost } = setup({ maxConcurrent: 3 });
    const started: string[] = [];
    const pending = new Map<string, ReturnType<typeof deferred>>();
    let running = 0;
    let maxRunning = 0;
    for (let i = 0; i < 10; i++) {
      const key = `g${i}`;
      scheduler.schedule(key, t0 + SEC + i, async () => {
        started.push(key);
        running++;
        maxRunning = Math.max(maxRunning, running);
        const d = deferred();
        pending.set(key, d);
        await d.promise;
        running--;
      });
    }
    scheduler.start();
    clock.advance(2 * SEC);
    // Three slow refreshes in flight at once, none finished: the scheduler did not wait for the first.
    expect(started).toEqual(['g0', 'g1', 'g2']);
    expect(scheduler.running).toBe(3);
    expectOneTimerAtMost();

    // A queued due task can still be cancelled before it gets a slot.
    expect(scheduler.cancel('g4')).toBe(true);

    // Free a slot in the middle: the earliest queued task takes it, when the timer fires — at once (0 ms), but
    // not from the finished task's promise continuation (see the spin tests below).
    pending.get('g1')!.resolve();
    await settle();
    expect(started).toEqual(['g0', 'g1', 'g2']);
    expect(clock.pendingDelays()).toEqual([0]);
    await clock.advanceAsync(0);
    expect(started).toEqual(['g0', 'g1', 'g2', 'g3']);

    while (started.length < 9 || scheduler.running > 0) {
      const next = started.find((k) => pending.has(k));
      expect(next).toBeDefined();
      pending.get(next!)!.resolve();
      pending.delete(next!);
      await clock.advanceAsync(0);
      expect(scheduler.running).toBeLessThanOrEqual(3);
    }
    expect(started).toEqual(['g0', 'g1', 'g2', 'g3', 'g5', 'g6', 'g7', 'g8', 'g9']);
    expect(maxRunning).toBe(3);
    expect(scheduler.size).toBe(0);
  });

  it('keeps checking the clock while every slot is busy with a hung task', async () => {
    const { clock, t0, jumps, scheduler } = setup({ maxConcurrent: 1 });
    const hung = deferred();
    scheduler.schedule('hung', t0 + SEC, () => hung.promise);
    scheduler.schedule('queued', t0 + 2 * SEC, () => {});
    scheduler.start();
    clock.advance(3 * SEC);
    expect(scheduler.running).toBe(1);
    // With the slot taken, the one timer is kept for the heartbeat only.
    expect(clock.pendingDelays()).toHaveLength(1);
    clock.jumpWallClock(HOUR);
    clock.advance(MIN);
    expect(jumps).toHaveLength(1);
    // The catch-up moved the overdue 'queued' into the window; it runs once the slot frees.
    hung.resolve();
    await clock.advanceAsync(10 * SEC);
    expect(scheduler.has('queued')).toBe(false);
    expect(scheduler.running).toBe(0);
  });

  it('reports task errors (thrown or rejected) with their key and keeps going', async () => {
    const { clock, t0, ran, errors, scheduler, record } = setup();
    const boom = new Error('boom');
    const nope = new Error('rejected');
    scheduler.schedule('sync-throw', t0 + SEC, () => {
      throw boom;
    });
    scheduler.schedule('async-reject', t0 + 2 * SEC, async () => {
      await Promise.resolve();
      throw nope;
    });
    scheduler.schedule('fine', t0 + 3 * SEC, record('fine'));
    scheduler.start();
    await clock.advanceAsync(5 * SEC);
    expect(errors).toEqual([
      { key: 'sync-throw', err: boom },
      { key: 'async-reject', err: nope },
    ]);
    expect(ran.map((r) => r.key)).toEqual(['fine']);
    expect(scheduler.running).toBe(0);

    // Still alive: new work runs.
    scheduler.schedule('later', clock.now() + MIN, record('later'));
    await clock.advanceAsync(MIN);
    expect(ran.map((r) => r.key)).toEqual(['fine', 'later']);
  });

  it('survives an error reporter that throws', () => {
    const { clock, t0, ran, scheduler, record } = setup({
      onTaskError: () => {
        throw new Error('reporter broke');
      },
    });
    scheduler.schedule('bad', t0 + SEC, () => {
      throw new Error('task broke');
    });
    scheduler.schedule('good', t0 + 2 * SEC, record('good'));
    scheduler.start();
    expect(() => clock.advance(3 * SEC)).not.toThrow();
    expect(ran.map((r) => r.key)).toEqual(['good']);
  });
});

describe('Scheduler: cannot spin, whatever a task does', () => {
  /** A task that reschedules itself for "now" `times` times (like the engine finding nothing to do), recording the turn of each run. */
  function selfRescheduling(scheduler: Scheduler, clock: { now(): number }, turns: { now(): number }, times: number, kind: 'async' | 'sync') {
    const seen: number[] = [];
    const body = () => {
      seen.push(turns.now());
      if (seen.length < times) scheduler.schedule('self', clock.now(), task);
    };
    const task = kind === 'async' ? async () => body() : body;
    scheduler.schedule('self', clock.now(), task);
    return seen;
  }

  for (const kind of ['async', 'sync'] as const) {
    it(`a ${kind} task rescheduling itself for now runs once per firing, with the event loop getting a turn in between`, async () => {
      const { clock, scheduler, expectOneTimerAtMost } = setup({ heartbeatMs: 0 });
      const turns = eventLoopTurns();
      try {
        scheduler.start();
        const armedBefore = clock.requestedDelays.length;
        const seen = selfRescheduling(scheduler, clock, turns, 50, kind);
        expect(seen).toEqual([]); // nothing runs inside schedule() itself
        // No time passes. advanceAsync lets the event loop turn (promise continuations, setImmediate) before
        // each timer it fires, so runs separated by a turn are runs that each needed a timer firing of their own.
        await clock.advanceAsync(0);
        expect(seen).toHaveLength(50);
        expect(runsWithoutATurnBetween(seen)).toBe(0);
        // One 0 ms timer per run, never two at once.
        expect(clock.requestedDelays.slice(armedBefore)).toEqual(Array.from({ length: 50 }, () => 0));
        expectOneTimerAtMost();
        expect(clock.armedTimers).toBe(0);
      } finally {
        turns.stop();
      }
    });
  }

  it('a task (re)scheduled for now by another task while due tasks start waits for the next firing, in order', async () => {
    const { clock, t0, ran, scheduler, record } = setup({ heartbeatMs: 0 });
    scheduler.schedule('a', t0 + SEC, () => {
      ran.push({ key: 'a', at: clock.now() });
      scheduler.schedule('b', t0, record('b')); // in the past
      scheduler.schedule('c', clock.now(), record('c'));
    });
    scheduler.schedule('d', t0 + SEC, record('d'));
    scheduler.start();
    clock.advance(SEC - 1);
    expect(ran).toEqual([]);
    clock.advance(1);
    // 'b' and 'c' ran after 'd', which was due before they were scheduled, at a later firing at the same instant.
    expect(ran).toEqual(['a', 'd', 'b', 'c'].map((key) => ({ key, at: t0 + SEC })));
  });

  it('on the real clock: a task rescheduling itself for now lets the event loop turn between runs and arms one timer', async () => {
    const clock = new SystemClock();
    const scheduler = new Scheduler(clock, { heartbeatMs: 0 });
    const turns = eventLoopTurns();
    try {
      scheduler.start();
      const seen = selfRescheduling(scheduler, clock, turns, 30, 'async');
      while (seen.length < 30) {
        expect(clock.armedTimers).toBeLessThanOrEqual(1);
        await new Promise((r) => setImmediate(r));
      }
      expect(runsWithoutATurnBetween(seen)).toBe(0);
    } finally {
      turns.stop();
      scheduler.stop();
    }
  });
});

describe('Scheduler: long waits, sleep and clock jumps', () => {
  it('waits longer than setTimeout can (> 24.8 days) by arming in steps', () => {
    const { clock, t0, ran, jumps, scheduler, record } = setup({ heartbeatMs: 0 });
    scheduler.schedule('seasonal', t0 + 40 * DAY, record('seasonal'));
    scheduler.start();
    // ManualClock throws on any delay over 2^31-1 ms, as Node would misfire it after 1 ms.
    expect(clock.pendingDelays()).toEqual([MAX_TIMER_STEP_MS]);
    clock.advance(39 * DAY);
    expect(ran).toEqual([]);
    expect(clock.armedTimers).toBe(1);
    clock.advance(DAY);
    expect(ran).toEqual([{ key: 'seasonal', at: t0 + 40 * DAY }]);
    expect(Math.max(...clock.requestedDelays)).toBeLessThanOrEqual(MAX_TIMER_DELAY_MS);
    expect(clock.requestedDelays.length).toBe(2);
    expect(jumps).toEqual([]);
  });

  it('with the heartbeat on, runs a 100-day deadline exactly and never mistakes heartbeats for jumps', () => {
    const { clock, t0, ran, jumps, scheduler, record, expectOneTimerAtMost } = setup();
    scheduler.schedule('far', t0 + 100 * DAY, record('far'));
    scheduler.start();
    for (let d = 0; d < 101; d++) {
      clock.advance(DAY);
      expectOneTimerAtMost();
    }
    expect(ran).toEqual([{ key: 'far', at: t0 + 100 * DAY }]);
    expect(jumps).toEqual([]);
    expect(clock.requestedDelays.reduce((a, b) => Math.max(a, b), 0)).toBeLessThanOrEqual(60 * SEC);
  });

  /** 200 grants due every 2.4 minutes over the next 8 hours. */
  function scheduleWorkday(s: ReturnType<typeof setup>) {
    const keys: string[] = [];
    for (let i = 0; i < 200; i++) {
      const key = `g${i}`;
      keys.push(key);
      s.scheduler.schedule(key, s.t0 + (i + 1) * 144 * SEC, s.record(key));
    }
    return keys;
  }

  function expectSpreadCatchUp(ran: { key: string; at: number }[], keys: string[], wake: number, spreadMs: number) {
    expect(ran.map((r) => r.key)).toEqual(keys); // all of them, in their original order
    for (const r of ran) {
      expect(r.at).toBeGreaterThanOrEqual(wake);
      expect(r.at).toBeLessThan(wake + spreadMs);
    }
    const perInstant = new Map<number, number>();
    for (const r of ran) perInstant.set(r.at, (perInstant.get(r.at) ?? 0) + 1);
    // Spread out: not 200 in one millisecond; at most a couple share an instant.
    expect(perInstant.size).toBeGreaterThan(150);
    expect(Math.max(...perInstant.values())).toBeLessThanOrEqual(3);
    // …over the whole window, and the first one runs straight away.
    expect(ran[0]!.at - wake).toBeLessThan(spreadMs / keys.length + 1);
    expect(ran.at(-1)!.at - wake).toBeGreaterThan(spreadMs * 0.9);
  }

  it('after an 8-hour sleep, notices the gap and runs every past deadline, spread over the catch-up window', () => {
    const s = setup();
    const keys = scheduleWorkday(s);
    s.scheduler.start();
    s.clock.sleep(8 * HOUR + MIN);
    expect(s.ran).toEqual([]);
    const wake = s.clock.now();
    s.clock.advance(0); // the overdue timer fires late, as after a real resume
    expect(s.jumps).toHaveLength(1);
    expect(s.jumps[0]!.kind).toBe('gap');
    expect(s.jumps[0]!.monotonicDeltaMs).toBeGreaterThanOrEqual(8 * HOUR);
    expect(s.ran.length).toBeLessThan(5); // not everything at once
    s.clock.advance(10 * SEC);
    expectSpreadCatchUp(s.ran, keys, wake, 10 * SEC);
    expect(s.jumps).toHaveLength(1);
    s.expectOneTimerAtMost();
  });

  it('resume() catches up at once (powerMonitor), with the same spread and no second report', () => {
    const s = setup({ catchUpSpreadMs: 20 * SEC });
    const keys = scheduleWorkday(s);
    s.scheduler.start();
    s.clock.sleep(8 * HOUR + MIN);
    const wake = s.clock.now();
    s.scheduler.resume();
    expect(s.clock.armedTimers).toBe(1); // the stale pre-sleep timer was replaced, not added to
    s.clock.advance(20 * SEC);
    expectSpreadCatchUp(s.ran, keys, wake, 20 * SEC);
    expect(s.jumps).toEqual([]);
  });

  it('notices a sleep the monotonic clock did not count (a wall-clock jump) and catches up the same way', () => {
    const s = setup();
    const keys = scheduleWorkday(s);
    s.scheduler.start();
    s.clock.jumpWallClock(8 * HOUR + MIN);
    s.clock.advance(60 * SEC); // the heartbeat
    expect(s.jumps).toEqual([{ kind: 'wall-jump', wallDeltaMs: 8 * HOUR + 2 * MIN, monotonicDeltaMs: 60 * SEC }]);
    const detectedAt = s.clock.now();
    s.clock.advance(10 * SEC);
    expectSpreadCatchUp(s.ran, keys, detectedAt, 10 * SEC);
  });

  it('detects a wall clock set forward: reports it and runs what became due, not what is still ahead', () => {
    const { clock, t0, ran, jumps, scheduler, record } = setup();
    scheduler.schedule('30m', t0 + 30 * MIN, record('30m'));
    scheduler.schedule('2h', t0 + 2 * HOUR, record('2h'));
    scheduler.schedule('5h', t0 + 5 * HOUR, record('5h'));
    scheduler.start();
    clock.advance(10 * SEC);
    clock.jumpWallClock(3 * HOUR);
    clock.advance(50 * SEC);
    // Measured since the previous check (start), which was 60 s of monotonic time earlier.
    expect(jumps).toEqual([{ kind: 'wall-jump', wallDeltaMs: 3 * HOUR + 60 * SEC, monotonicDeltaMs: 60 * SEC }]);
    const detectedAt = clock.now();
    clock.advance(10 * SEC);
    expect(ran.map((r) => r.key)).toEqual(['30m', '2h']);
    for (const r of ran) expect(r.at - detectedAt).toBeLessThan(10 * SEC);
    clock.advance(2 * HOUR);
    expect(ran.map((r) => r.key)).toEqual(['30m', '2h', '5h']);
    expect(jumps).toHaveLength(1);
  });

  it('detects a wall clock set back: reports it, runs nothing early, keeps its heartbeat', () => {
    const { clock, t0, ran, jumps, scheduler, record } = setup();
    scheduler.schedule('30m', t0 + 30 * MIN, record('30m'));
    scheduler.start();
    clock.advance(20 * SEC);
    clock.jumpWallClock(-HOUR);
    clock.advance(40 * SEC);
    expect(jumps).toEqual([{ kind: 'wall-jump', wallDeltaMs: -HOUR + 60 * SEC, monotonicDeltaMs: 60 * SEC }]);
    clock.advance(10 * MIN);
    expect(ran).toEqual([]);
    expect(jumps).toHaveLength(1);
    expect(clock.pendingDelays()[0]).toBeLessThanOrEqual(60 * SEC); // the heartbeat did not get lost an hour ahead
    // Deadlines are wall-clock times: this one is now 1 h 30 min of real time away.
    clock.advance(80 * MIN);
    expect(ran).toEqual([{ key: '30m', at: t0 + 30 * MIN }]);
  });

  it('ignores small drift (NTP slewing, under 2 minutes)', () => {
    const { clock, jumps, scheduler } = setup();
    scheduler.start();
    clock.jumpWallClock(90 * SEC);
    clock.advance(5 * MIN);
    clock.jumpWallClock(-90 * SEC);
    clock.advance(5 * MIN);
    expect(jumps).toEqual([]);
  });

  it('still catches up when the clock-jump listener throws', () => {
    const { clock, t0, ran, scheduler, record } = setup({
      onClockJump: () => {
        throw new Error('listener broke');
      },
    });
    scheduler.schedule('a', t0 + HOUR, record('a'));
    scheduler.start();
    clock.jumpWallClock(2 * HOUR);
    clock.advance(70 * SEC);
    expect(ran.map((r) => r.key)).toEqual(['a']);
  });
});

describe('Scheduler: start and stop', () => {
  it('arms nothing before start and nothing after stop; start resumes, catching up what was missed', async () => {
    const { clock, t0, ran, scheduler, record } = setup();
    scheduler.schedule('a', t0 + MIN, record('a'));
    expect(clock.armedTimers).toBe(0);
    scheduler.start();
    expect(clock.armedTimers).toBe(1);
    scheduler.stop();
    expect(clock.armedTimers).toBe(0);
    expect(scheduler.armedTimers).toBe(0);
    clock.advance(DAY);
    expect(ran).toEqual([]);
    expect(clock.armedTimers).toBe(0);

    scheduler.schedule('b', clock.now() + MIN, record('b')); // scheduling while stopped arms nothing
    expect(clock.armedTimers).toBe(0);

    const restart = clock.now();
    scheduler.start();
    clock.advance(MIN);
    expect(ran.map((r) => r.key)).toEqual(['a', 'b']);
    expect(ran[0]!.at - restart).toBeLessThan(10 * SEC); // overdue at start: caught up within the window

    // A task still running at stop() finishes without re-arming anything.
    const slow = deferred();
    scheduler.schedule('slow', clock.now() + SEC, () => slow.promise);
    scheduler.schedule('after', clock.now() + 2 * SEC, record('after'));
    clock.advance(SEC);
    expect(scheduler.running).toBe(1);
    scheduler.stop();
    slow.resolve();
    await settle();
    expect(clock.armedTimers).toBe(0);
    clock.advance(HOUR);
    expect(ran.map((r) => r.key)).toEqual(['a', 'b']);
  });

  it('rejects a deadline that is not a number', () => {
    const { scheduler } = setup();
    expect(() => scheduler.schedule('a', NaN, () => {})).toThrow(RangeError);
    expect(scheduler.has('a')).toBe(false);
  });
});
