import { parseArgs } from 'node:util';
import { startSandboxServer } from './server.js';
import { seedSchema } from './xero/seeds.js';

/**
 * `npm run sandbox -- [--port N] [--seed empty|demo|scale] [--orgs N --apps N --staff N] [--json]`
 *
 * Starts the Xero sandbox on 127.0.0.1 and prints its origin (port 0 picks a free port). Stops cleanly on
 * SIGINT or SIGTERM. `--json` prints one line of JSON (origin and the seeded apps, web-app secrets included)
 * for scripts; the plain output never shows a secret.
 */
const USAGE = 'Usage: npm run sandbox -- [--port N] [--seed empty|demo|scale] [--orgs N] [--apps N] [--staff N] [--json]';

function fail(message: string): never {
  console.error(`sandbox: ${message}\n${USAGE}`);
  process.exit(2);
}

function integer(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) fail(`--${name} takes a whole number, not "${value}".`);
  return Number(value);
}

async function main(): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        port: { type: 'string', default: '0' },
        seed: { type: 'string', default: 'demo' },
        orgs: { type: 'string' },
        apps: { type: 'string' },
        staff: { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
      strict: true,
    }));
  } catch (err) {
    fail((err as Error).message);
  }
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const port = integer('port', values.port)!;
  if (port > 65_535) fail(`--port must be between 0 and 65535, not ${port}.`);
  const scale =
    values.seed === 'scale'
      ? Object.fromEntries(
          (['orgs', 'apps', 'staff'] as const)
            .map((k) => [k, integer(k, values[k])] as const)
            .filter(([, v]) => v !== undefined),
        )
      : undefined;
  const seed = seedSchema.safeParse({ seed: values.seed, ...(scale ? { scale } : {}) });
  if (!seed.success) fail(`--seed must be empty, demo or scale (with --orgs, --apps, --staff in range), not "${values.seed}".`);

  let running;
  try {
    running = await startSandboxServer({ port, seed: seed.data });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') fail(`port ${port} is already in use on 127.0.0.1; pick another or use --port 0.`);
    throw err;
  }
  const summary = running.sandbox.lastSeed;
  if (values.json) {
    console.log(JSON.stringify({ origin: running.origin, ...summary }));
  } else {
    console.log(`Xero sandbox listening on ${running.origin}`);
    console.log(`  seed ${summary.seed}: ${summary.orgs} organisations, ${summary.users} staff, ${summary.apps.length} apps`);
    for (const app of summary.apps) console.log(`  app "${app.name}": client id ${app.clientId}`);
    console.log(`  discovery: ${running.origin}/.well-known/openid-configuration · state: ${running.origin}/sandbox/state`);
  }

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    void running.close().then(() => {
      if (!values.json) console.log(`Xero sandbox stopped (${signal}).`);
      process.exit(0);
    });
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((err: unknown) => {
  console.error('sandbox: could not start:', err);
  process.exit(1);
});
