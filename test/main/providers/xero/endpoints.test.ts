import { describe, expect, it } from 'vitest';
import {
  accountingUrl,
  connectionsUrl,
  connectionUrl,
  discoveryUrl,
  isAllowedEndpoint,
  providerFor,
  sandboxProvider,
  XERO_PRODUCTION,
} from '../../../../main/providers/xero/endpoints.js';
import { useSandbox } from '../../../support/use-sandbox.js';

/** Provider configuration: Xero's hosts by default, one loopback origin for the sandbox (xero-protocol.md §1). */

describe('Xero itself', () => {
  it('issuer identity.xero.com, API api.xero.com, discovery under the issuer', () => {
    expect(XERO_PRODUCTION).toMatchObject({ issuer: 'https://identity.xero.com', apiBase: 'https://api.xero.com', sandbox: false });
    expect(discoveryUrl(XERO_PRODUCTION)).toBe('https://identity.xero.com/.well-known/openid-configuration');
  });

  it('accepts discovered endpoints only on login.xero.com and identity.xero.com over https', () => {
    expect(isAllowedEndpoint(XERO_PRODUCTION, 'https://login.xero.com/identity/connect/authorize')).toBe(true);
    expect(isAllowedEndpoint(XERO_PRODUCTION, 'https://identity.xero.com/connect/token')).toBe(true);
    expect(isAllowedEndpoint(XERO_PRODUCTION, 'http://identity.xero.com/connect/token')).toBe(false);
    expect(isAllowedEndpoint(XERO_PRODUCTION, 'https://identity.xero.com.evil.example/connect/token')).toBe(false);
    expect(isAllowedEndpoint(XERO_PRODUCTION, 'https://user:pw@identity.xero.com/connect/token')).toBe(false);
    expect(isAllowedEndpoint(XERO_PRODUCTION, 'not a url')).toBe(false);
  });

  it('builds API URLs', () => {
    expect(connectionsUrl('https://api.xero.com/')).toBe('https://api.xero.com/connections');
    expect(connectionsUrl('https://api.xero.com', '242dc5b2-20e3-4ac5-9657-a10b9e24db55')).toBe(
      'https://api.xero.com/connections?authEventId=242dc5b2-20e3-4ac5-9657-a10b9e24db55',
    );
    expect(connectionUrl('https://api.xero.com', 'a/b')).toBe('https://api.xero.com/connections/a%2Fb');
    expect(accountingUrl('https://api.xero.com', 'Reports/BalanceSheet')).toBe('https://api.xero.com/api.xro/2.0/Reports/BalanceSheet');
  });

  it('providerFor an app record picks production or the sandbox', () => {
    expect(providerFor({ issuer: 'https://identity.xero.com/', apiBase: 'https://api.xero.com' })).toBe(XERO_PRODUCTION);
    expect(providerFor({ issuer: 'http://127.0.0.1:4417', apiBase: 'http://127.0.0.1:4417/' })).toMatchObject({ sandbox: true, apiBase: 'http://127.0.0.1:4417' });
    expect(() => providerFor({ issuer: 'http://127.0.0.1:4417', apiBase: 'http://127.0.0.1:9999' })).toThrow(/sandbox origin/);
    expect(() => providerFor({ issuer: 'https://identity.example.com', apiBase: 'https://api.xero.com' })).toThrow(/this computer/);
  });
});

describe('the sandbox', () => {
  it('points issuer and API at one loopback origin', () => {
    expect(sandboxProvider('http://127.0.0.1:4417')).toEqual({
      issuer: 'http://127.0.0.1:4417',
      apiBase: 'http://127.0.0.1:4417',
      allowedOrigins: ['http://127.0.0.1:4417'],
      sandbox: true,
    });
    expect(sandboxProvider('http://localhost:4417/').issuer).toBe('http://localhost:4417');
  });

  it.each(['http://192.168.1.10:4417', 'http://127.0.0.1:4417/sub', 'ftp://127.0.0.1', 'nonsense'])('refuses %s', (origin) => {
    expect(() => sandboxProvider(origin)).toThrow();
  });

  const sb = useSandbox();
  it("accepts every endpoint in the running sandbox's discovery document, and nothing elsewhere", async () => {
    const config = sandboxProvider(sb.origin);
    const doc = (await (await fetch(discoveryUrl(config))).json()) as Record<string, unknown>;
    expect(doc.issuer).toBe(config.issuer);
    for (const key of ['authorization_endpoint', 'token_endpoint', 'userinfo_endpoint', 'revocation_endpoint', 'jwks_uri']) {
      expect(isAllowedEndpoint(config, String(doc[key])), key).toBe(true);
    }
    expect(isAllowedEndpoint(config, 'https://identity.xero.com/connect/token')).toBe(false);
  });
});
