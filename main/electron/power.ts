import type { ShellHooks } from '../app/host-options.js';

/**
 * Sleep and wake. Timers do not run while the computer sleeps and may fire late or in a bunch after it wakes,
 * and a locked screen often means a locked keychain; so Relink pauses on sleep/lock and catches up (spreading
 * the refreshes out) on wake/unlock.
 */

export interface PowerMonitorLike {
  on(event: 'suspend' | 'resume' | 'lock-screen' | 'unlock-screen', listener: () => void): unknown;
  removeListener(event: 'suspend' | 'resume' | 'lock-screen' | 'unlock-screen', listener: () => void): unknown;
}

export function wirePower(power: PowerMonitorLike, hooks: Pick<ShellHooks, 'suspend' | 'resume'>, log?: (line: string) => void): () => void {
  const guarded = (what: string, fn: () => void) => () => {
    try {
      fn();
    } catch (err) {
      log?.(`relink: ${what} failed: ${(err as Error)?.message ?? String(err)}`);
    }
  };
  const pause = guarded('pausing for sleep', () => hooks.suspend());
  const wake = guarded('catching up after sleep', () => hooks.resume());
  const pairs = [
    ['suspend', pause],
    ['lock-screen', pause],
    ['resume', wake],
    ['unlock-screen', wake],
  ] as const;
  for (const [event, listener] of pairs) power.on(event, listener);
  return () => {
    for (const [event, listener] of pairs) power.removeListener(event, listener);
  };
}
