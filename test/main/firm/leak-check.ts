import { inspect } from 'node:util';
import { expect } from 'vitest';

/**
 * Asserts that nothing a person could read from a thrown error, or a failure value, shows any of `secrets`
 * (text, or bytes in hex, base64 and base64url).
 */
export function expectNothingLeaks(thing: unknown, secrets: ReadonlyArray<string | Buffer>): void {
  const text = [
    thing instanceof Error ? `${thing.name}: ${thing.message}\n${thing.stack ?? ''}` : '',
    inspect(thing, { depth: 5 }),
    safeJson(thing),
  ].join('\n');
  for (const secret of secrets) {
    const forms = typeof secret === 'string' ? [secret] : [secret.toString('hex'), secret.toString('base64'), secret.toString('base64url')];
    for (const form of forms) expect(text.includes(form), `leaked a secret (${form.length} chars)`).toBe(false);
  }
}

/** Calls `fn`, expects it to throw, and returns what it threw. */
export function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? '';
  } catch {
    return '';
  }
}
