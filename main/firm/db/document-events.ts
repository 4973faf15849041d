import type { CommitEvent, RecoveryEvent } from '../../store/ports.js';

/**
 * The listeners of the firm document store (firm-document-store.ts): the port's onCommit, onChange, onRecovery
 * and onError, and telling them. A listener that throws is reported through onError; an onError listener that
 * throws is ignored (reporting must not break writing).
 */
export class DocumentEvents {
  readonly #commit = new Set<(event: CommitEvent) => void>();
  readonly #change = new Set<() => void>();
  readonly #error = new Set<(error: Error) => void>();
  readonly #recovery = new Set<(event: RecoveryEvent) => void>();

  onCommit(listener: (event: CommitEvent) => void): () => void {
    this.#commit.add(listener);
    return () => this.#commit.delete(listener);
  }

  onChange(listener: () => void): () => void {
    this.#change.add(listener);
    return () => this.#change.delete(listener);
  }

  onRecovery(listener: (event: RecoveryEvent) => void): () => void {
    this.#recovery.add(listener);
    return () => this.#recovery.delete(listener);
  }

  onError(listener: (error: Error) => void): () => void {
    this.#error.add(listener);
    return () => this.#error.delete(listener);
  }

  announce(event: CommitEvent): void {
    for (const listener of [...this.#commit, ...this.#change]) {
      try {
        listener(event);
      } catch (error) {
        this.error(error instanceof Error ? error : new Error(String(error)));
      }
    }
  }

  error(error: Error): void {
    for (const listener of this.#error) {
      try {
        listener(error);
      } catch {
        // reporting must not break writing
      }
    }
  }
}
