import type { Refresher } from '../refresh/refresher.js';
import type { KeychainState } from '../secrets/keychain.js';
import type { DocumentStore, SecretVault } from '../store/ports.js';
import type { Log } from './activity-recorder.js';

/**
 * Following the keychain: while it is locked, missing or not answering it is probed every `reprobeMs`, so an
 * unlock is noticed without anyone pressing anything; when it comes back, rotated tokens held in memory are
 * saved first, and grants that failed for it are tried again at once rather than at the end of their backoff.
 * Separate because it is the service's one timer-driven reaction to the outside world, and needs of the rest
 * only the grants, the refresher's held tokens, the engine's `watch` and a re-assessment.
 */

export interface KeychainWatchDeps {
  vault: Pick<SecretVault, 'state' | 'onStateChange' | 'probe'>;
  store: Pick<DocumentStore, 'peek'>;
  refresher: Pick<Refresher, 'saveHeld' | 'heldGrants'>;
  /** Puts a grant back on its normal deadline under the engine's watch. */
  watch: (grantId: string) => void;
  /** Re-assesses health (the service's `assess`). */
  assess: () => Promise<unknown>;
  log: Log;
  reprobeMs: number;
}

export class KeychainWatch {
  #reprobeTimer: NodeJS.Timeout | null = null;
  #unwatch: (() => void) | null = null;
  readonly #listeners = new Set<(state: KeychainState) => void>();

  constructor(private readonly deps: KeychainWatchDeps) {}

  start(): void {
    this.#unwatch = this.deps.vault.onStateChange((state) => void this.#changed(state));
    if (this.deps.vault.state !== 'available') this.#startReprobe();
  }

  stop(): void {
    this.#unwatch?.();
    this.#stopReprobe();
  }

  /** Called when the keychain's state changes (after the store has been re-assessed for it). */
  onChange(listener: (state: KeychainState) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async #changed(state: KeychainState): Promise<void> {
    const { deps } = this;
    if (state === 'available') {
      this.#stopReprobe();
      // Chosen before the held tokens are saved (saving one clears its grant's failure): each of these sits in a
      // backoff that may be minutes long, and is put back on its normal deadline now.
      const waiting = Object.values(deps.store.peek().grants)
        .filter((g) => g.state === 'active' && g.consecutiveFailures > 0 && g.lastFailure?.kind === 'keychain')
        .map((g) => g.id);
      await deps.refresher.saveHeld().catch((err: unknown) => void deps.log('engine', 'task-failed', { detail: `saving held tokens: ${(err as Error).message}` }));
      for (const id of new Set([...waiting, ...deps.refresher.heldGrants])) deps.watch(id);
    } else {
      this.#startReprobe();
    }
    await deps.assess().catch((err: unknown) => void deps.log('engine', 'assess-failed', { detail: (err as Error).message }));
    for (const listener of this.#listeners) listener(state);
  }

  #startReprobe(): void {
    if (this.#reprobeTimer) return;
    this.#reprobeTimer = setInterval(() => void this.deps.vault.probe().catch(() => undefined), this.deps.reprobeMs);
    this.#reprobeTimer.unref();
  }

  #stopReprobe(): void {
    if (this.#reprobeTimer) clearInterval(this.#reprobeTimer);
    this.#reprobeTimer = null;
  }
}
