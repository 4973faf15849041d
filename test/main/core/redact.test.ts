import { describe, expect, it } from 'vitest';
import { REDACTED, SecretRedactor, redactSecrets, redactValue, registerSecret, forgetSecret } from '../../../main/core/redact.js';

// A realistic RS256 access token shape (header.payload.signature), not a real token.
const JWT =
  'eyJhbGciOiJSUzI1NiIsImtpZCI6IjFDQUY4RTY2NzcyRDZEQzAyOEQ2NzI2RkQwMjYxNTgxNTcwRUZDMTkiLCJ0eXAiOiJKV1QifQ' +
  '.eyJuYmYiOjE3MDAwMDAwMDAsImV4cCI6MTcwMDAwMTgwMCwiaXNzIjoiaHR0cHM6Ly9pZGVudGl0eS54ZXJvLmNvbSJ9' +
  '.dGhpc2lzbm90YXJlYWxzaWduYXR1cmVidXRpdGhhc3RoZXJpZ2h0c2hhcGVfLQ';
const HEX_RT = '7f3a9c1e5b2d4f6a8c0e1f3a5b7d9c2e4f6a8b0c1d3e5f7a9b2c4d6e8f0a1b3c5d';

describe('redactSecrets', () => {
  it('removes JWTs wherever they appear', () => {
    const out = redactSecrets(`token endpoint answered with ${JWT} after 120 ms`);
    expect(out).not.toContain('eyJhbGci');
    expect(out).toBe(`token endpoint answered with ${REDACTED} after 120 ms`);
  });

  it('removes three long dotted base64url parts even without the eyJ header', () => {
    const out = redactSecrets('x abcdefghijklmnopQRST.uvwxyzABCDEFGHIJ12.KLMNOPQRSTUVWXYZ34 y');
    expect(out).toBe(`x ${REDACTED} y`);
  });

  it('redacts Bearer and Basic credentials but keeps the scheme', () => {
    expect(redactSecrets('Authorization: Bearer abc123DEF456ghi789')).toBe(`Authorization: Bearer ${REDACTED}`);
    expect(redactSecrets('authorization: basic Y2xpZW50OnNlY3JldA==')).toBe(`authorization: basic ${REDACTED}`);
  });

  it('leaves prose that merely contains the words Basic or Bearer', () => {
    expect(redactSecrets('Basic information about the bearer of this note')).toBe(
      'Basic information about the bearer of this note',
    );
  });

  it('redacts credential-named pairs in query strings, forms and JSON, whatever their length', () => {
    expect(redactSecrets('grant_type=refresh_token&refresh_token=short1&client_id=ABC')).toBe(
      `grant_type=refresh_token&refresh_token=${REDACTED}&client_id=ABC`,
    );
    expect(redactSecrets('{"access_token":"xyz","expires_in":1800}')).toBe(`{"access_token":"${REDACTED}","expires_in":1800}`);
    expect(redactSecrets('http://127.0.0.1:5000/callback?code=4fa8&state=s1')).toBe(
      `http://127.0.0.1:5000/callback?code=${REDACTED}&state=s1`,
    );
    expect(redactSecrets('client_secret: hunter2')).toBe(`client_secret: ${REDACTED}`);
  });

  it('does not treat "status code: 401" as an authorization code', () => {
    expect(redactSecrets('status code: 401')).toBe('status code: 401');
  });

  it('redacts long opaque runs (hex refresh tokens, base64url) of 32+ characters', () => {
    expect(redactSecrets(`stored ${HEX_RT} for grant g1`)).toBe(`stored ${REDACTED} for grant g1`);
    expect(redactSecrets('v=Zk9yVGhlUmVjb3JkVGhpc0lzTm90QVNlY3JldA_x')).toBe(`v=${REDACTED}`);
  });

  it('keeps runs shorter than 32, UUIDs (tenant ids), client ids and lowercase slugs', () => {
    const tenant = '5b8e3a0f-1c2d-4e5f-8a9b-0c1d2e3f4a5b';
    const text = `org ${tenant} app 0123456789ABCDEF0123456789ABCDEF slug harbour-practice-sync-reporting-bridge short a1b2c3d4e5`;
    expect(redactSecrets(text)).toBe(text);
  });

  it('keeps UUIDs inside a longer run but still redacts opaque material next to them', () => {
    const tenant = '5b8e3a0f-1c2d-4e5f-8a9b-0c1d2e3f4a5b';
    expect(redactSecrets(`grant-${tenant}`)).toBe(`grant-${tenant}`);
    expect(redactSecrets(`${tenant}-${HEX_RT}`)).toBe(`${tenant}-${REDACTED}`);
  });

  it('returns text without secrets unchanged', () => {
    const text = 'Refreshed 41 organisations for Jane Doe (invalid_grant on 2: password changed?)';
    expect(redactSecrets(text)).toBe(text);
  });
});

describe('registered secrets', () => {
  it('redacts an exact registered value of any shape, everywhere, until forgotten', () => {
    const r = new SecretRedactor();
    expect(r.register('p@ss word!')).toBe(true);
    expect(r.redact('a p@ss word! b p@ss word!')).toBe(`a ${REDACTED} b ${REDACTED}`);
    r.forget('p@ss word!');
    expect(r.redact('a p@ss word!')).toBe('a p@ss word!');
  });

  it('refuses to register values too short to scrub safely', () => {
    const r = new SecretRedactor();
    expect(r.register('abc')).toBe(false);
    expect(r.size).toBe(0);
    expect(r.redact('abc')).toBe('abc');
  });

  it('replaces the longer of two overlapping secrets whole', () => {
    const r = new SecretRedactor();
    r.register('secret-part');
    r.register('secret-part-and-more');
    expect(r.redact('x secret-part-and-more y')).toBe(`x ${REDACTED} y`);
  });

  it('the process-wide registry backs redactSecrets', () => {
    registerSecret('client secret with spaces');
    try {
      expect(redactSecrets('oops: client secret with spaces')).toBe(`oops: ${REDACTED}`);
    } finally {
      forgetSecret('client secret with spaces');
    }
    expect(redactSecrets('oops: client secret with spaces')).toBe('oops: client secret with spaces');
  });

  it('redactValue scrubs every string in a nested value and keeps the rest', () => {
    const r = new SecretRedactor();
    r.register('shhh-its-a-secret');
    const out = redactValue({ a: ['shhh-its-a-secret', 3], b: { c: `Bearer ${HEX_RT}`, d: null, e: true } }, r);
    expect(out).toEqual({ a: [REDACTED, 3], b: { c: `Bearer ${REDACTED}`, d: null, e: true } });
  });
});
