#!/usr/bin/env node
import path from 'node:path';
import { parseArgs } from 'node:util';
import envPaths from 'env-paths';
import { SystemClock } from '../core/clock.js';
import { explainError } from '../providers/xero/explain.js';
import { ThreadedKeychain } from '../secrets/threaded-keychain.js';
import { RelinkService } from '../service/relink-service.js';
import { ConfBackend } from '../store/document-file.js';
import * as commands from './commands.js';
import { EXIT, failureExit, UsageError, USAGE, type Io } from './commands.js';

/**
 * `relink`: the command-line host of Relink's service (the same service the desktop app runs), for IT staff,
 * scripts and end-to-end tests. This file wires the real platform pieces — the OS keychain, the metadata file,
 * the system clock, signals — and hands the command to commands.ts.
 */

function defaultDataDir(): string {
  return envPaths('relink', { suffix: '' }).data;
}

function makeIo(): Io {
  let stop: Promise<string> | null = null;
  return {
    out: (text) => process.stdout.write(`${text}\n`),
    err: (text) => process.stderr.write(`${text}\n`),
    readStdin: async () => {
      if (process.stdin.isTTY) process.stderr.write('Paste the client secret, then press Enter and Ctrl-D:\n');
      const chunks: Buffer[] = [];
      for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks).toString('utf8');
    },
    stopSignal: () =>
      (stop ??= new Promise((resolve) => {
        // Stay subscribed after the first signal, and ignore the repeats. `conf` (through atomically's
        // when-exit) hooks SIGINT/SIGTERM too: it runs its exit hooks and then sends the same signal to the
        // process again. With no listener of ours left (a `once`), that second delivery found only
        // proper-lockfile's signal-exit, which re-raises it with the default action: Relink died with 130/143
        // half-way through saving its records instead of stopping cleanly with 0.
        const onSignal = (signal: NodeJS.Signals) => resolve(signal);
        process.on('SIGINT', onSignal);
        process.on('SIGTERM', onSignal);
      })),
  };
}

export async function main(argv: string[], io: Io = makeIo()): Promise<number> {
  let values;
  let rest: string[];
  try {
    const parsed = parseArgs({
      args: argv,
      options: {
        'data-dir': { type: 'string' },
        'keychain-service': { type: 'string' },
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
  const dataDir = path.resolve(String(values['data-dir'] ?? process.env.RELINK_DATA_DIR ?? defaultDataDir()));
  const keychainService = String(values['keychain-service'] ?? process.env.RELINK_KEYCHAIN_SERVICE ?? 'Relink');
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
