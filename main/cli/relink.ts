#!/usr/bin/env node
import path from 'node:path';
import { parseArgs } from 'node:util';
import { SystemClock } from '../core/clock.js';
import { explainError } from '../providers/xero/explain.js';
import { ThreadedKeychain } from '../secrets/threaded-keychain.js';
import { RelinkService } from '../service/relink-service.js';
import { ConfBackend } from '../store/document-file.js';
import * as commands from './commands.js';
import { EXIT, failureExit, UsageError, USAGE, type Io } from './commands.js';
import { processIo } from './process-io.js';
import { PROFILE_OPTIONS, resolveProfile } from './profile.js';

/**
 * `relink`: the command-line host of Relink's service (the same service the desktop app runs), for IT staff,
 * scripts and end-to-end tests. This file wires the real platform pieces — the OS keychain, the metadata file,
 * the system clock, signals — and hands the command to commands.ts.
 */

export async function main(argv: string[], io: Io = processIo()): Promise<number> {
  let values;
  let rest: string[];
  try {
    const parsed = parseArgs({
      args: argv,
      options: {
        ...PROFILE_OPTIONS,
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: false,
      allowPositionals: true,
      tokens: true,
    });
    values = parsed.values;
    // Global options come before the command; everything from the command on belongs to it.
    const firstPositional = parsed.tokens.find((t) => t.kind === 'positional');
    rest = firstPositional ? argv.slice(firstPositional.index) : [];
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
      return commands.explain(explainError, args, io);
    } catch (err) {
      const f = failureExit(err);
      io.err(f.message);
      return f.code;
    }
  }
  const { dataDir, keychainService } = resolveProfile(values);
  let service: RelinkService | null = null;
  const keychain = new ThreadedKeychain();
  try {
    service = await RelinkService.open({
      dataDir,
      keychainService,
      keychain,
      backend: new ConfBackend(dataDir),
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
    const f = failureExit(err);
    io.err(f.message);
    return f.code;
  } finally {
    await service?.close().catch((err: unknown) => io.err(`Could not save Relink's records: ${(err as Error).message}`));
    await keychain.close();
  }
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
