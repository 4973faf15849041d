import type { BrowserWindow as ElectronBrowserWindow, BrowserWindowConstructorOptions } from 'electron';
import { APP_ENTRY_URL, describeOrigin, mayNavigate } from './policy.js';

/**
 * Relink's one window, hardened per Electron's security checklist: sandboxed renderer with context isolation
 * and no Node, web security on, no <webview>, no new windows, no navigation away from Relink's own page, no
 * permissions, no downloads. Links to Xero's sign-in or to help pages open in the system browser through
 * external-links.ts; everything else is refused.
 *
 * Electron's classes are passed in (main.ts passes the real ones, tests pass fakes). The options are written
 * out in the `new BrowserWindow({...})` call itself so that Electronegativity sees them (it reads the literal
 * argument, not variables).
 */

export type BrowserWindowClass = new (options: BrowserWindowConstructorOptions) => ElectronBrowserWindow;

export interface WindowSetup {
  /** Absolute path of the bundled preload (dist/electron/preload.cjs). */
  preloadPath: string;
  /** Developer tools: on when running from a checkout, off in a packaged build. */
  devTools: boolean;
}

export function createMainWindow(BrowserWindow: BrowserWindowClass, setup: WindowSetup): ElectronBrowserWindow {
  return new BrowserWindow({
    title: 'Relink',
    width: 1280,
    height: 820,
    minWidth: 900,
    minHeight: 600,
    // Shown on 'ready-to-show' so the advisor never sees an empty frame.
    show: false,
    backgroundColor: '#ffffff',
    webPreferences: {
      preload: setup.preloadPath,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      experimentalFeatures: false,
      // A middle-click on a link would otherwise ask for a new window (denied below, but never asked is better).
      disableBlinkFeatures: 'Auxclick',
      navigateOnDragDrop: false,
      safeDialogs: true,
      spellcheck: false,
      devTools: setup.devTools,
    },
  });
}

/** A navigation event as Electron ≥ 25 delivers it (`details.url`), with the older second argument as fallback. */
interface NavigationEvent {
  preventDefault(): void;
  url?: string;
}

/** The parts of a webContents that hardening touches. */
export interface HardenableContents {
  on(event: string, listener: (...args: any[]) => void): unknown;
  setWindowOpenHandler(handler: (details: { url: string }) => { action: 'deny' }): void;
}

export interface HardeningOptions {
  /** A link the page tried to open elsewhere: external-links.ts decides whether the system browser gets it. */
  openFromWindow: (url: string) => Promise<boolean>;
  log?: (line: string) => void;
}

/** Contents and sessions already hardened: a second pass would add a second listener (and open a link twice). */
const hardenedContents = new WeakSet<object>();
const hardenedSessions = new WeakSet<object>();

export function hardenContents(contents: HardenableContents, opts: HardeningOptions): void {
  if (hardenedContents.has(contents)) return;
  hardenedContents.add(contents);
  const log = opts.log ?? (() => {});
  const guard = (kind: string) => (event: NavigationEvent, legacyUrl?: string) => {
    const url = event.url ?? legacyUrl ?? '';
    if (mayNavigate(url)) return;
    event.preventDefault();
    log(`relink: blocked ${kind} to ${describeOrigin(url)}`);
    // A plain link to Xero's sign-in or a help page still works: it opens in the system browser.
    void opts.openFromWindow(url);
  };
  contents.on('will-navigate', guard('navigation'));
  contents.on('will-frame-navigate', (event: NavigationEvent & { isMainFrame?: boolean }) => {
    // Subframes: Relink has none, so any frame navigating anywhere but Relink's own page is stopped.
    if (event.isMainFrame) return;
    if (!mayNavigate(event.url ?? '')) event.preventDefault();
  });
  contents.on('will-redirect', (event: NavigationEvent, legacyUrl?: string) => {
    const url = event.url ?? legacyUrl ?? '';
    if (!mayNavigate(url)) event.preventDefault();
  });
  contents.on('will-attach-webview', (event: { preventDefault(): void }) => {
    event.preventDefault();
    log('relink: blocked a <webview>');
  });
  contents.setWindowOpenHandler(({ url }) => {
    void opts.openFromWindow(url);
    return { action: 'deny' };
  });
}

/** The parts of a session that hardening touches. */
export interface HardenableSession {
  setPermissionRequestHandler(handler: (webContents: unknown, permission: string, callback: (granted: boolean) => void) => void): void;
  setPermissionCheckHandler(handler: (webContents: unknown, permission: string) => boolean): void;
  setDevicePermissionHandler(handler: (details: unknown) => boolean): void;
  on(event: 'will-download', listener: (event: { preventDefault(): void }) => void): unknown;
}

/**
 * No camera, microphone, notifications-from-the-page, clipboard reads, USB, … : Relink's page needs none of
 * them (OS notifications come from the main process). Downloads are refused too.
 */
export function hardenSession(session: HardenableSession): void {
  if (hardenedSessions.has(session)) return;
  hardenedSessions.add(session);
  session.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
  session.setPermissionCheckHandler(() => false);
  session.setDevicePermissionHandler(() => false);
  session.on('will-download', (event) => event.preventDefault());
}

/** A webContents as `web-contents-created` hands it over: what hardening touches, and its session. */
export interface CreatedContents extends HardenableContents {
  readonly session: HardenableSession;
}

/** The part of Electron's `app` the guard below uses. */
export interface ContentsSource {
  on(event: 'web-contents-created', listener: (event: unknown, contents: CreatedContents) => void): unknown;
}

/**
 * The same hardening for every webContents the process ever creates — the main window's, any later window's,
 * a <webview>'s (were one ever attached), DevTools' — the moment it exists, with its session: no navigation
 * away from Relink's page, no new windows, no <webview>, no permissions, no downloads. A window added later
 * cannot forget it. Register before the first window is created (Electron's security checklist, items 13–14).
 */
export function guardAllContents(app: ContentsSource, opts: HardeningOptions): void {
  app.on('web-contents-created', (_event, contents) => {
    hardenContents(contents, opts);
    hardenSession(contents.session);
  });
}

/** The parts of the window the lifecycle below uses. */
export interface LifecycleWindow {
  once(event: 'ready-to-show', listener: () => void): unknown;
  on(event: 'close', listener: (event: { preventDefault(): void }) => void): unknown;
  show(): void;
  hide(): void;
  loadURL(url: string): Promise<void>;
}

/**
 * Shows the window when its page is ready and loads Relink's page. Closing the window hides it: Relink keeps
 * connections alive in the background (the tray icon, or starting Relink again, brings it back) until the
 * advisor quits.
 */
export function runWindow(win: LifecycleWindow, opts: { isQuitting: () => boolean; log?: (line: string) => void }): void {
  win.once('ready-to-show', () => win.show());
  win.on('close', (event) => {
    if (opts.isQuitting()) return;
    event.preventDefault();
    win.hide();
  });
  win.loadURL(APP_ENTRY_URL).catch((err: unknown) => {
    opts.log?.(`relink: the window could not load its page: ${(err as Error)?.message ?? String(err)}`);
  });
}
