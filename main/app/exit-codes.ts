import { ServiceError } from '../service/relink-service.js';
import { DiskFullError, isDiskFull } from '../store/document-file.js';

/**
 * How a terminal host (the `relink` CLI, browser mode) ends: its exit codes, and what a failure says and
 * exits with, the same in both so scripts read them alike. In main/app because both hosts use them and hosts
 * never import each other (test/build/layering.test.ts).
 */

export const EXIT = {
  ok: 0,
  failure: 1,
  usage: 2,
  keychain: 3,
  unreachable: 4,
  notAuthorised: 5,
} as const;

/** A mistake in what the person typed: exit code `usage`. The CLI adds its usage text to the message. */
export class UsageError extends Error {}

/** Maps what went wrong to the message a person sees and the exit code a script sees. */
export function failureExit(err: unknown): { code: number; message: string } {
  if (err instanceof UsageError) return { code: EXIT.usage, message: err.message };
  if (err instanceof ServiceError) {
    const code =
      err.code === 'usage' || err.code === 'not-found'
        ? EXIT.usage
        : err.code === 'keychain'
          ? EXIT.keychain
          : err.code === 'unreachable'
            ? EXIT.unreachable
            : err.code === 'not-authorised'
              ? EXIT.notAuthorised
              : EXIT.failure;
    return { code, message: err.message };
  }
  const e = err as Error & { reason?: string };
  if (e?.name === 'BrowserOpenError') return { code: EXIT.usage, message: e.message };
  // A full disk is the user's to fix, not a bug. DiskFullError (the metadata write) knows nothing changed;
  // any other ENOSPC/EDQUOT/EFBIG does not, so it does not say so.
  if (err instanceof DiskFullError) return { code: EXIT.failure, message: err.message };
  if (isDiskFull(err)) return { code: EXIT.failure, message: `The disk is full: Relink could not finish. Free some space and try again. (${(err as NodeJS.ErrnoException).code})` };
  return { code: EXIT.failure, message: `Relink stopped on an unexpected error: ${e?.message ?? String(err)}` };
}
