import { describe, expect, it } from 'vitest';
import {
  createMainWindow,
  guardAllContents,
  hardenContents,
  hardenSession,
  runWindow,
  type BrowserWindowClass,
  type HardenableSession,
} from '../../../main/electron/window.js';
import { FakeApp, FakeCreatedContents, FakeSession, FakeWebContents } from './fakes.js';

function built(devTools = false): Record<string, any> {
  let captured: Record<string, any> | null = null;
  class FakeBrowserWindow {
    constructor(options: Record<string, any>) {
      captured = options;
    }
  }
  createMainWindow(FakeBrowserWindow as unknown as BrowserWindowClass, { preloadPath: '/app/dist/electron/preload.cjs', devTools });
  return captured!;
}

describe('the window’s options', () => {
  it('are hardened per Electron’s checklist', () => {
    const web = built().webPreferences;
    expect(web).toMatchObject({
      preload: '/app/dist/electron/preload.cjs',
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      experimentalFeatures: false,
      disableBlinkFeatures: 'Auxclick',
      navigateOnDragDrop: false,
      devTools: false,
    });
    // Nothing that loosens them sneaks in under another name.
    for (const loosening of ['enableBlinkFeatures', 'additionalArguments', 'nodeIntegrationInWorker', 'enableRemoteModule']) {
      expect(web[loosening] === true || (Array.isArray(web[loosening]) && web[loosening].length > 0), loosening).toBe(false);
    }
  });

  it('start hidden (shown when ready) and allow developer tools only when asked', () => {
    expect(built().show).toBe(false);
    expect(built(true).webPreferences.devTools).toBe(true);
  });
});

describe('navigation and new windows', () => {
  function harden() {
    const contents = new FakeWebContents();
    const opened: string[] = [];
    hardenContents(contents, {
      openFromWindow: async (url) => {
        opened.push(url);
        return true;
      },
    });
    return { contents, opened };
  }

  it('blocks navigation away from Relink’s page and hands the link to the allow-list', () => {
    const { contents, opened } = harden();
    for (const url of ['https://evil.example/', 'https://login.xero.com/identity/connect/authorize', 'file:///etc/passwd', 'app://relink.evil/']) {
      expect(contents.fire('will-navigate', { url }), url).toBe(true);
    }
    expect(opened).toEqual(['https://evil.example/', 'https://login.xero.com/identity/connect/authorize', 'file:///etc/passwd', 'app://relink.evil/']);
  });

  it('lets Relink’s own page reload or change its route', () => {
    const { contents, opened } = harden();
    expect(contents.fire('will-navigate', { url: 'app://relink/index.html' })).toBe(false);
    expect(contents.fire('will-navigate', { url: 'app://relink/index.html#/settings' })).toBe(false);
    expect(opened).toEqual([]);
  });

  it('reads the URL from the older second argument too', () => {
    const { contents } = harden();
    expect(contents.fire('will-navigate', {}, 'https://evil.example/')).toBe(true);
    expect(contents.fire('will-navigate', {}, 'app://relink/index.html')).toBe(false);
  });

  it('blocks redirects and sub-frame navigations away from Relink', () => {
    const { contents } = harden();
    expect(contents.fire('will-redirect', { url: 'https://evil.example/' })).toBe(true);
    expect(contents.fire('will-redirect', { url: 'app://relink/index.html' })).toBe(false);
    expect(contents.fire('will-frame-navigate', { url: 'https://evil.example/', isMainFrame: false })).toBe(true);
    expect(contents.fire('will-frame-navigate', { url: 'app://relink/x.html', isMainFrame: false })).toBe(false);
  });

  it('never attaches a <webview>', () => {
    const { contents } = harden();
    expect(contents.fire('will-attach-webview', {})).toBe(true);
  });

  it('denies every new window, even for Relink’s own page', () => {
    const { contents, opened } = harden();
    expect(contents.openHandler).not.toBeNull();
    for (const url of ['https://login.xero.com/identity/connect/authorize', 'https://evil.example/', 'app://relink/index.html']) {
      expect(contents.openHandler!({ url })).toEqual({ action: 'deny' });
    }
    // The allow-list, not the window, decides which of them the system browser gets.
    expect(opened).toHaveLength(3);
  });
});

describe('every webContents the process creates (app-wide guard)', () => {
  function guarded() {
    const app = new FakeApp();
    const opened: string[] = [];
    const logs: string[] = [];
    guardAllContents(app, {
      openFromWindow: async (url) => {
        opened.push(url);
        return true;
      },
      log: (line) => logs.push(line),
    });
    return { app, opened, logs };
  }

  it('hardens a window or webview created later exactly like the main window', () => {
    const { app, opened } = guarded();
    const later = new FakeCreatedContents();
    app.created(later);
    // Navigation away is blocked and handed to the allow-list; Relink's own page may reload.
    expect(later.fire('will-navigate', { url: 'https://evil.example/' })).toBe(true);
    expect(later.fire('will-navigate', { url: 'app://relink/index.html' })).toBe(false);
    expect(later.fire('will-redirect', { url: 'https://evil.example/' })).toBe(true);
    expect(later.fire('will-frame-navigate', { url: 'https://evil.example/', isMainFrame: false })).toBe(true);
    // No <webview>, no new windows.
    expect(later.fire('will-attach-webview', {})).toBe(true);
    expect(later.openHandler!({ url: 'https://login.xero.com/identity/connect/authorize' })).toEqual({ action: 'deny' });
    expect(opened).toEqual(['https://evil.example/', 'https://login.xero.com/identity/connect/authorize']);
  });

  it('denies every permission and download in the new contents’ session, whichever session it is', () => {
    const { app } = guarded();
    const partition = new FakeSession();
    app.created(new FakeCreatedContents(partition));
    const answers: boolean[] = [];
    partition.requestHandler!({}, 'media', (granted) => answers.push(granted));
    expect(answers).toEqual([false]);
    expect(partition.checkHandler!({}, 'clipboard-read', 'app://relink')).toBe(false);
    expect(partition.deviceHandler!({ deviceType: 'hid' })).toBe(false);
    let prevented = false;
    for (const l of partition.downloadListeners) l({ preventDefault: () => (prevented = true) });
    expect(prevented).toBe(true);
  });

  it('hardens a webContents once, however often it is seen (the main window is hardened by name too)', () => {
    const { app, opened } = guarded();
    const shared = new FakeSession();
    const main = new FakeCreatedContents(shared);
    hardenContents(main, {
      openFromWindow: async (url) => {
        opened.push(url);
        return true;
      },
    });
    app.created(main);
    app.created(new FakeCreatedContents(shared));
    expect(main.listeners.get('will-navigate')).toHaveLength(1);
    expect(main.fire('will-navigate', { url: 'https://help.example/' })).toBe(true);
    // One blocked click opens at most one browser tab.
    expect(opened).toEqual(['https://help.example/']);
    expect(shared.downloadListeners).toHaveLength(1);
  });
});

describe('the session', () => {
  function harden() {
    const handlers: Record<string, any> = {};
    const fake: HardenableSession = {
      setPermissionRequestHandler: (h) => (handlers.request = h),
      setPermissionCheckHandler: (h) => (handlers.check = h),
      setDevicePermissionHandler: (h) => (handlers.device = h),
      on: (event, l) => (handlers[event] = l),
    };
    hardenSession(fake);
    return handlers;
  }

  it('denies every permission request and check', () => {
    const h = harden();
    for (const permission of ['media', 'notifications', 'geolocation', 'clipboard-read', 'openExternal', 'fullscreen', 'unknown']) {
      const answers: boolean[] = [];
      h.request({}, permission, (granted: boolean) => answers.push(granted), {});
      expect(answers, permission).toEqual([false]);
      expect(h.check({}, permission, 'app://relink', {}), permission).toBe(false);
    }
    expect(h.device({ deviceType: 'usb', origin: 'app://relink' })).toBe(false);
  });

  it('refuses downloads', () => {
    const h = harden();
    let prevented = false;
    h['will-download']({ preventDefault: () => (prevented = true) });
    expect(prevented).toBe(true);
  });
});

describe('the window’s lifecycle', () => {
  function fakeWindow() {
    const listeners: Record<string, (...args: any[]) => void> = {};
    const calls: string[] = [];
    return {
      listeners,
      calls,
      win: {
        once: (event: string, l: () => void) => (listeners[event] = l),
        on: (event: string, l: (e: { preventDefault(): void }) => void) => (listeners[event] = l),
        show: () => calls.push('show'),
        hide: () => calls.push('hide'),
        loadURL: async (url: string) => {
          calls.push(`load ${url}`);
        },
      },
    };
  }

  it('loads Relink’s page from app://relink and shows the window once it is ready', () => {
    const f = fakeWindow();
    runWindow(f.win, { isQuitting: () => false });
    expect(f.calls).toEqual(['load app://relink/index.html']);
    f.listeners['ready-to-show']!();
    expect(f.calls).toContain('show');
  });

  it('hides instead of closing so connections stay alive, but closes when quitting', () => {
    const f = fakeWindow();
    let quitting = false;
    runWindow(f.win, { isQuitting: () => quitting });
    let prevented = false;
    f.listeners.close!({ preventDefault: () => (prevented = true) });
    expect(prevented).toBe(true);
    expect(f.calls).toContain('hide');
    quitting = true;
    prevented = false;
    f.listeners.close!({ preventDefault: () => (prevented = true) });
    expect(prevented).toBe(false);
  });
});
