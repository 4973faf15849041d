import { RelinkService, type ServiceOptions } from '../service/relink-service.js';
import type { StoragePorts } from '../store/ports.js';
import type { StorageFactory } from './local-profile.js';

export { localProfile, type LocalProfileOptions, type StorageFactory } from './local-profile.js';

/**
 * The composition root: the one place that decides which implementations of the storage ports a Relink runs
 * on, and builds the service over them. Every host (the Electron shell and browser mode through RelinkApp, the
 * CLI, the demo, tests) comes through here, so a second storage — the firm's PostgreSQL database — is a new
 * factory passed as `storage`, with no change to the service, the workflows or the engine.
 */

export interface RelinkDeps extends ServiceOptions {
  /** The storage: a factory that opens it (localProfile(...) for today's files and keychain), or ports already open. */
  storage: StorageFactory | StoragePorts;
}

export async function createRelink({ storage, ...options }: RelinkDeps): Promise<RelinkService> {
  const ports = typeof storage === 'function' ? await storage(options.clock) : storage;
  return RelinkService.start(ports, options);
}
