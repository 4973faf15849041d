import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

/**
 * Views live in the URL hash. The router reads `window` when it loads, so each test gives it a small window of
 * its own (a location whose hash fires `hashchange` as a browser's does, and a history that records entries).
 */

type Router = typeof import('../../../renderer/src/state/router.js');

class FakeWindow extends EventTarget {
  #hash: string;
  readonly entries: string[] = [];
  constructor(hash: string) {
    super();
    this.#hash = hash;
  }
  readonly location = (() => {
    const win = this;
    return {
      get hash() {
        return win.#hash;
      },
      set hash(value: string) {
        const next = value.startsWith('#') ? value : `#${value}`;
        if (next === win.#hash) return;
        win.#hash = next;
        win.entries.push(next);
        win.dispatchEvent(new Event('hashchange'));
      },
    };
  })();
  readonly history = {
    replaceState: (_state: unknown, _title: string, url: string) => {
      // No entry and no event: the page dispatches the event itself.
      this.#hash = url;
    },
  };
}

class FakeHashChangeEvent extends Event {}

let win: FakeWindow;

async function load(hash = ''): Promise<Router> {
  vi.resetModules();
  win = new FakeWindow(hash);
  vi.stubGlobal('window', win);
  vi.stubGlobal('HashChangeEvent', FakeHashChangeEvent);
  return import('../../../renderer/src/state/router.js');
}

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('href (formatting a route)', () => {
  let r: Router;
  beforeEach(async () => {
    r = await load();
  });

  it('names the view, then the id, then the part after it', () => {
    expect(r.href('overview')).toBe('#/overview');
    expect(r.href('organisations', 't-1')).toBe('#/organisations/t-1');
    expect(r.href('reports', 'offboarding', {}, 'jane')).toBe('#/reports/offboarding/jane');
  });

  it('escapes ids, so a slash or a question mark in one stays one segment', () => {
    expect(r.href('organisations', 'a/b?c')).toBe('#/organisations/a%2Fb%3Fc');
  });

  it('leaves out a sub-path without an id, and empty parameters', () => {
    expect(r.href('reports', null, {}, 'jane')).toBe('#/reports');
    expect(r.href('organisations', null, { health: 'needs-reconnect', app: '', staff: null, cause: undefined })).toBe('#/organisations?health=needs-reconnect');
    expect(r.href('organisations', null, { q: 'Tōtara & Sons' })).toBe('#/organisations?q=T%C5%8Dtara+%26+Sons');
  });
});

describe('parseRoute', () => {
  let r: Router;
  beforeEach(async () => {
    r = await load();
  });

  it('reads the view, id, sub-path and parameters', () => {
    const route = r.parseRoute('#/reports/offboarding/jane%40firm.nz?print=1');
    expect(route.view).toBe('reports');
    expect(route.id).toBe('offboarding');
    expect(route.sub).toBe('jane@firm.nz');
    expect(route.params.get('print')).toBe('1');
    expect(route.key).toBe('#/reports/offboarding/jane%40firm.nz?print=1');
  });

  it('gives back what href wrote', () => {
    const route = r.parseRoute(r.href('organisations', 'a/b?c', { health: 'attention', q: 'north & south' }));
    expect(route).toMatchObject({ view: 'organisations', id: 'a/b?c', sub: null });
    expect(Object.fromEntries(route.params)).toEqual({ health: 'attention', q: 'north & south' });
  });

  it('opens the overview for an unknown view or an empty path', () => {
    expect(r.parseRoute('#/nowhere').view).toBe('overview');
    expect(r.parseRoute('#/ORGANISATIONS').view).toBe('overview');
    expect(r.parseRoute('#/').view).toBe('overview');
    expect(r.parseRoute('#/').id).toBeNull();
  });

  it('knows every view it lists', () => {
    for (const view of r.VIEWS) expect(r.parseRoute(`#/${view}`).view).toBe(view);
    for (const view of r.NAV_VIEWS) expect(r.VIEWS).toContain(view);
    for (const view of r.VIEWS) expect(r.VIEW_TITLES[view]).toMatch(/\S/);
  });

  it('answers the fallback for a hash that is not a route (the skip link)', () => {
    const fallback = r.parseRoute('#/staff');
    expect(r.parseRoute('#main', fallback)).toBe(fallback);
    expect(r.parseRoute('', fallback)).toBe(fallback);
    expect(r.parseRoute('#main').view).toBe('overview');
  });

  it('takes a malformed escape as written instead of failing', () => {
    expect(r.parseRoute('#/organisations/100%').id).toBe('100%');
    expect(r.parseRoute('#/organisations/%E0%A4%A').id).toBe('%E0%A4%A');
  });
});

describe('the current route', () => {
  it('starts from the URL the window opened with', async () => {
    const r = await load('#/organisations/t-9?health=expiring');
    expect(r.getRoute()).toMatchObject({ view: 'organisations', id: 't-9' });
    expect(r.getRoute().params.get('health')).toBe('expiring');
  });

  it('starts on the overview when the URL names no route', async () => {
    const r = await load('#main');
    expect(r.getRoute().view).toBe('overview');
  });

  it('follows navigation, tells subscribers, and moves focus only when the view changes', async () => {
    const r = await load('#/overview');
    expect(r.consumeViewFocus()).toBe(false);
    const seen = vi.fn();
    const stop = r.subscribeRoute(seen);

    r.navigate(r.href('staff'));
    expect(r.getRoute().view).toBe('staff');
    expect(seen).toHaveBeenCalledTimes(1);
    expect(r.consumeViewFocus()).toBe(true);
    expect(r.consumeViewFocus()).toBe(false);

    r.navigate(r.href('staff', 'jane'));
    expect(r.getRoute().id).toBe('jane');
    expect(seen).toHaveBeenCalledTimes(2);
    expect(r.consumeViewFocus()).toBe(false);

    stop();
    r.navigate(r.href('apps'));
    expect(r.getRoute().view).toBe('apps');
    expect(seen).toHaveBeenCalledTimes(2);
  });

  it('keeps the same route object while the URL is the same, and ignores a jump to the skip link', async () => {
    const r = await load('#/activity');
    const before = r.getRoute();
    r.navigate('#/activity');
    expect(r.getRoute()).toBe(before);
    win.location.hash = '#main';
    expect(r.getRoute()).toBe(before);
    expect(r.consumeViewFocus()).toBe(false);
  });

  it('keeps filter changes out of the history when asked to replace', async () => {
    const r = await load('#/organisations');
    r.navigate(r.href('organisations', null, { health: 'attention' }), { replace: true });
    expect(r.getRoute().params.get('health')).toBe('attention');
    expect(win.entries).toEqual([]);
    r.navigate(r.href('apps'));
    expect(win.entries).toEqual(['#/apps']);
  });
});
