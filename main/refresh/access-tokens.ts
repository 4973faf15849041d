import type { Clock } from '../core/clock.js';

/**
 * Access tokens live only in this process's memory (never on disk, in the keychain, in IPC or in logs).
 * A token counts as usable until a safety margin before it expires, so a request never leaves with a token
 * that dies in flight.
 */
export class AccessTokenCache {
  readonly #tokens = new Map<string, { token: string; expiresAt: number }>();

  constructor(
    private readonly clock: Clock,
    private readonly marginMs = 2 * 60_000,
  ) {}

  set(grantId: string, token: string, expiresAt: number): void {
    this.#tokens.set(grantId, { token, expiresAt });
  }

  /** The token if it is still good for at least the margin, else undefined. */
  get(grantId: string): string | undefined {
    const entry = this.#tokens.get(grantId);
    if (!entry) return undefined;
    if (entry.expiresAt - this.marginMs <= this.clock.now()) return undefined;
    return entry.token;
  }

  expiresAt(grantId: string): number | undefined {
    return this.#tokens.get(grantId)?.expiresAt;
  }

  delete(grantId: string): void {
    this.#tokens.delete(grantId);
  }

  clear(): void {
    this.#tokens.clear();
  }
}
