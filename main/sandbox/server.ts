import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { Sandbox, type SandboxOptions } from './xero/sandbox.js';

/**
 * The node:http adapter: the only sandbox file that touches sockets. It listens on 127.0.0.1 only, refuses
 * requests addressed to other host names (DNS rebinding), and can hold a connection open without answering
 * or cut it, which is how timeouts and lost responses are emulated.
 */
export interface RunningSandbox {
  sandbox: Sandbox;
  origin: string;
  port: number;
  close(): Promise<void>;
}

const MAX_BODY = 1_000_000;

export async function startSandboxServer(opts: SandboxOptions & { port?: number } = {}): Promise<RunningSandbox> {
  const sandbox = await Sandbox.create(opts);
  const sockets = new Set<Socket>();
  const hangs = new Set<NodeJS.Timeout>();
  let port = 0;

  const server: Server = createServer((req, res) => {
    void serve(req, res).catch((err: unknown) => {
      console.error('sandbox: request failed:', err);
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: 'The sandbox failed to handle this request; see its console.' }));
    });
  });

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const host = req.headers.host ?? '';
    if (!new Set([`127.0.0.1:${port}`, `localhost:${port}`]).has(host.toLowerCase())) {
      res.writeHead(421, { 'content-type': 'text/plain' }).end('Misdirected request: the sandbox answers only 127.0.0.1 and localhost.');
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > MAX_BODY) {
        res.writeHead(413, { 'content-type': 'text/plain' }).end('Request body too large.');
        return;
      }
      chunks.push(chunk as Buffer);
    }
    const headers: Record<string, string | undefined> = {};
    for (const [k, v] of Object.entries(req.headers)) headers[k] = Array.isArray(v) ? v.join(', ') : v;
    const outcome = await sandbox.handle({
      method: req.method ?? 'GET',
      url: new URL(req.url ?? '/', sandbox.origin),
      headers,
      body: Buffer.concat(chunks),
    });
    if (outcome.kind === 'reset') {
      req.socket.destroy();
      return;
    }
    if (outcome.kind === 'hang') {
      const timer = setTimeout(() => {
        hangs.delete(timer);
        req.socket.destroy();
      }, sandbox.settings.hangSeconds * 1000);
      hangs.add(timer);
      return;
    }
    res.writeHead(outcome.status, outcome.headers);
    res.end(outcome.body);
  }

  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('The sandbox did not get a TCP port.');
  port = address.port;
  sandbox.origin = `http://127.0.0.1:${port}`;

  return {
    sandbox,
    origin: sandbox.origin,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const t of hangs) clearTimeout(t);
        hangs.clear();
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      }),
  };
}
