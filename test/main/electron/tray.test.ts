import { describe, expect, it } from 'vitest';
import { createTray, trayStatus, TRAY_ICON_DATA_URL, type MenuItemSpec, type TrayLike } from '../../../main/electron/tray.js';
import { fakeHooks } from './fakes.js';

describe('tray', () => {
  function tray(initial = 0) {
    const h = fakeHooks();
    h.count = initial;
    const state = { tooltip: '', title: '', menu: [] as MenuItemSpec[], destroyed: false, click: null as null | (() => void) };
    const actions: string[] = [];
    let finishCheck: () => void = () => {};
    const fake: TrayLike = {
      setToolTip: (t) => (state.tooltip = t),
      setTitle: (t) => (state.title = t),
      setContextMenu: (m) => (state.menu = m as MenuItemSpec[]),
      on: (_e, l) => (state.click = l),
      destroy: () => (state.destroyed = true),
    };
    const t = createTray(
      { createTray: () => fake, buildMenu: (items) => items },
      {
        hooks: h,
        openWindow: () => actions.push('open'),
        checkNow: () => {
          actions.push('check');
          return new Promise<void>((resolve) => (finishCheck = resolve));
        },
        quit: () => actions.push('quit'),
      },
    );
    const item = (label: RegExp) => state.menu.find((i) => i.label && label.test(i.label));
    return { h, state, actions, t, item, finishCheck: () => finishCheck() };
  }

  it('says how many connections need attention, in the tooltip, title and menu', () => {
    const { h, state, item } = tray(0);
    expect(state.tooltip).toBe('Relink — Every connection is working');
    expect(state.title).toBe('');
    h.setAttention(1);
    expect(state.tooltip).toBe('Relink — 1 connection needs attention');
    expect(state.title).toBe('1');
    h.setAttention(7);
    expect(state.tooltip).toBe('Relink — 7 connections need attention');
    expect(item(/7 connections need attention/)?.enabled).toBe(false);
  });

  it('offers Open Relink, Check now and Quit', async () => {
    const { state, actions, item, finishCheck } = tray();
    item(/^Open Relink$/)!.click!();
    item(/^Check now$/)!.click!();
    // While a check runs, the item says so and cannot start a second one.
    expect(item(/^Check now$/)).toBeUndefined();
    expect(item(/Checking connections/)?.enabled).toBe(false);
    finishCheck();
    await new Promise((r) => setTimeout(r, 0));
    expect(item(/^Check now$/)).toBeDefined();
    item(/^Quit Relink$/)!.click!();
    state.click!();
    expect(actions).toEqual(['open', 'check', 'quit', 'open']);
  });

  it('stops listening and removes the icon on dispose', () => {
    const { h, state, t } = tray();
    expect(h.listeners).toBe(1);
    t.dispose();
    expect(h.listeners).toBe(0);
    expect(state.destroyed).toBe(true);
  });

  it('has a real PNG for its icon', () => {
    const png = Buffer.from(TRAY_ICON_DATA_URL.replace(/^data:image\/png;base64,/, ''), 'base64');
    expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    expect(png.readUInt32BE(16)).toBe(32);
    expect(trayStatus(0).title).toBe('');
  });
});
