import { createServer, type Server } from 'node:http';

/**
 * A stand-in for a desktop app's loopback redirect listener: records each callback's query and answers with a
 * static page. Relink's own listener arrives with the engine; tests of the sandbox only need to see where the
 * browser was sent.
 */
export interface CallbackCatcher {
  port: number;
  redirectUri: string;
  next(): Promise<URLSearchParams>;
  close(): Promise<void>;
}

export async function startCallbackCatcher(): Promise<CallbackCatcher> {
  const waiting: Array<(q: URLSearchParams) => void> = [];
  const received: URLSearchParams[] = [];
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (url.pathname !== '/callback') {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end('<!doctype html><title>Done</title><p>You can close this window and return to the app.</p>');
    const waiter = waiting.shift();
    if (waiter) waiter(url.searchParams);
    else received.push(url.searchParams);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    port,
    redirectUri: `http://127.0.0.1:${port}/callback`,
    next: () => {
      const ready = received.shift();
      return ready ? Promise.resolve(ready) : new Promise((resolve) => waiting.push(resolve));
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
