import path from 'node:path';
import {
  app,
  BrowserWindow,
  dialog,
  ipcMain,
  Menu,
  nativeImage,
  Notification,
  powerMonitor,
  protocol,
  session,
  shell,
  Tray,
} from 'electron';
import { RelinkApp } from '../app/relink-app.js';
import { resolveProfile } from '../app/profile.js';
import { SystemClock } from '../core/clock.js';
import { ThreadedKeychain } from '../secrets/threaded-keychain.js';
import { ElectronStoreBackend } from './electron-store-backend.js';
import { APP_SCHEME_PRIVILEGES, serveAppProtocol } from './app-protocol.js';
import { createExternalLinks } from './external-links.js';
import { createSavers } from './save-files.js';
import { registerIpc } from './ipc.js';
import { wireNotifications } from './notifications.js';
import { wirePower } from './power.js';
import { createTray, TRAY_ICON_DATA_URL } from './tray.js';
import { createMainWindow, guardAllContents, hardenContents, hardenSession, runWindow } from './window.js';

/**
 * The Electron entry point (bundled to dist/electron/main.cjs): the only file that creates Electron's
 * objects and Relink's concrete adapters, and wires them together. Everything it wires is tested on its own
 * with fakes (test/main/electron); this file holds no decisions.
 *
 * RELINK_DATA_DIR and RELINK_KEYCHAIN_SERVICE (the names the CLI uses) point a run at another profile, which is
 * how the end-to-end test keeps off the advisor's real connections.
 */

const KEYCHAIN_SERVICE = resolveProfile({}).keychainService;
/** Refreshes under way when the advisor quits are let finish (a rotated token must be saved), up to this long. */
const CLOSE_TIMEOUT_MS = 30_000;

const log = (line: string) => console.log(line);

// Belt and braces: every renderer is sandboxed even if some future window forgot to ask (checklist item 4).
app.enableSandbox();
protocol.registerSchemesAsPrivileged([APP_SCHEME_PRIVILEGES]);

if (!app.requestSingleInstanceLock()) {
  // Relink is already running: that instance shows its window (see 'second-instance'); this one leaves.
  app.quit();
} else {
  let relinkApp: RelinkApp | null = null;
  let keychain: ThreadedKeychain | null = null;
  let win: BrowserWindow | null = null;
  let quitting = false;
  let closing: Promise<void> | null = null;
  let closed = false;
  let started = false;
  const disposers: Array<() => void> = [];

  const links = createExternalLinks({
    openExternal: (url) => shell.openExternal(url),
    // Read at each call: the demo and newly added apps bring their own sign-in origins.
    issuerOrigins: () => relinkApp?.service.apps().map((a) => a.issuer) ?? [],
    demoPortalUrl: () => relinkApp?.demoPortalUrl ?? null,
    log,
  });
  // Every webContents from now on — later windows, webviews, DevTools — is hardened as it is created, with its
  // session; the main window's too (hardening is idempotent, and ensureWindow also hardens it by name).
  guardAllContents(app, { openFromWindow: links.openFromWindow, log });

  const ensureWindow = (): BrowserWindow => {
    if (win && !win.isDestroyed()) return win;
    const created = createMainWindow(BrowserWindow, {
      preloadPath: path.join(app.getAppPath(), 'dist', 'electron', 'preload.cjs'),
      devTools: !app.isPackaged,
    });
    hardenContents(created.webContents, { openFromWindow: links.openFromWindow, log });
    created.webContents.on('render-process-gone', (_event, details) => log(`relink: the window's page stopped (${details.reason})`));
    runWindow(created, { isQuitting: () => quitting, log });
    win = created;
    return created;
  };

  const showWindow = () => {
    // Before start-up has finished there is no page to show yet (the window opens at the end of it).
    if (!started || quitting) return;
    const w = ensureWindow();
    if (w.isMinimized()) w.restore();
    w.show();
    w.focus();
  };

  const shutdown = async () => {
    for (const dispose of disposers.splice(0).reverse()) {
      try {
        dispose();
      } catch (err) {
        log(`relink: cleanup failed: ${(err as Error).message}`);
      }
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        log('relink: gave up waiting for Relink to close cleanly');
        resolve();
      }, CLOSE_TIMEOUT_MS);
    });
    try {
      await Promise.race([relinkApp?.close(), timeout]);
    } finally {
      clearTimeout(timer);
    }
    await keychain?.close();
  };

  const start = async () => {
    if (process.platform === 'win32') app.setAppUserModelId('nz.relink.desktop');
    // The same profile as the `relink` CLI and browser mode (and their RELINK_DATA_DIR), so IT staff's scripts
    // and the window see one set of connections; Electron's own userData folder holds only its caches.
    const { dataDir } = resolveProfile({});
    keychain = new ThreadedKeychain();
    relinkApp = await RelinkApp.open({
      host: 'electron',
      version: app.getVersion(),
      dataDir,
      keychainService: KEYCHAIN_SERVICE,
      keychain,
      backendFor: (dir) => new ElectronStoreBackend(dir),
      clock: new SystemClock(),
      openAuthorizeUrl: links.openAuthorizeUrl,
      openHelpUrl: links.openHelpUrl,
      ...createSavers({ dialog, window: () => (win && !win.isDestroyed() ? win : null) }),
      log,
    });
    const hosted = relinkApp;

    hardenSession(session.defaultSession);
    serveAppProtocol(protocol, path.join(app.getAppPath(), 'dist', 'renderer'));

    disposers.push(
      registerIpc({
        ipcMain,
        host: hosted,
        windowContents: () => (win && !win.isDestroyed() ? win.webContents : null),
        log,
      }),
    );
    ensureWindow();

    const tray = createTray(
      {
        createTray: () => {
          const icon = nativeImage.createFromDataURL(TRAY_ICON_DATA_URL);
          // A template image follows the macOS menu bar's light or dark look.
          if (process.platform === 'darwin') icon.setTemplateImage(true);
          return new Tray(icon);
        },
        buildMenu: (items) => Menu.buildFromTemplate(items),
      },
      {
        hooks: hosted,
        openWindow: showWindow,
        checkNow: async () => {
          const result = await hosted.dispatch('check.run', {});
          if (!result.ok) log(`relink: the check from the tray did not run: ${result.error.message}`);
        },
        quit: () => app.quit(),
      },
    );
    disposers.push(() => tray.dispose());
    disposers.push(
      wireNotifications(
        { isSupported: () => Notification.isSupported(), create: (options) => new Notification(options) },
        hosted,
        showWindow,
      ),
    );
    disposers.push(wirePower(powerMonitor, hosted, log));
    started = true;
  };

  app.on('second-instance', showWindow);
  app.on('activate', showWindow);
  // The window hides rather than closes, and Relink keeps connections alive until the advisor quits.
  app.on('window-all-closed', () => {});
  app.on('before-quit', (event) => {
    quitting = true;
    if (closed) return;
    event.preventDefault();
    closing ??= shutdown()
      .catch((err: unknown) => log(`relink: closing failed: ${(err as Error).message}`))
      .finally(() => {
        closed = true;
        app.quit();
      });
  });

  app
    .whenReady()
    .then(start)
    .catch((err: unknown) => {
      const message = err instanceof Error ? err.message : String(err);
      log(`relink: could not start: ${message}`);
      dialog.showErrorBox(
        'Relink could not start',
        `${message}\n\nNothing was changed. Try starting Relink again; if this keeps happening, send this message to your IT support.`,
      );
      app.exit(1);
    });
}
