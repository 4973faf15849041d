import { opaque } from '../ids.js';

/** A validated authorize request waiting for a person to log in and choose organisations. */
export interface AuthorizeParams {
  clientId: string;
  redirectUri: string;
  scopes: string[];
  state: string | null;
  codeChallenge: string | null;
  nonce: string | null;
}

export interface PendingConsent {
  params: AuthorizeParams;
  userId: string | null;
  expiresAt: number;
}

/**
 * Pending consent-page requests, keyed by an unguessable handle carried in the page's forms. They expire
 * after ten minutes of real time, like a login session would.
 */
export class ConsentRequests {
  readonly #pending = new Map<string, PendingConsent>();

  constructor(private readonly now: () => number = Date.now) {}

  open(params: AuthorizeParams): string {
    this.#sweep();
    const handle = opaque(24);
    this.#pending.set(handle, { params, userId: null, expiresAt: this.now() + 10 * 60_000 });
    return handle;
  }

  get(handle: string | null | undefined): PendingConsent | undefined {
    if (!handle) return undefined;
    const p = this.#pending.get(handle);
    if (p && p.expiresAt < this.now()) {
      this.#pending.delete(handle);
      return undefined;
    }
    return p;
  }

  close(handle: string): void {
    this.#pending.delete(handle);
  }

  clear(): void {
    this.#pending.clear();
  }

  #sweep(): void {
    const now = this.now();
    for (const [k, v] of this.#pending) if (v.expiresAt < now) this.#pending.delete(k);
  }
}
