import type { ShellHooks } from '../app/host-options.js';

/**
 * The tray (menu bar) icon: how many connections need attention, and three actions — open the window, check
 * every connection now, quit. Relink keeps running with its window closed, so this is how the advisor gets
 * back to it (starting Relink again works too).
 */

/** Two interlocking rings, 32×32 dark grey with alpha, shown at scale factor 2 (16×16 points). */
export const TRAY_ICON_DATA_URL =
  'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAACAAAAAgCAYAAABzenr0AAAAwklEQVR42u2W0Q0DIQiGHeUPc/jsQu7hYK7hINc0sUlDOLCmCbTxgRd/4T7AUxKA5GnpAByAXwIgAHkabehbAM9ADcAAcDEbU7N02gWoQtBdq58CtC9+/GVtFUDKvM/1YlTmfU9fqYTUc82JFjIlIxnSAJpBLOnVKLWqc4DByr6qd3b6ud+trpW/Gu2pSpZkVIEkgMw2FRZE0wvTMvO91UMBuLfA/RCG+A3dLyL3qzjEYxTiOQ4xkIQYyc5UfAD+H+AB/Das2wsjWtIAAAAASUVORK5CYII=';

/** What the tray says for a number of connections needing attention. */
export function trayStatus(count: number): { tooltip: string; title: string; line: string } {
  const line =
    count <= 0
      ? 'Every connection is working'
      : `${count} connection${count === 1 ? ' needs' : 's need'} attention`;
  return { tooltip: `Relink — ${line}`, title: count > 0 ? String(count) : '', line };
}

export interface MenuItemSpec {
  label?: string;
  type?: 'separator' | 'normal';
  enabled?: boolean;
  click?: () => void;
}

export interface TrayLike {
  setToolTip(text: string): void;
  setTitle(title: string): void;
  setContextMenu(menu: unknown): void;
  on(event: 'click', listener: () => void): unknown;
  destroy(): void;
}

export interface TrayDeps {
  createTray: () => TrayLike;
  buildMenu: (items: MenuItemSpec[]) => unknown;
}

export interface TrayActions {
  hooks: Pick<ShellHooks, 'attentionCount' | 'onAttentionChange'>;
  openWindow: () => void;
  /** Runs a check of every connection (the `check.run` request); resolves when it is done, never rejects. */
  checkNow: () => Promise<void>;
  quit: () => void;
}

export function menuItems(count: number, checking: boolean, actions: Omit<TrayActions, 'hooks'> & { startCheck: () => void }): MenuItemSpec[] {
  return [
    // Linux desktops often show no tooltip, so the status is also the menu's first (inert) line.
    { label: trayStatus(count).line, enabled: false },
    { type: 'separator' },
    { label: 'Open Relink', click: actions.openWindow },
    checking ? { label: 'Checking connections…', enabled: false } : { label: 'Check now', click: actions.startCheck },
    { type: 'separator' },
    { label: 'Quit Relink', click: actions.quit },
  ];
}

export function createTray(deps: TrayDeps, actions: TrayActions): { dispose(): void } {
  const tray = deps.createTray();
  let count = actions.hooks.attentionCount();
  let checking = false;

  const render = () => {
    const status = trayStatus(count);
    tray.setToolTip(status.tooltip);
    tray.setTitle(status.title);
    tray.setContextMenu(deps.buildMenu(menuItems(count, checking, { ...actions, startCheck })));
  };
  const startCheck = () => {
    if (checking) return;
    checking = true;
    render();
    void actions.checkNow().finally(() => {
      checking = false;
      render();
    });
  };

  render();
  tray.on('click', actions.openWindow);
  const unsubscribe = actions.hooks.onAttentionChange((next) => {
    count = next;
    render();
  });
  return {
    dispose() {
      unsubscribe();
      tray.destroy();
    },
  };
}
