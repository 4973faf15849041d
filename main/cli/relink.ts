#!/usr/bin/env node
import path from 'node:path';
import { parseArgs } from 'node:util';
import { SystemClock } from '../core/clock.js';
import { DEFAULT_PROVIDER } from '../providers/registry.js';
import { ThreadedKeychain } from '../secrets/threaded-keychain.js';
import { createRelink, localProfile } from '../app/create-relink.js';
import type { RelinkService } from '../service/relink-service.js';
import { ConfBackend, isDiskFull } from '../store/document-file.js';
import * as commands from './commands.js';
import { EXIT, failureExit, UsageError, USAGE, type Io } from './commands.js';
import { processIo } from '../app/process-io.js';
import { PROFILE_OPTIONS, resolveProfile } from '../app/profile.js';

/**
 * `relink`: the command-line host of Relink's service (the same service the desktop app runs), for IT staff,
 * scripts and end-to-end tests. This file wires the real platform pieces — the OS keychain, the metadata file,
 * the system clock, signals — and hands the command to commands.ts.
 */

const GLOBAL_OPTIONS = {
  ...PROFILE_OPTIONS,
  help: { type: 'boolean', short: 'h', default: false },
} as const;

export async function main(argv: string[], io: Io = processIo()): Promise<number> {
  let values;
  let rest: string[];
  try {
    const parsed = parseArgs({
      args: argv,
      options: GLOBAL_OPTIONS,
      strict: false,
      allowPositionals: true,
      tokens: true,
    });
    values = parsed.values;
    // Global options come before the command; everything from the command on belongs to it.
    const firstPositional = parsed.tokens.find((t) => t.kind === 'positional');
    rest = firstPositional ? argv.slice(firstPositional.index) : [];
    checkGlobalOptions(parsed.tokens, values);
  } catch (err) {
    io.err(`${(err as Error).message}\n\n${USAGE}`);
    return EXIT.usage;
  }
  const [command, ...args] = rest;
  if (values.help || !command || command === 'help') {
    io.out(USAGE);
    return command || values.help ? EXIT.ok : EXIT.usage;
  }
  // Explaining an error needs no keychain and no profile.
  if (command === 'explain') {
    try {
      return commands.explain((text) => DEFAULT_PROVIDER.explain(text), args, io);
    } catch (err) {
      const f = failureExit(err);
      io.err(f.message);
      return f.code;
    }
  }
  const envProblem = emptyProfileEnv(values);
  if (envProblem) {
    io.err(`${envProblem}\n\n${USAGE}`);
    return EXIT.usage;
  }
  const { dataDir, keychainService } = resolveProfile(values);
  let service: RelinkService | null = null;
  let failed: { code: number; message: string } | null = null;
  const keychain = new ThreadedKeychain();
  try {
    service = await createRelink({
      storage: localProfile({ dataDir, keychainService, keychain, backend: new ConfBackend(dataDir) }),
      clock: new SystemClock(),
      actor: 'cli',
    });
    if (service.recovery) io.err(service.recovery.message);
    switch (`${command} ${args[0] ?? ''}`.trim()) {
      case 'apps add':
        return await commands.appsAdd(service, args.slice(1), io);
      case 'apps list':
        return commands.appsList(service, args.slice(1), io);
      case 'plan reconnect':
        return commands.planReconnect(service, args.slice(1), io);
      case 'audit staff':
        return commands.auditStaff(service, args.slice(1), io);
      case 'tracked import':
        return await commands.trackedImport(service, args.slice(1), io);
      case 'tracked export':
        return commands.trackedExport(service, args.slice(1), io);
      case 'export activity':
        return await commands.exportActivity(service, args.slice(1), io);
    }
    switch (command) {
      case 'connect':
        return await commands.connect(service, args, io);
      case 'check':
        return await commands.check(service, args, io);
      case 'run':
        return await commands.run(service, args, io);
      case 'status':
        return commands.status(service, args, io);
      case 'password-changed':
        return await commands.passwordChanged(service, args, io);
      default:
        throw new UsageError(`Unknown command "${rest.join(' ')}".`);
    }
  } catch (err) {
    failed = failureExit(err);
    io.err(failed.message);
    return failed.code;
  } finally {
    const unsaved = await service?.close().then(
      () => null,
      (err: unknown) => ({ err }),
    );
    await keychain.close();
    if (unsaved) {
      const message = isDiskFull(unsaved.err) ? failureExit(unsaved.err).message : `Could not save Relink's records: ${(unsaved.err as Error).message}`;
      // A command that failed on the same full disk has said so already.
      if (message !== failed?.message) io.err(message);
      // What the command changed did not reach the disk, whatever it printed: the run failed. (Returning from
      // `finally` replaces the command's exit code, which is the point.)
      // eslint-disable-next-line no-unsafe-finally
      if (!failed) return EXIT.failure;
    }
  }
}

type Token = ReturnType<typeof parseArgs>['tokens'] extends Array<infer T> | undefined ? T : never;

/**
 * The options before the command are parsed leniently (the command's own come after it), so they are checked
 * here: an unknown one is a typo to report, not something to ignore, and an empty `--data-dir` would quietly
 * make the current folder Relink's profile.
 */
function checkGlobalOptions(tokens: Token[], values: Record<string, unknown>): void {
  for (const t of tokens) {
    if (t.kind === 'positional' || t.kind === 'option-terminator') break;
    if (t.kind === 'option' && !(t.name in GLOBAL_OPTIONS)) {
      throw new UsageError(
        `Unknown option ${t.rawName}. Before the command Relink takes only --data-dir DIR and --keychain-service NAME; a command's own options go after it.`,
      );
    }
  }
  const dataDir = values['data-dir'];
  if (dataDir !== undefined && (typeof dataDir !== 'string' || dataDir.trim() === '')) {
    throw new UsageError('--data-dir needs a folder (--data-dir DIR), not an empty value.');
  }
  const service = values['keychain-service'];
  if (service !== undefined && (typeof service !== 'string' || service.trim() === '')) {
    throw new UsageError('--keychain-service needs a name (--keychain-service NAME), not an empty value.');
  }
}

/** RELINK_DATA_DIR="" (or RELINK_KEYCHAIN_SERVICE="") is a mistake too, unless the option overrides it. */
function emptyProfileEnv(values: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env): string | null {
  if (values['data-dir'] === undefined && env.RELINK_DATA_DIR !== undefined && env.RELINK_DATA_DIR.trim() === '') {
    return 'RELINK_DATA_DIR is set but empty: set it to a folder, or unset it to use the default.';
  }
  if (values['keychain-service'] === undefined && env.RELINK_KEYCHAIN_SERVICE !== undefined && env.RELINK_KEYCHAIN_SERVICE.trim() === '') {
    return 'RELINK_KEYCHAIN_SERVICE is set but empty: set it to a name, or unset it to use the default.';
  }
  return null;
}

const entry = process.argv[1] ? path.resolve(process.argv[1]) : '';
// Run when started as a script (`tsx main/cli/relink.ts`); bin.mjs imports it and calls main() itself.
if (entry.endsWith(`${path.sep}relink.ts`)) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`Relink stopped on an unexpected error: ${(err as Error).message}\n`);
      process.exit(EXIT.failure);
    },
  );
}
