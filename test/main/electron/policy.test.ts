import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { appFilePath, CONTENT_SECURITY_POLICY, isAppUrl, mayNavigate, senderRefusal } from '../../../main/electron/policy.js';

describe('isAppUrl / mayNavigate', () => {
  it('accepts Relink’s own pages', () => {
    for (const url of ['app://relink/index.html', 'app://relink/', 'app://relink/index.html#/apps']) {
      expect(isAppUrl(url)).toBe(true);
      expect(mayNavigate(url)).toBe(true);
    }
  });

  it('refuses look-alikes, parsed not prefix-matched', () => {
    for (const url of [
      'app://relink.evil/index.html',
      'app://relink@evil/index.html',
      'app://evil@relink/index.html',
      'app://relink:1/index.html',
      'app://other/index.html',
      'apps://relink/index.html',
      'https://relink/index.html',
      'file:///app/relink/index.html',
      'about:blank',
      'javascript:alert(1)',
      'app:relink/index.html',
      '',
      'not a url',
    ]) {
      expect(isAppUrl(url), url).toBe(false);
      expect(mayNavigate(url), url).toBe(false);
    }
    expect(isAppUrl(undefined)).toBe(false);
  });
});

describe('senderRefusal', () => {
  const ok = { fromOurWindow: true, frameUrl: 'app://relink/index.html', isTopFrame: true };
  it('accepts only our window’s top frame on our page', () => {
    expect(senderRefusal(ok)).toBeNull();
    expect(senderRefusal({ ...ok, fromOurWindow: false })).toMatch(/not Relink’s window/);
    expect(senderRefusal({ ...ok, frameUrl: null })).toMatch(/gone/);
    expect(senderRefusal({ ...ok, isTopFrame: false })).toMatch(/embedded/);
    expect(senderRefusal({ ...ok, frameUrl: 'https://evil.example/x?token=abc' })).toBe('it came from https://evil.example, not from Relink’s own page');
  });
});

describe('appFilePath', () => {
  const root = path.resolve('/srv/relink/renderer');
  it('maps app://relink/ paths into the build folder', () => {
    expect(appFilePath(root, 'app://relink/index.html')).toBe(path.join(root, 'index.html'));
    expect(appFilePath(root, 'app://relink/')).toBe(path.join(root, 'index.html'));
    expect(appFilePath(root, 'app://relink/assets/index-abc.js?v=1#x')).toBe(path.join(root, 'assets', 'index-abc.js'));
    expect(appFilePath(root, 'app://relink/assets/a%20b.css')).toBe(path.join(root, 'assets', 'a b.css'));
  });

  it('never leaves the build folder', () => {
    for (const url of [
      'app://relink/../../etc/passwd',
      'app://relink/%2e%2e/%2e%2e/etc/passwd',
      'app://relink/..%2F..%2Fetc%2Fpasswd',
      'app://relink/..%5C..%5Cwindows%5Cwin.ini',
      'app://relink/assets/%00.js',
      'app://relink/%E0%A4%A',
      'app://other/index.html',
      'app://relink@other/index.html',
      'https://relink/index.html',
    ]) {
      const file = appFilePath(root, url);
      if (file !== null) expect(path.relative(root, file).startsWith('..'), url).toBe(false);
      else expect(file).toBeNull();
    }
    expect(appFilePath(root, 'app://relink/..%2F..%2Fetc%2Fpasswd')).toBeNull();
    expect(appFilePath(root, 'app://other/index.html')).toBeNull();
    expect(appFilePath(root, 'app://relink/assets/%00.js')).toBeNull();
  });
});

describe('CONTENT_SECURITY_POLICY', () => {
  it('lets the page load only its own files and talk to no server', () => {
    const directives = new Map(CONTENT_SECURITY_POLICY.split(';').map((d) => {
      const [name, ...values] = d.trim().split(/\s+/);
      return [name!, values];
    }));
    expect(directives.get('default-src')).toEqual(["'self'"]);
    expect(directives.get('script-src')).toEqual(["'self'"]);
    expect(directives.get('connect-src')).toEqual(["'none'"]);
    expect(directives.get('object-src')).toEqual(["'none'"]);
    expect(directives.get('base-uri')).toEqual(["'none'"]);
    expect(directives.get('frame-ancestors')).toEqual(["'none'"]);
  });
});
