import { z } from 'zod';

/**
 * Injected failures: the ways Xero and the network between here and there go wrong. Each fault fires for the
 * next `count` requests to its target, in the order faults were added.
 */
export const FAULT_TARGETS = ['token', 'api', 'connections', 'authorize'] as const;
export const FAULT_KINDS = [
  'status-500',
  'status-503',
  'html-502',
  'timeout',
  'drop-response',
  'reset',
  'rate-limit',
] as const;

export type FaultTarget = (typeof FAULT_TARGETS)[number];
export type FaultKind = (typeof FAULT_KINDS)[number];

export const faultSchema = z
  .object({
    target: z.enum(FAULT_TARGETS),
    kind: z.enum(FAULT_KINDS),
    count: z.number().int().positive().max(1_000_000).default(1),
    retryAfter: z.number().int().min(0).max(86_400).optional(),
    /** For `rate-limit`: which limit the 429 names in `X-Rate-Limit-Problem` (default `minute`). */
    problem: z.enum(['minute', 'day', 'concurrent', 'appminute']).optional(),
  })
  .strict();

export type FaultInput = z.input<typeof faultSchema>;
export interface Fault {
  target: FaultTarget;
  kind: FaultKind;
  remaining: number;
  retryAfter: number | undefined;
  problem: 'minute' | 'day' | 'concurrent' | 'appminute' | undefined;
}

export class Faults {
  #queue: Fault[] = [];

  add(input: z.output<typeof faultSchema>): Fault {
    const fault: Fault = { target: input.target, kind: input.kind, remaining: input.count, retryAfter: input.retryAfter, problem: input.problem };
    this.#queue.push(fault);
    return fault;
  }

  /** The fault the next request to `target` suffers, if any; consumes one of its count. */
  take(target: FaultTarget): Fault | undefined {
    const fault = this.#queue.find((f) => f.target === target);
    if (!fault) return undefined;
    fault.remaining--;
    if (fault.remaining <= 0) this.#queue.splice(this.#queue.indexOf(fault), 1);
    return fault;
  }

  list(): Fault[] {
    return this.#queue.map((f) => ({ ...f }));
  }

  clear(): number {
    const n = this.#queue.length;
    this.#queue = [];
    return n;
  }
}
