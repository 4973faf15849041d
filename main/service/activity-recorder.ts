import os from 'node:os';
import type { ActivityLogPort, DocumentStore } from '../store/ports.js';

/**
 * What the service and its collaborators write to the activity log, and who "someone here" is in it. Separate
 * so that every collaborator records through one small function (`Log`) with the same person and the same
 * rule: the log is a record, not a dependency, so a failed append never stops anything.
 */

export type LogActor = 'engine' | 'advisor' | 'cli';

export interface LogFields {
  appId?: string;
  grantId?: string;
  staffId?: string;
  tenantIds?: string[];
  detail?: string;
}

/** Appends one entry to the activity log; never fails. */
export type Log = (actor: LogActor, action: string, fields: LogFields) => Promise<void>;

export class ActivityRecorder {
  constructor(
    private readonly activity: ActivityLogPort,
    private readonly store: DocumentStore,
    /** The computer's user name (default: the operating system's). */
    private readonly osUser: string | undefined,
  ) {}

  /**
   * Who is using Relink here, as records name them: the name set in Settings and the computer's user name,
   * "Alex Reid (alex)", or the user name alone.
   */
  person(): string {
    const user = this.osUser ?? osUserName();
    const name = this.store.peek().settings.advisorName?.trim();
    return name && name !== user ? `${name} (${user})` : user;
  }

  readonly log: Log = async (actor, action, fields) => {
    try {
      await this.activity.append({ actor, ...(actor === 'engine' ? {} : { person: this.person() }), action, ...fields });
    } catch {
      // The activity log is a record, not a dependency: failing to append never stops the engine.
    }
  };
}

/** The operating system's name for the user running Relink (a fixed word when the system cannot say). */
function osUserName(): string {
  try {
    return os.userInfo().username || 'unknown user';
  } catch {
    // No passwd entry for the uid (some containers): Relink still records that someone here did it.
    return 'unknown user';
  }
}
