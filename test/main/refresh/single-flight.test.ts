import { describe, expect, it } from 'vitest';
import { SingleFlight } from '../../../main/refresh/single-flight.js';

/** One refresh per grant at a time in this process (H1), and no stale results handed to late callers. */

function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

describe('SingleFlight', () => {
  it('shares one call among concurrent callers of the same key', async () => {
    const sf = new SingleFlight<string, string>();
    const d = deferred<string>();
    let calls = 0;
    const fn = () => {
      calls++;
      return d.promise;
    };
    const a = sf.run('g1', fn);
    const b = sf.run('g1', fn);
    const c = sf.run('g1', fn);
    expect(calls).toBe(1);
    expect(b).toBe(a);
    expect(c).toBe(a);
    expect(sf.has('g1')).toBe(true);
    d.resolve('rotated');
    expect(await Promise.all([a, b, c])).toEqual(['rotated', 'rotated', 'rotated']);
  });

  it('runs different keys independently', async () => {
    const sf = new SingleFlight<string, string>();
    const d1 = deferred<string>();
    const d2 = deferred<string>();
    const p1 = sf.run('g1', () => d1.promise);
    const p2 = sf.run('g2', () => d2.promise);
    expect(sf.size).toBe(2);
    d2.resolve('two');
    expect(await p2).toBe('two');
    expect(sf.has('g1')).toBe(true);
    expect(sf.has('g2')).toBe(false);
    d1.resolve('one');
    expect(await p1).toBe('one');
  });

  it('keeps the entry until the call settles, and removes it before any caller sees the result', async () => {
    const sf = new SingleFlight<string, number>();
    const d = deferred<number>();
    const p = sf.run('g', () => d.promise);
    await Promise.resolve();
    await Promise.resolve();
    expect(sf.has('g')).toBe(true); // still running: late callers must join, not start a second refresh
    let seenInMap: boolean | null = null;
    const observed = p.then(() => (seenInMap = sf.has('g')));
    d.resolve(1);
    await observed;
    expect(seenInMap).toBe(false);
  });

  it('starts a fresh call for a caller that arrives after settling, which reads the current state', async () => {
    // The store stands in for the keychain: each flight rotates the token.
    const store = { refreshToken: 'rt-1' };
    const used: string[] = [];
    const sf = new SingleFlight<string, string>();
    const refresh = async () => {
      const rt = store.refreshToken; // read at start, never captured before run()
      used.push(rt);
      await new Promise((r) => setTimeout(r, 5));
      store.refreshToken = `${rt}+`;
      return store.refreshToken;
    };
    const [a, b] = await Promise.all([sf.run('g', refresh), sf.run('g', refresh)]);
    expect(a).toBe('rt-1+');
    expect(b).toBe('rt-1+');
    const c = await sf.run('g', refresh);
    expect(c).toBe('rt-1++');
    expect(used).toEqual(['rt-1', 'rt-1+']); // never the consumed token twice
  });

  it('shares rejections, clears the entry after them, and turns a synchronous throw into a rejection', async () => {
    const sf = new SingleFlight<string, string>();
    const d = deferred<string>();
    const a = sf.run('g', () => d.promise);
    const b = sf.run('g', () => Promise.resolve('never'));
    d.reject(new Error('ECONNRESET'));
    await expect(a).rejects.toThrow('ECONNRESET');
    await expect(b).rejects.toThrow('ECONNRESET');
    expect(sf.has('g')).toBe(false);

    const sync = sf.run('g', () => {
      throw new Error('boom');
    });
    await expect(sync).rejects.toThrow('boom');
    expect(sf.has('g')).toBe(false);
    expect(await sf.run('g', () => 'ok')).toBe('ok');
  });
});
