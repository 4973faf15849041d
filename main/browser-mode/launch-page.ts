import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

/**
 * The window's address carries this run's key (`#key=…`). Handing it to the browser on its command line
 * would let any other user of the computer read it from the process list, so the browser is given instead a
 * small page only this user can read (0600, in a 0700 folder), which sends it on to the address. The same
 * approach Jupyter uses. The page is removed when Relink stops.
 */
export interface LaunchPage {
  /** `file://` URL of the page. */
  url: string;
  remove(): void;
}

export function writeLaunchPage(dataDir: string, appUrl: string): LaunchPage {
  const target = new URL(appUrl);
  if (target.protocol !== 'http:' || target.hostname !== '127.0.0.1') throw new Error('The launch page only points at Relink on 127.0.0.1.');
  const dir = path.join(dataDir, 'browser-mode');
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  fs.chmodSync(dir, 0o700);
  const file = path.join(dir, 'open-relink.html');
  const href = escapeHtml(target.href);
  const html =
    '<!doctype html><html lang="en"><head><meta charset="utf-8">' +
    `<meta http-equiv="refresh" content="0;url=${href}">` +
    '<meta name="referrer" content="no-referrer"><title>Opening Relink…</title></head>' +
    `<body><p>Opening Relink… If nothing happens, <a href="${href}">open Relink</a>.</p></body></html>`;
  // Replace any page of an earlier run; created owner-only before the key is written into it.
  fs.rmSync(file, { force: true });
  fs.writeFileSync(file, html, { mode: 0o600, flag: 'wx' });
  return {
    url: pathToFileURL(file).href,
    remove: () => fs.rmSync(file, { force: true }),
  };
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
