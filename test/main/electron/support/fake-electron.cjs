// Loaded with `node --require` before dist/electron/main.cjs: answers `require('electron')` with stand-ins for
// the main-process modules, lets the bundled shell start up under plain Node (there is no Electron binary on
// these machines), then drives it — one request from Relink's page, one from a foreign page, one page load
// through app://relink, a tray look-up, a quit — and prints what happened as one line: `SMOKE {json}`.
'use strict';
const Module = require('node:module');
const { EventEmitter } = require('node:events');

const report = {
  sandboxEnabled: false,
  privilegedSchemes: null,
  singleInstanceLock: false,
  windows: [],
  loadedUrls: [],
  protocolSchemes: [],
  permissionRequestHandler: false,
  permissionCheckHandler: false,
  ipcHandlers: [],
  requests: {},
  page: null,
  tray: null,
  powerEvents: [],
  quit: null,
  logs: [],
};

const app = new EventEmitter();
let readyResolve;
const ready = new Promise((r) => (readyResolve = r));
let quitCalls = 0;
Object.assign(app, {
  isPackaged: false,
  enableSandbox: () => (report.sandboxEnabled = true),
  requestSingleInstanceLock: () => (report.singleInstanceLock = true),
  whenReady: () => ready,
  getPath: (name) => {
    if (name === 'userData') return process.env.SMOKE_USER_DATA;
    throw new Error(`getPath(${name}) is not faked`);
  },
  getAppPath: () => process.env.SMOKE_APP_PATH,
  getVersion: () => '0.0.0-smoke',
  setAppUserModelId: () => {},
  quit: () => {
    quitCalls += 1;
    const event = { defaultPrevented: false, preventDefault() { this.defaultPrevented = true; } };
    app.emit('before-quit', event);
    if (!event.defaultPrevented) {
      report.quit = { calls: quitCalls };
      finish(0);
    }
  },
  exit: (code) => finish(code),
});

const handlers = new Map();
const ipcMain = {
  handle: (channel, fn) => {
    handlers.set(channel, fn);
    report.ipcHandlers.push(channel);
  },
  removeHandler: (channel) => handlers.delete(channel),
  on: () => {},
};

let protocolHandler = null;
const protocol = {
  registerSchemesAsPrivileged: (schemes) => (report.privilegedSchemes = schemes),
  handle: (scheme, fn) => {
    report.protocolSchemes.push(scheme);
    protocolHandler = fn;
  },
};

class FakeWebContents extends EventEmitter {
  constructor() {
    super();
    this.url = '';
    this.sent = [];
  }
  setWindowOpenHandler(h) {
    this.openHandler = h;
  }
  isDestroyed() {
    return false;
  }
  getURL() {
    return this.url;
  }
  send(...args) {
    this.sent.push(args);
  }
}

const windows = [];
class BrowserWindow extends EventEmitter {
  constructor(options) {
    super();
    this.options = options;
    this.webContents = new FakeWebContents();
    report.windows.push({ webPreferences: options.webPreferences, show: options.show });
    windows.push(this);
  }
  loadURL(url) {
    report.loadedUrls.push(url);
    this.webContents.url = url;
    return Promise.resolve();
  }
  isDestroyed() {
    return false;
  }
  isMinimized() {
    return false;
  }
  restore() {}
  show() {}
  hide() {}
  focus() {}
}

const defaultSession = {
  setPermissionRequestHandler: (h) => (report.permissionRequestHandler = typeof h === 'function'),
  setPermissionCheckHandler: (h) => (report.permissionCheckHandler = typeof h === 'function'),
  setDevicePermissionHandler: () => {},
  on: () => {},
};

let tray = null;
class Tray {
  constructor() {
    tray = this;
    this.state = {};
  }
  setToolTip(t) {
    this.state.tooltip = t;
  }
  setTitle(t) {
    this.state.title = t;
  }
  setContextMenu(m) {
    this.state.menu = m.map((i) => i.label ?? `(${i.type})`);
  }
  on() {}
  destroy() {
    this.state.destroyed = true;
  }
}

class Notification extends EventEmitter {
  static isSupported() {
    return false;
  }
  show() {}
}

const powerMonitor = new EventEmitter();

const electron = {
  app,
  BrowserWindow,
  dialog: { showErrorBox: (title, body) => report.logs.push(`dialog: ${title}: ${body}`) },
  ipcMain,
  Menu: { buildFromTemplate: (items) => items },
  nativeImage: { createFromDataURL: (url) => ({ url, setTemplateImage() {} }) },
  Notification,
  powerMonitor,
  protocol,
  session: { defaultSession },
  shell: { openExternal: async () => {} },
  Tray,
};

const load = Module._load;
Module._load = function (request, parent, isMain) {
  if (request === 'electron') return electron;
  return load.call(this, request, parent, isMain);
};

const originalLog = console.log;
console.log = (...args) => report.logs.push(args.join(' '));

let finished = false;
function finish(code) {
  if (finished) return;
  finished = true;
  originalLog(`SMOKE ${JSON.stringify(report)}`);
  process.exit(code);
}

async function drive() {
  readyResolve();
  const deadline = Date.now() + 15_000;
  while (!(handlers.has('relink:invoke') && windows.length > 0 && tray)) {
    if (finished) return;
    if (Date.now() > deadline) {
      report.logs.push('smoke: the shell did not finish starting within 15 s');
      return finish(2);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  const win = windows[0];
  const invoke = handlers.get('relink:invoke');
  report.requests.trusted = await invoke({ sender: win.webContents, senderFrame: { url: 'app://relink/index.html', parent: null } }, 'session.get', {});
  report.requests.foreign = await invoke({ sender: win.webContents, senderFrame: { url: 'https://evil.example/', parent: null } }, 'session.get', {});
  report.requests.badArgs = await invoke({ sender: win.webContents, senderFrame: { url: 'app://relink/index.html', parent: null } }, 'connect.cancel', { operationId: 7 });
  const page = await protocolHandler(new Request('app://relink/index.html'));
  report.page = { status: page.status, csp: page.headers.get('content-security-policy'), body: await page.text() };
  report.tray = tray.state;
  // A window or webview created after start-up (none exists yet; the guard must cover the next one).
  const later = new FakeWebContents();
  const laterSession = {
    handlers: {},
    setPermissionRequestHandler(h) { this.handlers.request = h; },
    setPermissionCheckHandler(h) { this.handlers.check = h; },
    setDevicePermissionHandler(h) { this.handlers.device = h; },
    on(event, l) { this.handlers[event] = l; },
  };
  later.session = laterSession;
  app.emit('web-contents-created', { preventDefault() {} }, later);
  const fire = (event, details) => {
    let prevented = false;
    later.emit(event, { ...details, preventDefault: () => (prevented = true) });
    return prevented;
  };
  const granted = [];
  laterSession.handlers.request?.(later, 'media', (g) => granted.push(g));
  report.laterContents = {
    navigationBlocked: fire('will-navigate', { url: 'https://evil.example/' }),
    ownPageAllowed: !fire('will-navigate', { url: 'app://relink/index.html' }),
    webviewBlocked: fire('will-attach-webview', {}),
    newWindow: later.openHandler ? later.openHandler({ url: 'https://evil.example/' }) : null,
    permissionGranted: granted,
  };
  powerMonitor.emit('suspend');
  powerMonitor.emit('resume');
  report.powerEvents = ['suspend', 'resume'];
  app.quit();
  setTimeout(() => {
    report.logs.push('smoke: quitting took more than 20 s');
    finish(3);
  }, 20_000).unref();
}

setImmediate(() => {
  drive().catch((err) => {
    report.logs.push(`smoke: ${err && err.stack}`);
    finish(4);
  });
});
