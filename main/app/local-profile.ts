import path from 'node:path';
import type { Clock } from '../core/clock.js';
import { GrantLock } from '../refresh/grant-lock.js';
import type { Keychain } from '../secrets/keychain.js';
import { KeychainVault } from '../secrets/vault.js';
import { ActivityLog } from '../store/activity-log.js';
import type { DocumentBackend } from '../store/document-file.js';
import { createFileLock } from '../store/file-lock.js';
import { MetadataStore } from '../store/metadata-store.js';
import type { StoragePorts } from '../store/ports.js';
import { RefreshJournal } from '../store/refresh-journal.js';

/**
 * The single-desktop profile (DESIGN.md §7, the embedded default): the storage ports implemented by one data
 * folder — the metadata document, the activity log, the refresh journal and the grant locks — and the OS
 * keychain. The host picks the document backend (electron-store inside Electron, conf elsewhere) and the
 * keychain adapter; this file only assembles and opens them, in the order Relink always has.
 */

export interface LocalProfileOptions {
  /** The profile folder: relink.json, activity.jsonl, refresh-journal/, token-generations/, locks/. */
  dataDir: string;
  /** The keychain service name its secrets are stored under. */
  keychainService: string;
  keychain: Keychain;
  /** The metadata document in `dataDir` (the host's adapter). */
  backend: DocumentBackend;
}

/** Opens storage for one Relink, on that Relink's clock: what createRelink takes. */
export type StorageFactory = (clock: Clock) => Promise<StoragePorts>;

/** Today's files and keychain, opened from a data folder when createRelink asks. */
export function localProfile(opts: LocalProfileOptions): StorageFactory {
  return async (clock) => {
    // Writes coalesce over two seconds: a 200-grant sweep then costs a few writes of the (4 MB at 10,000
    // connections) file, not hundreds. Nothing is lost by waiting: refresh tokens are in the keychain and the
    // write-ahead journal, and changes someone waits on (durable ones) are written within milliseconds.
    const store = new MetadataStore(opts.backend, clock, createFileLock(), { coalesceMs: 2000 });
    const opened = await store.open();
    const vault = new KeychainVault(opts.keychain, opts.keychainService, clock);
    await vault.probe();
    const journal = new RefreshJournal(opts.dataDir, clock);
    await journal.init();
    return {
      store,
      vault,
      journal,
      activity: new ActivityLog(opts.dataDir, clock),
      lock: new GrantLock(path.join(opts.dataDir, 'locks')),
      recovery: opened.recovery,
    };
  };
}
