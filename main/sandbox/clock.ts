/**
 * The sandbox's notion of "now". Xero's token lifetimes (30-minute access tokens, 60-day refresh-token
 * inactivity, 30-minute grace) are far too long to wait for in a test, so the control API can move this
 * clock forward. Everything the sandbox decides about time reads it, never Date.now() directly.
 */
export class SandboxClock {
  #offsetMs = 0;

  constructor(private readonly realNow: () => number = Date.now) {}

  /** Milliseconds since the epoch, as the sandbox sees it. */
  now(): number {
    return this.realNow() + this.#offsetMs;
  }

  /** Seconds since the epoch (JWT claims use whole seconds). */
  nowSeconds(): number {
    return Math.floor(this.now() / 1000);
  }

  advance(seconds: number): void {
    this.#offsetMs += seconds * 1000;
  }

  get offsetSeconds(): number {
    return this.#offsetMs / 1000;
  }

  reset(): void {
    this.#offsetMs = 0;
  }
}

/**
 * Xero's identity API writes dates in .NET round-trip format without a kind: seven fractional digits and no
 * `Z` (e.g. `2019-12-07T18:46:19.5165400`). Clients must parse them as UTC.
 */
export function dotNetUtc(ms: number): string {
  return new Date(ms).toISOString().slice(0, 23) + '0000';
}

/** `09/24/2021 08:23:47` — the UTC format inside Xero's `TokenExpired: token expired at …` detail. */
export function xeroExpiryStamp(seconds: number): string {
  const d = new Date(seconds * 1000);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(d.getUTCMonth() + 1)}/${p(d.getUTCDate())}/${d.getUTCFullYear()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}`;
}
