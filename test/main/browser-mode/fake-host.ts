import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { EventName, Session } from '../../../shared/api.js';
import { createDispatcher, type ApiHost, type Handlers } from '../../../main/api/dispatcher.js';
import { ServiceError } from '../../../main/service/relink-service.js';

/**
 * An ApiHost for browser-mode tests: the real dispatcher (argument and result checks) over a few fake handlers,
 * a count of dispatched calls, and events that can be pushed raw (valid or not) to every subscriber.
 */

export const SESSION: Session = { host: 'browser', version: '0.0.0-test', firstRun: true, demo: false, engineRunning: false, secretsInMemory: false, keychainHelp: null };

export class FakeHost implements ApiHost {
  readonly calls: Array<{ channel: unknown; args: unknown }> = [];
  readonly #listeners = new Set<(event: EventName, payload: unknown) => void>();
  /** `check.run` waits on this, so a test can hold a request in flight. */
  hold: Promise<void> = Promise.resolve();
  readonly #dispatch: ApiHost['dispatch'];

  constructor() {
    const notHere = () => {
      throw new ServiceError('not-found', 'Not in this fake.');
    };
    const handlers = new Proxy({} as Record<string, unknown>, {
      get: (_t, channel: string) => {
        switch (channel) {
          case 'session.get':
            return () => SESSION;
          case 'connect.cancel':
            return ({ operationId }: { operationId: string }) => ({ cancelled: operationId === 'op-1' });
          case 'check.run':
            return async () => {
              await this.hold;
              return { grants: 0, refreshed: 0, transient: 0, revoked: 0, appRejected: 0, probed: 0 };
            };
          default:
            return notHere;
        }
      },
    }) as unknown as Handlers;
    this.#dispatch = createDispatcher(handlers, () => undefined);
  }

  dispatch(channel: unknown, args: unknown) {
    this.calls.push({ channel, args });
    return this.#dispatch(channel, args);
  }

  subscribe(listener: (event: EventName, payload: unknown) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Pushes without checking, to test what the other side does with a bad payload. */
  emitRaw(event: EventName, payload: unknown): void {
    for (const l of this.#listeners) l(event, payload);
  }

  get subscribers(): number {
    return this.#listeners.size;
  }
}

export const INDEX_HTML = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta http-equiv="Content-Security-Policy" content="default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'none'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'" />
    <title>Relink</title>
    <script type="module" crossorigin src="./assets/index-abc123.js"></script>
  </head>
  <body><div id="root"></div></body>
</html>
`;

/** A temp folder shaped like dist/renderer, with a secret-looking file next to it to try to reach. */
export function tempRenderer(): { root: string; dir: string; cleanup: () => void } {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'relink-browser-mode-'));
  const dir = path.join(root, 'renderer');
  fs.mkdirSync(path.join(dir, 'assets'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'index.html'), INDEX_HTML);
  fs.writeFileSync(path.join(dir, 'assets', 'index-abc123.js'), 'console.log("relink");\n');
  fs.writeFileSync(path.join(dir, 'assets', 'style.css'), 'body{}\n');
  fs.writeFileSync(path.join(dir, '.env'), 'SECRET=dotfile\n');
  fs.writeFileSync(path.join(root, 'package.json'), '{"name":"outside-the-renderer"}\n');
  return { root, dir, cleanup: () => fs.rmSync(root, { recursive: true, force: true }) };
}
