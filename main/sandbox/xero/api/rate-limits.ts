import type { SandboxClock } from '../../clock.js';
import type { SandboxSettings, Tier } from '../settings.js';

/**
 * Xero's API limits: per (app, organisation) 5 concurrent calls, 60 a minute and a daily allowance by tier;
 * per app 10,000 a minute across all organisations. Windows are fixed and start at each key's first call,
 * so they reset at different times for each organisation, as Xero describes.
 */
interface Window {
  start: number;
  count: number;
}

export type LimitProblem = 'concurrent' | 'minute' | 'day' | 'appminute';

export type Acquired =
  | { ok: true; headers: Record<string, string>; release: () => void }
  | { ok: false; problem: LimitProblem; retryAfter: number | null; headers: Record<string, string> };

const MINUTE = 60_000;
const DAY = 86_400_000;

export class RateLimiter {
  #concurrent = new Map<string, number>();
  #minute = new Map<string, Window>();
  #day = new Map<string, Window>();
  #appMinute = new Map<string, Window>();

  constructor(
    private readonly clock: SandboxClock,
    private readonly settings: () => SandboxSettings,
  ) {}

  #window(map: Map<string, Window>, key: string, length: number): Window {
    const now = this.clock.now();
    let w = map.get(key);
    if (!w || now - w.start >= length) {
      w = { start: now, count: 0 };
      map.set(key, w);
    }
    return w;
  }

  #retryAfter(w: Window, length: number): number {
    return Math.max(1, Math.ceil((w.start + length - this.clock.now()) / 1000));
  }

  acquire(clientId: string, tenantId: string, tier: Tier): Acquired {
    const s = this.settings();
    const key = `${clientId}|${tenantId}`;
    const day = this.#window(this.#day, key, DAY);
    const minute = this.#window(this.#minute, key, MINUTE);
    const app = this.#window(this.#appMinute, clientId, MINUTE);
    const dayLimit = s.dayLimits[tier];
    const headers = () => ({
      'x-daylimit-remaining': String(Math.max(0, dayLimit - day.count)),
      'x-minlimit-remaining': String(Math.max(0, s.minuteLimit - minute.count)),
      'x-appminlimit-remaining': String(Math.max(0, s.appMinuteLimit - app.count)),
    });
    if (day.count >= dayLimit) return { ok: false, problem: 'day', retryAfter: this.#retryAfter(day, DAY), headers: headers() };
    if (minute.count >= s.minuteLimit) {
      return { ok: false, problem: 'minute', retryAfter: this.#retryAfter(minute, MINUTE), headers: headers() };
    }
    if (app.count >= s.appMinuteLimit) {
      return { ok: false, problem: 'appminute', retryAfter: this.#retryAfter(app, MINUTE), headers: headers() };
    }
    const inFlight = this.#concurrent.get(key) ?? 0;
    if (inFlight >= s.concurrentLimit) return { ok: false, problem: 'concurrent', retryAfter: null, headers: headers() };
    day.count++;
    minute.count++;
    app.count++;
    this.#concurrent.set(key, inFlight + 1);
    let released = false;
    return {
      ok: true,
      headers: headers(),
      release: () => {
        if (released) return;
        released = true;
        const n = (this.#concurrent.get(key) ?? 1) - 1;
        if (n <= 0) this.#concurrent.delete(key);
        else this.#concurrent.set(key, n);
      },
    };
  }

  /** Remaining allowances without spending any: every API response carries them, even refusals. */
  peek(clientId: string, tenantId: string | null, tier: Tier): Record<string, string> {
    const s = this.settings();
    const now = this.clock.now();
    const left = (w: Window | undefined, limit: number, length: number) =>
      String(w && now - w.start < length ? Math.max(0, limit - w.count) : limit);
    const key = `${clientId}|${tenantId}`;
    const headers: Record<string, string> = {
      'x-appminlimit-remaining': left(this.#appMinute.get(clientId), s.appMinuteLimit, MINUTE),
    };
    if (tenantId) {
      headers['x-daylimit-remaining'] = left(this.#day.get(key), s.dayLimits[tier], DAY);
      headers['x-minlimit-remaining'] = left(this.#minute.get(key), s.minuteLimit, MINUTE);
    }
    return headers;
  }

  reset(): void {
    this.#concurrent.clear();
    this.#minute.clear();
    this.#day.clear();
    this.#appMinute.clear();
  }
}
