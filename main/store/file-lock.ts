import lockfile from 'proper-lockfile';

/**
 * A cross-process lock as a port: resolve with a release function once the lock on `path` is held. Used
 * around metadata writes (metadata-store.ts) and, by the refresher, around read-RT → refresh → persist.
 * An in-process mutex is not enough: the desktop app, a second instance with another userData folder and
 * the CLI can all run at once (security-anchors §3 H2).
 */
export type FileLock = (path: string) => Promise<Release>;
export type Release = () => Promise<void>;

export interface FileLockOptions {
  /** A lock whose heartbeat is older than this is taken over (the holder crashed). proper-lockfile's minimum is 2 s. */
  staleMs?: number;
  /** How often the holder refreshes the lock's mtime; at most staleMs / 2. */
  updateMs?: number;
  /** How long to keep trying before giving up; must exceed staleMs so a crashed holder's lock is reclaimed. */
  maxWaitMs?: number;
  /** Called when the lock was lost while held (its heartbeat failed or another process took it over). */
  onCompromised?: (error: Error) => void;
}

/**
 * proper-lockfile: an atomic `mkdir <path>.lock`, an mtime heartbeat while held, and takeover of a lock
 * whose heartbeat stopped. That self-heals the case MSAL's file lock does not (a lock left by a killed
 * process blocking every later start, msal#7148). Retries back off with jitter so processes waiting for one
 * lock do not retry in step.
 */
export function createFileLock(opts: FileLockOptions = {}): FileLock {
  const stale = Math.max(opts.staleMs ?? 10_000, 2_000);
  const update = Math.min(opts.updateMs ?? stale / 2, stale / 2);
  const maxWait = opts.maxWaitMs ?? stale * 3;
  const onCompromised =
    opts.onCompromised ??
    ((error: Error) => {
      // proper-lockfile's default throws from a timer, which would crash the app. A compromised lock means
      // another process may now write too; the store re-reads under the next lock, so warn and carry on.
      process.emitWarning(`Relink lost a file lock: ${error.message}`, 'RelinkLockWarning');
    });
  return async (path) =>
    lockfile.lock(path, {
      stale,
      update,
      // The metadata file may not exist yet (first start); lock its path as given.
      realpath: false,
      onCompromised,
      retries: {
        retries: Math.ceil(maxWait / 100),
        factor: 1.3,
        minTimeout: 20,
        maxTimeout: 250,
        randomize: true,
        maxRetryTime: maxWait,
      },
    });
}
