import type { Clock, TimerHandle } from '../core/clock.js';
import { DeadlineHeap } from './deadline-heap.js';

/**
 * The refresh engine's one timer (DESIGN.md §5 flow 2; security-anchors §3 H6).
 *
 * Every grant's next refresh or probe is one entry in a deadline heap; the scheduler arms a single Clock
 * timer for the earliest of them. Hundreds of connections therefore cost one timer, and nothing is armed
 * that the engine cannot account for (`armedTimers` is always 0 or 1).
 *
 * Deadlines are wall-clock times (ms since the epoch), because they come from stored ISO dates. Timers are
 * monotonic, so wall and timer time drift apart when the machine sleeps, the user changes the clock or NTP
 * steps it. Every time the timer fires the scheduler compares the two clocks' progress since the last
 * check; a heartbeat entry in the same heap makes sure that happens at least every `heartbeatMs` even when
 * no deadline is near (powerMonitor 'resume' is not reliable on all hardware, electron#8560). On a jump or
 * a gap it reports `onClockJump` and catches up: every deadline already in the past runs now, spread with
 * jitter over `catchUpSpreadMs` so that a laptop waking after 8 h does not fire 200 refreshes in the same
 * millisecond.
 *
 * Tasks are async and run concurrently up to `maxConcurrent`; due tasks beyond that wait in the heap (so
 * `cancel` and re-`schedule` still apply to them) and start earliest-first as slots free up. A task's
 * error is reported via `onTaskError` and never stops the scheduler. The scheduler does not stop a key from
 * being rescheduled and run again while its previous run is still going; the refresher's single-flight
 * makes that harmless.
 *
 * The scheduler cannot spin, whatever a task does: tasks are started only from the timer's callback, a
 * macrotask, never from a promise continuation, `schedule`, `start` or `resume` (those arm the timer, at 0 ms
 * if something is due). A task (re)scheduled for now or the past while due tasks are being started — by
 * itself or by another task — waits for the next firing, too. So between two runs of anything the event loop
 * always gets a turn to answer I/O and signals. (It once did not: a task that found nothing to do and
 * rescheduled itself for "now" ran again from its own promise's continuation, forever, in one microtask
 * chain, and the process answered no request until the token's deadline moved on.)
 */

export type ScheduledTask = () => void | Promise<void>;

export interface ClockJump {
  /** How far the wall clock moved since the previous check. */
  wallDeltaMs: number;
  /** How far monotonic time moved in the same interval. */
  monotonicDeltaMs: number;
  /** `wall-jump`: the two clocks disagree (time changed, or a sleep the monotonic clock did not count); `gap`: both moved but timers did not fire for a long time (sleep, frozen event loop). */
  kind: 'wall-jump' | 'gap';
}

export interface SchedulerOptions {
  /** Tasks running at once. Default 8. */
  maxConcurrent?: number;
  /** Longest interval between clock checks; 0 turns the heartbeat off. Default 60 000. */
  heartbeatMs?: number;
  /** Overdue deadlines found after a jump, a resume or at start are spread over this window. Default 10 000. */
  catchUpSpreadMs?: number;
  /** Wall/monotonic disagreement (or timer lateness) that counts as a jump. Default 2 minutes. */
  jumpThresholdMs?: number;
  /** Uniform in [0, 1), for catch-up jitter. */
  random?: () => number;
  /** Called with every error a task throws or rejects with. The engine should pass one: the default ignores them. */
  onTaskError?: (key: string, err: unknown) => void;
  onClockJump?: (jump: ClockJump) => void;
}

/**
 * setTimeout holds at most 2^31-1 ms (~24.8 days); a longer delay fires after 1 ms. Waits longer than this
 * are armed in steps, re-armed each time the step timer fires.
 */
export const MAX_TIMER_STEP_MS = 24 * 24 * 60 * 60 * 1000;

const HEARTBEAT: unique symbol = Symbol('heartbeat');
type EntryKey = string | typeof HEARTBEAT;

export class Scheduler {
  readonly #clock: Clock;
  readonly #heap = new DeadlineHeap<EntryKey>();
  readonly #tasks = new Map<string, ScheduledTask>();
  readonly #maxConcurrent: number;
  readonly #heartbeatMs: number;
  readonly #spreadMs: number;
  readonly #jumpThresholdMs: number;
  readonly #random: () => number;
  readonly #onTaskError: (key: string, err: unknown) => void;
  readonly #onClockJump: (jump: ClockJump) => void;

  #started = false;
  #running = 0;
  #timer: TimerHandle | null = null;
  /** Wall time the armed timer is meant to fire at, to decide whether a new deadline needs a re-arm. */
  #armedForWall = 0;
  /** Monotonic time the armed timer should fire at; how late it actually fires reveals a gap. */
  #armedForMono = 0;
  /** Both clocks as read at the last check; their progress since is compared at the next one. */
  #baseWall = 0;
  #baseMono = 0;
  #draining = false;
  /** Keys (re)scheduled while due tasks are being started: they wait for the next firing (see the header). */
  readonly #heldBack = new Set<string>();

  constructor(clock: Clock, options: SchedulerOptions = {}) {
    this.#clock = clock;
    this.#maxConcurrent = positiveInt(options.maxConcurrent ?? 8, 'maxConcurrent');
    this.#heartbeatMs = Math.max(0, options.heartbeatMs ?? 60_000);
    this.#spreadMs = Math.max(0, options.catchUpSpreadMs ?? 10_000);
    this.#jumpThresholdMs = Math.max(0, options.jumpThresholdMs ?? 120_000);
    this.#random = options.random ?? Math.random;
    this.#onTaskError = options.onTaskError ?? (() => {});
    this.#onClockJump = options.onClockJump ?? (() => {});
  }

  /** Runs `task` at wall time `at` (ms since the epoch); re-scheduling a key replaces its time and task. */
  schedule(key: string, at: number, task: ScheduledTask): void {
    if (!Number.isFinite(at)) throw new RangeError(`schedule(${key}): deadline must be a finite number, got ${at}`);
    this.#tasks.set(key, task);
    this.#heap.push(key, at);
    if (this.#draining) this.#heldBack.add(key);
    this.#arm();
  }

  /** Removes a pending deadline (a run already in progress is not interrupted). Returns whether there was one. */
  cancel(key: string): boolean {
    this.#tasks.delete(key);
    const had = this.#heap.remove(key);
    // No re-arm: the armed timer may now fire early, find nothing due and re-arm for the next deadline.
    // That costs one wake-up instead of a clear/set per cancel. With nothing left at all, drop the timer.
    if (this.#heap.size === 0) this.#clearTimer();
    return had;
  }

  has(key: string): boolean {
    return this.#tasks.has(key);
  }

  /** The earliest task deadline (not counting the heartbeat), or null when nothing is scheduled. */
  nextAt(): number | null {
    const top = this.#heap.peek();
    if (!top) return null;
    if (top.key !== HEARTBEAT) return top.at;
    return this.#heap.peekSecond()?.at ?? null;
  }

  /** Scheduled tasks (not counting the heartbeat). */
  get size(): number {
    return this.#tasks.size;
  }

  /** Tasks running right now. */
  get running(): number {
    return this.#running;
  }

  /** Timers this scheduler has armed: 0 or 1. */
  get armedTimers(): number {
    return this.#timer ? 1 : 0;
  }

  /**
   * Starts firing. Deadlines already in the past (the app was closed for a while) are caught up, spread over
   * `catchUpSpreadMs`, like after a resume.
   */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    this.#resetBaseline();
    this.#catchUp(this.#clock.now());
    // What is due runs when the timer fires (at 0 ms), never synchronously inside start().
    this.#arm();
  }

  /**
   * Stops firing: clears the timer and starts no new task. Scheduled deadlines are kept (`start` resumes
   * them); tasks already running finish on their own.
   */
  stop(): void {
    this.#started = false;
    this.#clearTimer();
    this.#heap.remove(HEARTBEAT);
  }

  /** To be wired to powerMonitor 'resume': catch up every overdue deadline now, without waiting for the heartbeat. */
  resume(): void {
    if (!this.#started) return;
    // Drop the timer armed before the sleep: firing late it would look like a second gap.
    this.#clearTimer();
    this.#resetBaseline();
    this.#catchUp(this.#clock.now());
    this.#arm();
  }

  #onTimer(): void {
    this.#timer = null;
    if (!this.#started) return;
    this.#checkClock(this.#clock.monotonic() - this.#armedForMono);
    this.#drain();
    this.#arm();
  }

  /**
   * Compares wall and monotonic progress since the last check. `lateMs` is how late the timer that just
   * fired is, by monotonic time. Also re-schedules the heartbeat, so it is due only when no other timer has
   * fired for `heartbeatMs`.
   */
  #checkClock(lateMs: number): void {
    const wall = this.#clock.now();
    const mono = this.#clock.monotonic();
    const wallDeltaMs = wall - this.#baseWall;
    const monotonicDeltaMs = mono - this.#baseMono;
    this.#baseWall = wall;
    this.#baseMono = mono;
    this.#scheduleHeartbeat(wall);

    const skew = wallDeltaMs - monotonicDeltaMs;
    // A check is due at least every heartbeatMs; much longer without one means timers did not run (a sleep
    // during which monotonic time kept counting, or a frozen event loop), even if the timer that finally
    // fired was armed just now.
    const silentMs = this.#heartbeatMs > 0 ? monotonicDeltaMs - this.#heartbeatMs : 0;
    let kind: ClockJump['kind'] | null = null;
    if (Math.abs(skew) > this.#jumpThresholdMs) kind = 'wall-jump';
    else if (Math.max(lateMs, silentMs) > this.#jumpThresholdMs) kind = 'gap';
    if (!kind) return;

    try {
      this.#onClockJump({ wallDeltaMs, monotonicDeltaMs, kind });
    } catch {
      // A listener's bug must not stop the catch-up.
    }
    this.#catchUp(wall);
  }

  /**
   * Moves every deadline at or before `now` into the catch-up window, in their original order: the i-th of n
   * gets a random instant in the i-th of n equal slices of the window (stratified jitter), so they are
   * spread, keep their order, and the first runs almost at once.
   */
  #catchUp(now: number): void {
    const overdue: string[] = [];
    for (let top = this.#heap.peek(); top && top.at <= now; top = this.#heap.peek()) {
      this.#heap.pop();
      if (top.key !== HEARTBEAT) overdue.push(top.key);
    }
    const n = overdue.length;
    overdue.forEach((key, i) => {
      const r = Math.min(Math.max(this.#random(), 0), 0.999_999);
      this.#heap.push(key, now + Math.floor((this.#spreadMs * (i + r)) / n));
    });
    this.#scheduleHeartbeat(now);
  }

  /**
   * Starts every due task there is a slot for, earliest first. Called only from the timer's callback. Keys
   * (re)scheduled during this call are set aside and put back afterwards, in order: they run at the next
   * firing, so no task can make itself run again without the event loop having had a turn.
   */
  #drain(): void {
    if (this.#draining) return;
    this.#draining = true;
    const setAside = new Map<string, number>();
    try {
      const now = this.#clock.now();
      // The heartbeat may sit below due tasks while every slot is busy; it never needs a slot.
      const hb = this.#heap.atOf(HEARTBEAT);
      if (hb !== undefined && hb <= now) this.#checkClock(0);
      while (this.#started && this.#running < this.#maxConcurrent) {
        const top = this.#heap.peek();
        if (!top || top.at > now) break;
        this.#heap.pop();
        if (top.key === HEARTBEAT) {
          this.#checkClock(0);
          continue;
        }
        if (this.#heldBack.has(top.key)) {
          setAside.set(top.key, top.at);
          continue;
        }
        const task = this.#tasks.get(top.key);
        this.#tasks.delete(top.key);
        if (task) this.#start(top.key, task);
      }
    } finally {
      // Popped earliest first, so pushing back in that order keeps their order among themselves.
      for (const [key, at] of setAside) if (this.#tasks.has(key) && !this.#heap.has(key)) this.#heap.push(key, at);
      this.#heldBack.clear();
      this.#draining = false;
    }
  }

  #start(key: string, task: ScheduledTask): void {
    this.#running++;
    let result: void | Promise<void>;
    try {
      result = task();
    } catch (err) {
      this.#report(key, err);
      this.#running--;
      return;
    }
    if (!isThenable(result)) {
      // A synchronous task is done already; keeping it synchronous lets sync tests advance without awaiting.
      this.#running--;
      return;
    }
    result.then(
      () => this.#finished(),
      (err: unknown) => {
        this.#report(key, err);
        this.#finished();
      },
    );
  }

  /**
   * A task settled, in a promise continuation: a freed slot or a task it scheduled for now is taken up when
   * the timer fires (armed at 0 ms), never from here — starting tasks here is what let a task that rescheduled
   * itself for now run again and again within one microtask chain.
   */
  #finished(): void {
    this.#running--;
    this.#arm();
  }

  #report(key: string, err: unknown): void {
    try {
      this.#onTaskError(key, err);
    } catch {
      // Reporting must never be what kills the scheduler.
    }
  }

  /**
   * Makes sure exactly one timer is armed for the next thing that can run: the earliest deadline when a
   * slot is free, otherwise only the heartbeat (due tasks then start from `#finished`).
   */
  #arm(): void {
    if (!this.#started) return this.#clearTimer();
    const target = this.#running < this.#maxConcurrent ? this.#heap.peek() : heartbeatEntry(this.#heap);
    if (!target) return this.#clearTimer();
    // An armed timer that fires no later than this target is kept: at worst it fires early and re-arms.
    if (this.#timer && this.#armedForWall <= target.at) return;
    this.#clearTimer();
    const now = this.#clock.now();
    const delay = Math.min(Math.max(target.at - now, 0), MAX_TIMER_STEP_MS);
    this.#armedForWall = now + delay;
    this.#armedForMono = this.#clock.monotonic() + delay;
    this.#timer = this.#clock.setTimer(() => this.#onTimer(), delay);
  }

  #clearTimer(): void {
    if (this.#timer) this.#clock.clearTimer(this.#timer);
    this.#timer = null;
  }

  #scheduleHeartbeat(now: number): void {
    if (this.#heartbeatMs > 0 && this.#started) this.#heap.push(HEARTBEAT, now + this.#heartbeatMs);
  }

  #resetBaseline(): void {
    this.#baseWall = this.#clock.now();
    this.#baseMono = this.#clock.monotonic();
  }
}

function heartbeatEntry(heap: DeadlineHeap<EntryKey>): { key: EntryKey; at: number } | undefined {
  const at = heap.atOf(HEARTBEAT);
  return at === undefined ? undefined : { key: HEARTBEAT, at };
}

function isThenable(v: unknown): v is Promise<void> {
  return typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function';
}

function positiveInt(n: number, name: string): number {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`${name} must be a positive integer, got ${n}`);
  return n;
}
