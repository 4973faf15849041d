import { describe, expect, it } from 'vitest';
import { wirePower, type PowerMonitorLike } from '../../../main/electron/power.js';
import { fakeHooks } from './fakes.js';

describe('sleep and wake', () => {
  function power() {
    const listeners = new Map<string, Set<() => void>>();
    const fake: PowerMonitorLike = {
      on: (e, l) => {
        if (!listeners.has(e)) listeners.set(e, new Set());
        listeners.get(e)!.add(l);
      },
      removeListener: (e, l) => listeners.get(e)?.delete(l),
    };
    const fire = (e: string) => {
      for (const l of listeners.get(e) ?? []) l();
    };
    return { fake, fire, size: () => [...listeners.values()].reduce((n, s) => n + s.size, 0) };
  }

  it('pauses on sleep and lock, catches up on wake and unlock', () => {
    const p = power();
    const h = fakeHooks();
    wirePower(p.fake, h);
    for (const e of ['suspend', 'resume', 'lock-screen', 'unlock-screen']) p.fire(e);
    expect(h.calls).toEqual(['suspend', 'resume', 'suspend', 'resume']);
  });

  it('keeps going when a hook throws, and logs it', () => {
    const p = power();
    const log: string[] = [];
    wirePower(p.fake, { suspend: () => {}, resume: () => { throw new Error('keychain locked'); } }, (l) => log.push(l));
    expect(() => p.fire('resume')).not.toThrow();
    expect(log).toEqual(['relink: catching up after sleep failed: keychain locked']);
  });

  it('removes its listeners on dispose', () => {
    const p = power();
    const dispose = wirePower(p.fake, fakeHooks());
    expect(p.size()).toBe(4);
    dispose();
    expect(p.size()).toBe(0);
  });
});
