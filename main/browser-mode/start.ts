import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { RelinkApp } from '../app/relink-app.js';
import type { RelinkAppOptions } from '../app/host-options.js';
import { browserFrom } from '../app/browser-option.js';
import { EXIT, failureExit } from '../app/exit-codes.js';
import { processIo, type Io } from '../app/process-io.js';
import { PROFILE_OPTIONS, resolveProfile } from '../app/profile.js';
import { SystemClock } from '../core/clock.js';
import { redactSecrets } from '../core/redact.js';
import { openInBrowser, openLocalPageInBrowser } from '../oauth/browser.js';
import { writeLaunchPage, type LaunchPage } from './launch-page.js';
import { ThreadedKeychain } from '../secrets/threaded-keychain.js';
import { ConfBackend } from '../store/document-file.js';
import { BrowserServerError, startBrowserServer, type BrowserServer } from './server.js';

/**
 * `npm run start:browser`: Relink without Electron. The same RelinkApp the desktop window talks to, with its
 * window served on 127.0.0.1 and the API over a WebSocket (server.ts). For machines without a display or
 * without the Electron binary, and for the end-to-end tests. It shares the CLI's global options, so it can
 * open the same profile as `relink`, and its `--browser`, so it can run headless.
 */

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const RENDERER_DIR = path.join(ROOT, 'dist', 'renderer');

export const USAGE = `Usage: npm run start:browser -- [--demo] [--port N] [--no-open] [--browser CMD|none]
                               [--data-dir DIR] [--keychain-service NAME]

Runs Relink and serves its window at http://127.0.0.1:PORT/ (for computers without the desktop app).

  --demo                   start with the demo firm on a built-in Xero sandbox
  --port N                 listen on port N (1024-65535); default: any free port
  --no-open                do not open the window in a browser; just print its address
  --browser CMD|none       the program that opens Xero's sign-in pages and the window (default: the system
                           browser); "none" prints the addresses instead, for a computer without a display
  --data-dir DIR           the profile folder (or RELINK_DATA_DIR), as for the relink command
  --keychain-service NAME  the keychain service name (or RELINK_KEYCHAIN_SERVICE), as for the relink command`;

class UsageProblem extends Error {}

function parsePort(text: string | undefined): number {
  if (text === undefined) return 0;
  const n = /^\d{1,5}$/.test(text) ? Number(text) : NaN;
  if (!(n === 0 || (n >= 1024 && n <= 65_535))) {
    throw new UsageProblem(`--port takes a port number from 1024 to 65535 (or 0 for any free port), not "${text}".`);
  }
  return n;
}

function parse(argv: string[]) {
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      options: {
        ...PROFILE_OPTIONS,
        demo: { type: 'boolean', default: false },
        port: { type: 'string' },
        'no-open': { type: 'boolean', default: false },
        browser: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowPositionals: true,
    });
    if (positionals.length > 0) throw new UsageProblem(`Unexpected argument "${positionals[0]}".`);
    return { ...values, port: parsePort(values.port) };
  } catch (err) {
    if (err instanceof UsageProblem) throw err;
    throw new UsageProblem((err as Error).message);
  }
}

function appVersion(): string {
  try {
    return String(JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version ?? '0.0.0');
  } catch {
    return '0.0.0';
  }
}

export async function main(argv: string[], io: Io = processIo(), rendererDir = RENDERER_DIR): Promise<number> {
  let options: ReturnType<typeof parse>;
  try {
    options = parse(argv);
  } catch (err) {
    io.err(`${(err as Error).message}\n\n${USAGE}`);
    return EXIT.usage;
  }
  if (options.help) {
    io.out(USAGE);
    return EXIT.ok;
  }
  const { dataDir, keychainService } = resolveProfile(options);
  const how = browserFrom(options.browser, io);
  const log = (line: string) => io.err(redactSecrets(line));
  const keychain = new ThreadedKeychain();
  let app: RelinkApp | null = null;
  let server: BrowserServer | null = null;
  let launchPage: LaunchPage | null = null;
  try {
    const appOptions: RelinkAppOptions = {
      host: 'browser',
      version: appVersion(),
      dataDir,
      keychainService,
      keychain,
      backendFor: (dir) => new ConfBackend(dir),
      clock: new SystemClock(),
      openAuthorizeUrl: (url) => openInBrowser(url, how),
      // The same program as for sign-ins; on a headless machine ("none") the address is printed instead.
      openHelpUrl: (url) =>
        openInBrowser(url, how.kind === 'none' ? { kind: 'none', print: (u) => io.err(`Open this address in a browser for the help page:\n${u}`) } : how),
      demo: options.demo,
      log,
    };
    // Never a silent fallback: the demo runs without a keychain (its sandbox sign-ins held in memory, which its
    // banner says), and the firm's own profile opens without one only to say what is missing.
    app = await RelinkApp.open(appOptions);
    server = await startBrowserServer({ host: app, rendererDir, port: options.port, log });
    io.out(`Relink is running at ${server.url} (press Ctrl+C to stop)`);
    if (app.session().secretsInMemory) {
      log("This computer has no keychain Relink can use, so the demo holds its made-up sandbox sign-ins in memory; they end when Relink stops. Your firm's own profile needs a keychain.");
    }
    const help = app.keychainHelp;
    if (help) log(`${help.title}. ${help.text}\n${help.steps.map((step, i) => `  ${i + 1}. ${step}`).join('\n')}`);
    if (!options['no-open'] && how.kind !== 'none') {
      launchPage = writeLaunchPage(dataDir, server.url);
      openLocalPageInBrowser(launchPage.url, how).catch((err: unknown) =>
        log(`${(err as Error).message.replace(/ Check the browser setting, or copy the address instead\.$/, '')} Open the address above yourself.`),
      );
    }
    const signal = await io.stopSignal();
    log(`Stopping Relink (${signal})…`);
    return EXIT.ok;
  } catch (err) {
    if (err instanceof BrowserServerError) {
      io.err(err.message);
      return EXIT.failure;
    }
    const f = failureExit(err);
    io.err(f.message);
    return f.code;
  } finally {
    launchPage?.remove();
    await server?.close().catch((err: unknown) => io.err(`Could not stop the window server cleanly: ${(err as Error).message}`));
    await app?.close().catch((err: unknown) => io.err(`Could not save Relink's records: ${(err as Error).message}`));
    await keychain.close();
  }
}

const entry = process.argv[1] ? path.resolve(process.argv[1]) : '';
// Run when started as a script (`tsx main/browser-mode/start.ts`); tests import main() instead.
if (entry.endsWith(path.join('browser-mode', 'start.ts'))) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`Relink stopped on an unexpected error: ${(err as Error).message}\n`);
      process.exit(EXIT.failure);
    },
  );
}
