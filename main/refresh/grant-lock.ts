import { createHash } from 'node:crypto';
import { mkdir, open } from 'node:fs/promises';
import { join } from 'node:path';
import * as properLockfile from 'proper-lockfile';
import type { Clock, TimerHandle } from '../core/clock.js';
import type { GrantLockContext, GrantLockPort } from '../store/ports.js';

/**
 * The cross-process lock around read-RT → refresh → persist for one grant (security-anchors §3 H2, fault
 * matrix #18). An in-process mutex is not enough: a dev build and a release build, or the `relink` CLI next
 * to the app, can share keychain items, and two of them refreshing one grant revoke its token family
 * (HQBase#41). After `withLock` hands over, the caller must re-read the stored refresh token: if it changed,
 * someone else already refreshed.
 *
 * This is the only file that imports proper-lockfile. It locks a per-grant target file in `lockDir` by
 * creating `<target>.lock` with mkdir (atomic on every OS). The holder refreshes the lock's mtime every
 * `update` ms, so a live holder — however slow its refresh — is never taken for stale; a holder killed with
 * SIGKILL stops refreshing it, and after `stale` ms the next contender removes it and takes over (MSAL's
 * #7148 is what happens without this: a dead lock nobody can reclaim).
 *
 * If the lock is compromised (its directory removed, or the mtime could not be refreshed within `stale`,
 * e.g. the event loop froze) the process does not crash, as proper-lockfile's default would: the context's
 * `signal` aborts and `assertHeld()` throws, so the holder can stop before persisting anything.
 *
 * Waiting is bounded (`maxWaitMs`, default 60 s): contenders poll with jittered, growing delays, then fail
 * with a clear GrantLockTimeoutError. Holders in this process queue in FIFO order first, so they never poll
 * the file system against each other.
 */

export type { GrantLockContext } from '../store/ports.js';

/** The part of a Clock the lock needs. */
export type LockTimers = Pick<Clock, 'monotonic' | 'setTimer' | 'clearTimer'>;

export interface GrantLockOptions {
  /** A lock whose mtime is older than this is stale and taken over. Default 15 000; at least 2 000. */
  stale?: number;
  /** How often the holder refreshes the lock's mtime. Default 5 000; between 1 000 and stale/2. */
  update?: number;
  /** Longest wait for the lock, in-process queue included. Default 60 000. */
  maxWaitMs?: number;
  /** Polling delay bounds: the n-th retry waits a uniform draw in [retryMinMs, min(retryMaxMs, retryMinMs·2^n)]. */
  retryMinMs?: number;
  retryMaxMs?: number;
  random?: () => number;
  /**
   * Time source for waiting. Default: real timers that are NOT unref'd, unlike SystemClock's, so that a CLI
   * waiting for the lock stays alive until it gets it or gives up.
   */
  timers?: LockTimers;
  /** Releasing failed after `fn` finished (the result still stands; the lock goes stale and is reclaimed). */
  onReleaseError?: (grantId: string, err: unknown) => void;
}

export class GrantLockTimeoutError extends Error {
  readonly code = 'ELOCKTIMEOUT';
  constructor(
    readonly grantId: string,
    readonly waitedMs: number,
  ) {
    super(
      `Another Relink process is refreshing this connection and has not finished after ${Math.round(waitedMs / 1000)} s. ` +
        'Try again in a minute; if this keeps happening, close other copies of Relink (a development build, or the relink command line).',
    );
    this.name = 'GrantLockTimeoutError';
  }
}

export class GrantLockCompromisedError extends Error {
  readonly code = 'ECOMPROMISED';
  constructor(
    readonly grantId: string,
    cause: unknown,
  ) {
    super('The refresh lock for this connection was lost (another process may have taken it over); nothing was saved.', { cause });
    this.name = 'GrantLockCompromisedError';
  }
}

const PROPER_LOCKFILE_MIN_STALE = 2000;
const PROPER_LOCKFILE_MIN_UPDATE = 1000;

/** The lock on lock files in the profile folder (the local GrantLockPort). */
export class GrantLock implements GrantLockPort {
  readonly #dir: string;
  readonly #stale: number;
  readonly #update: number;
  readonly #maxWaitMs: number;
  readonly #retryMinMs: number;
  readonly #retryMaxMs: number;
  readonly #random: () => number;
  readonly #timers: LockTimers;
  readonly #onReleaseError: (grantId: string, err: unknown) => void;
  readonly #queue: LocalQueue;
  /** Lock target files known to exist (created by this process or found). */
  readonly #ensured = new Set<string>();

  constructor(lockDir: string, options: GrantLockOptions = {}) {
    this.#dir = lockDir;
    this.#stale = options.stale ?? 15_000;
    this.#update = options.update ?? 5_000;
    // proper-lockfile silently clamps these; a misconfiguration should be loud instead.
    if (!(this.#stale >= PROPER_LOCKFILE_MIN_STALE)) throw new RangeError(`stale must be at least ${PROPER_LOCKFILE_MIN_STALE} ms`);
    if (!(this.#update >= PROPER_LOCKFILE_MIN_UPDATE && this.#update <= this.#stale / 2)) {
      throw new RangeError(`update must be between ${PROPER_LOCKFILE_MIN_UPDATE} ms and stale/2 (${this.#stale / 2} ms)`);
    }
    this.#maxWaitMs = Math.max(0, options.maxWaitMs ?? 60_000);
    this.#retryMinMs = Math.max(1, options.retryMinMs ?? 50);
    this.#retryMaxMs = Math.max(this.#retryMinMs, options.retryMaxMs ?? 1000);
    this.#random = options.random ?? Math.random;
    this.#timers = options.timers ?? new KeepAliveTimers();
    this.#onReleaseError = options.onReleaseError ?? (() => {});
    this.#queue = new LocalQueue(this.#timers);
  }

  /** The file whose `.lock` directory guards `grantId`: readable, safe on every OS, and collision-free. */
  lockTargetPath(grantId: string): string {
    const readable = grantId.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 48);
    const digest = createHash('sha256').update(grantId).digest('hex').slice(0, 12);
    return join(this.#dir, `grant-${readable}-${digest}`);
  }

  /**
   * Runs `fn` while holding the lock for `grantId` in this process and across processes. `fn` must re-read
   * the stored state first and check `ctx.assertHeld()` (or `ctx.signal`) before persisting.
   * If the lock is compromised while `fn` runs, `fn`'s own outcome is still returned: whatever it already
   * persisted is real, and it was told to stop before persisting.
   */
  async withLock<T>(grantId: string, fn: (ctx: GrantLockContext) => Promise<T> | T): Promise<T> {
    const started = this.#timers.monotonic();
    const deadline = started + this.#maxWaitMs;
    const leaveQueue = await this.#queue.enter(grantId, this.#maxWaitMs, () => new GrantLockTimeoutError(grantId, this.#timers.monotonic() - started));
    try {
      const target = this.lockTargetPath(grantId);
      await this.#ensureTarget(target);
      const controller = new AbortController();
      const release = await this.#acquire(grantId, target, controller, started, deadline).catch(async (err: unknown) => {
        // The target was removed behind our back (someone cleared the data folder): create it and try again.
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        this.#ensured.delete(target);
        await this.#ensureTarget(target);
        return this.#acquire(grantId, target, controller, started, deadline);
      });
      const ctx: GrantLockContext = {
        grantId,
        signal: controller.signal,
        get compromised() {
          return controller.signal.aborted;
        },
        assertHeld() {
          if (controller.signal.aborted) throw controller.signal.reason;
        },
      };
      try {
        return await fn(ctx);
      } finally {
        // A compromised lock is no longer ours to remove (someone else may hold it now).
        if (!controller.signal.aborted) {
          await release().catch((err: unknown) => {
            if ((err as { code?: string }).code !== 'ERELEASED') this.#onReleaseError(grantId, err);
          });
        }
      }
    } finally {
      leaveQueue();
    }
  }

  async #ensureTarget(target: string): Promise<void> {
    // Once per grant per process: the folder and target file are never removed while Relink runs, and the
    // three system calls per refresh they cost add up over a 200-grant sweep.
    if (this.#ensured.has(target)) return;
    await mkdir(this.#dir, { recursive: true, mode: 0o700 });
    // 'a' creates the file if missing and never truncates or fails when it exists (another process may
    // be creating it at the same moment).
    const handle = await open(target, 'a', 0o600);
    await handle.close();
    this.#ensured.add(target);
  }

  async #acquire(grantId: string, target: string, controller: AbortController, started: number, deadline: number): Promise<() => Promise<void>> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await properLockfile.lock(target, {
          stale: this.#stale,
          update: this.#update,
          retries: 0,
          // The lock is the directory `<target>.lock`, created with mkdir, which excludes other processes on
          // the same physical folder whatever path they reach it by; resolving symlinks first (the default)
          // only cost an lstat per path component on every refresh.
          realpath: false,
          onCompromised: (err) => {
            if (!controller.signal.aborted) controller.abort(new GrantLockCompromisedError(grantId, err));
          },
        });
      } catch (err) {
        if ((err as { code?: string }).code !== 'ELOCKED') throw err;
        const remaining = deadline - this.#timers.monotonic();
        if (remaining <= 0) throw new GrantLockTimeoutError(grantId, this.#timers.monotonic() - started);
        await this.#sleep(Math.min(remaining, this.#retryDelay(attempt)));
      }
    }
  }

  /** Jittered and growing, so several contenders do not poll in lock-step and a long wait polls gently. */
  #retryDelay(attempt: number): number {
    const cap = Math.min(this.#retryMaxMs, this.#retryMinMs * 2 ** Math.min(attempt, 30));
    return this.#retryMinMs + this.#random() * (cap - this.#retryMinMs);
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.#timers.setTimer(resolve, ms));
  }
}

/**
 * FIFO hand-over between holders of one grant inside this process, with a bounded wait. (proper-lockfile
 * tracks locks per path per process, and polling the file system against ourselves would only add delay.)
 */
class LocalQueue {
  /** grantId → a promise that settles when everyone queued so far has left. */
  readonly #tails = new Map<string, Promise<void>>();

  constructor(private readonly timers: LockTimers) {}

  /** Resolves with a `leave` function once every earlier holder has left; rejects with `timeout()` after `waitMs`. */
  enter(key: string, waitMs: number, timeout: () => Error): Promise<() => void> {
    const before = this.#tails.get(key) ?? Promise.resolve();
    let leave!: () => void;
    const mine = new Promise<void>((resolve) => (leave = resolve));
    // Whoever comes next waits for everyone before us and for us. If we give up waiting, we leave at once,
    // so the chain passes straight through us.
    const tail = before.then(() => mine);
    this.#tails.set(key, tail);
    void tail.then(() => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    });

    return new Promise((resolve, reject) => {
      let timer: TimerHandle | null = this.timers.setTimer(() => {
        timer = null;
        leave();
        reject(timeout());
      }, waitMs);
      void before.then(() => {
        if (!timer) return;
        this.timers.clearTimer(timer);
        timer = null;
        resolve(leave);
      });
    });
  }
}

/** Real timers, deliberately kept referenced: see GrantLockOptions.timers. */
class KeepAliveTimers implements LockTimers {
  #next = 1;
  readonly #timers = new Map<number, NodeJS.Timeout>();

  monotonic(): number {
    return performance.now();
  }

  setTimer(callback: () => void, delayMs: number): TimerHandle {
    const id = this.#next++;
    const t = setTimeout(
      () => {
        this.#timers.delete(id);
        callback();
      },
      Math.max(0, Math.min(delayMs, 2 ** 31 - 1)),
    );
    this.#timers.set(id, t);
    return { id };
  }

  clearTimer(handle: TimerHandle): void {
    const t = this.#timers.get(handle.id);
    if (t) clearTimeout(t);
    this.#timers.delete(handle.id);
  }
}
