import { afterAll, beforeAll, beforeEach } from 'vitest';
import type { SeedRequest } from '../../main/sandbox/xero/seeds.js';
import { startTestSandbox, type TestSandbox } from './sandbox.js';

/**
 * One sandbox per test file, started before the first test and closed after the last, optionally reset to an
 * empty world (default settings, no faults, clock back to now) before every test. Returns a stand-in that
 * forwards to the running sandbox, so tests write `sb.control(…)` as if they held it directly.
 */
export function useSandbox(opts: { resetEachTest?: boolean; seed?: SeedRequest } = {}): TestSandbox {
  let current: TestSandbox | undefined;
  beforeAll(async () => {
    current = await startTestSandbox(opts.seed);
  });
  afterAll(() => current?.close());
  if (opts.resetEachTest) {
    beforeEach(async () => {
      await current!.control('POST', '/sandbox/reset', { seed: 'empty' });
    });
  }
  return new Proxy({} as TestSandbox, {
    get(_target, prop) {
      if (!current) throw new Error('The sandbox is only available inside tests and hooks.');
      return Reflect.get(current, prop);
    },
  });
}
