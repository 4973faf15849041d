import path from 'node:path';
import { navigate } from '../main/oauth/support.js';

/**
 * A stand-in for the system browser in tests that cannot click through pages: it follows the authorize
 * redirect (the sandbox completes a consent arranged through its control API at once) to the loopback
 * callback, sending the headers a real browser sends on that navigation. Usable as a function, and as the
 * program given to `relink connect --browser "tsx test/support/headless-browser.ts"`.
 */
export async function followAuthorize(url: string, maxHops = 5): Promise<{ status: number; body: string; url: string }> {
  let current = url;
  for (let hop = 0; hop < maxHops; hop++) {
    const res = await navigate(current);
    const location = res.headers.location;
    if (res.status >= 300 && res.status < 400 && typeof location === 'string') {
      current = new URL(location, current).toString();
      continue;
    }
    return { status: res.status, body: res.body, url: current };
  }
  throw new Error('Too many redirects while following the authorize URL.');
}

const self = process.argv[1] ? path.resolve(process.argv[1]) : '';
if (self.endsWith(`${path.sep}headless-browser.ts`)) {
  const url = process.argv[2];
  if (!url) {
    process.stderr.write('usage: headless-browser URL\n');
    process.exit(2);
  }
  followAuthorize(url).then(
    (r) => process.exit(r.status === 200 ? 0 : 1),
    (err: unknown) => {
      process.stderr.write(`headless-browser: ${(err as Error).message}\n`);
      process.exit(1);
    },
  );
}
