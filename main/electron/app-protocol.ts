import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { APP_SCHEME, appFilePath, CONTENT_SECURITY_POLICY } from './policy.js';

/**
 * Serves the renderer build (dist/renderer) on Relink's private `app://relink/` origin. A real origin, unlike
 * `file://`, lets ipc.ts tell Relink's page from any other page, and lets the CSP's `'self'` mean "Relink's
 * own files" and nothing else on the disk. Every response carries the Content-Security-Policy as a header.
 */

/** For `protocol.registerSchemesAsPrivileged`, before the app is ready: a standard, secure scheme. */
export const APP_SCHEME_PRIVILEGES = {
  scheme: APP_SCHEME,
  privileges: { standard: true, secure: true, supportFetchAPI: true },
} as const;

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.woff': 'font/woff',
};

export interface ProtocolLike {
  handle(scheme: string, handler: (request: Request) => Response | Promise<Response>): void;
}

export function appResponseHeaders(filePath: string): Record<string, string> {
  return {
    'content-type': CONTENT_TYPES[path.extname(filePath).toLowerCase()] ?? 'application/octet-stream',
    'content-security-policy': CONTENT_SECURITY_POLICY,
    'x-content-type-options': 'nosniff',
    'cache-control': 'no-cache',
  };
}

/** The handler for one request, separate from `protocol.handle` so tests can call it directly. */
export function appRequestHandler(
  rendererDir: string,
  read: (file: string) => Promise<Uint8Array> = readFile,
): (request: Request) => Promise<Response> {
  const root = path.resolve(rendererDir);
  return async (request) => {
    if (request.method !== 'GET' && request.method !== 'HEAD') return new Response(null, { status: 405 });
    const file = appFilePath(root, request.url);
    if (!file) return new Response(null, { status: 404 });
    let body: Uint8Array;
    try {
      body = await read(file);
    } catch {
      return new Response(null, { status: 404 });
    }
    return new Response(request.method === 'HEAD' ? null : (body as Uint8Array<ArrayBuffer>), { status: 200, headers: appResponseHeaders(file) });
  };
}

export function serveAppProtocol(protocol: ProtocolLike, rendererDir: string): void {
  protocol.handle(APP_SCHEME, appRequestHandler(rendererDir));
}
