import { describe, expect, it } from 'vitest';
import {
  REDACTED,
  SecretRedactor,
  forgetSecret,
  redactSecrets,
  redactUserData,
  redactValue,
  registerSecret,
  userTextIn,
} from '../../../main/core/redact.js';

// A realistic RS256 access token shape (header.payload.signature), not a real token.
const JWT =
  'eyJhbGciOiJSUzI1NiIsImtpZCI6IjFDQUY4RTY2NzcyRDZEQzAyOEQ2NzI2RkQwMjYxNTgxNTcwRUZDMTkiLCJ0eXAiOiJKV1QifQ' +
  '.eyJuYmYiOjE3MDAwMDAwMDAsImV4cCI6MTcwMDAwMTgwMCwiaXNzIjoiaHR0cHM6Ly9pZGVudGl0eS54ZXJvLmNvbSJ9' +
  '.dGhpc2lzbm90YXJlYWxzaWduYXR1cmVidXRpdGhhc3RoZXJpZ2h0c2hhcGVfLQ';
const HEX_RT = '7f3a9c1e5b2d4f6a8c0e1f3a5b7d9c2e4f6a8b0c1d3e5f7a9b2c4d6e8f0a1b3c5d';
/** What the sandbox mints for refresh tokens and client secrets (randomBytes(32).toString('base64url')). */
const B64_RT = 'q3Zr8KfXw1Lm0TbVn5YcHs2Ea7UoJd9GiRkPx4NtWe6';

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

  it('keeps ids, names and slugs with digits whole: "Harbour Practice Sync 2024 Edition Plus" and its id', () => {
    // The id Relink makes from that name: lower case and digits, 39 characters. It used to print as [REDACTED].
    const line = 'Added Harbour Practice Sync 2024 Edition Plus (harbour-practice-sync-2024-edition-plus), PKCE app.';
    expect(redactSecrets(line)).toBe(line);
    for (const text of [
      'relink connect harbour-practice-sync-2024-edition-plus-2',
      'app harbour_practice_sync_2024_edition_plus_reporting',
      'HarbourPracticeSync2024EditionPlus QuarterlyReconciliationChecklistForBaysideBakery',
      'sub 0123456789abcdef0123456789abcdef session 0123456789ABCDEF0123456789ABCDEF',
      'file relink.json.damaged-2026-03-01.09-00-00-000',
      'host harbourpracticesync.reportingbridge.examplecompany.example',
    ]) {
      expect(redactSecrets(text), text).toBe(text);
    }
  });

  it("redacts random base64url material (the sandbox's refresh tokens and secrets), not only hex", () => {
    expect(redactSecrets(`rotated to ${B64_RT} ok`)).toBe(`rotated to ${REDACTED} ok`);
  });

  it('redacts Authorization headers with other schemes, and keeps the word in prose', () => {
    expect(redactSecrets('Authorization: Digest abc123')).toBe(`Authorization: Digest ${REDACTED}`);
    expect(redactSecrets('authorization=tok3n-value')).toBe(`authorization=${REDACTED}`);
    expect(redactSecrets('Authorization: Bearer of bad news')).toBe('Authorization: Bearer of bad news');
  });

  it('a Basic credential must decode to user:password', () => {
    expect(redactSecrets('plan Basic Edition2024 for Acme')).toBe('plan Basic Edition2024 for Acme');
    expect(redactSecrets(`Basic ${Buffer.from('ABCDEF0123:s3cr3t-value').toString('base64')}`)).toBe(`Basic ${REDACTED}`);
  });

  it('returns text without secrets unchanged', () => {
    const text = 'Refreshed 41 organisations for Jane Doe (invalid_grant on 2: password changed?)';
    expect(redactSecrets(text)).toBe(text);
  });
});

describe('text a person entered (keep) and exports of the firm\'s own data (redactUserData)', () => {
  const url = 'https://go.payroll.example/reconnect?code=HF-2024&token=abc123XYZ&org=7f3a9c1e5b2d4f6a8c0e1f3a5b7d9c2e4f6a8b0c';
  const note = 'password: ask Jane; secret=the blue folder; Bearer Token2024Ltd is the client';

  it('the context shapes leave kept text alone, and still scrub the rest of the line', () => {
    const line = `  [ ] Payroll — Acme — ${url} — ${note} (refresh_token=zzzz1111)`;
    expect(redactSecrets(line, { keep: [url, note] })).toBe(`  [ ] Payroll — Acme — ${url} — ${note} (refresh_token=${REDACTED})`);
    // Without keep, the same line loses the address and the note: what the CLI used to print.
    expect(redactSecrets(line)).not.toContain(url);
    expect(redactSecrets(line)).not.toContain(note);
  });

  it('registered values and JWTs are removed even from kept text', () => {
    const r = new SecretRedactor();
    r.register('registered-secret-1');
    const text = `note: pasted registered-secret-1 and ${JWT} here`;
    expect(r.redact(text, { keep: [text] })).toBe(`note: pasted ${REDACTED} and ${REDACTED} here`);
  });

  it('a kept word does not shield a secret that merely follows it', () => {
    expect(redactSecrets('Authorization: Bearer abc123DEF456ghi789', { keep: ['Bearer', 'Authorization'] })).toBe(`Authorization: Bearer ${REDACTED}`);
  });

  it('redactUserData keeps addresses and notes exactly, and removes registered secrets, JWTs and Basic credentials', () => {
    expect(redactUserData(url)).toBe(url);
    expect(redactUserData(note)).toBe(note);
    expect(redactUserData(`id ${HEX_RT} and ${B64_RT}`)).toBe(`id ${HEX_RT} and ${B64_RT}`);
    expect(redactUserData(`a ${JWT} b`)).toBe(`a ${REDACTED} b`);
    expect(redactUserData('Basic Y2xpZW50OnNlY3JldA==')).toBe(`Basic ${REDACTED}`);
    registerSecret('a-registered-refresh-token');
    try {
      expect(redactUserData('note a-registered-refresh-token')).toBe(`note ${REDACTED}`);
    } finally {
      forgetSecret('a-registered-refresh-token');
    }
  });

  it('userTextIn collects names, addresses and notes by key, not messages', () => {
    const found = userTextIn({ tracked: [{ app: 'Payroll', reconnectUrl: url, notes: note, reason: 'refresh_token=x' }], staff: { name: 'Jane', email: 'j@x' } });
    expect([...found].sort()).toEqual(['Jane', 'Payroll', 'j@x', note, url].sort());
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

  it('a slot remembers only the last few values of one rotating secret', () => {
    const r = new SecretRedactor();
    const tokens = ['rt-generation-1', 'rt-generation-2', 'rt-generation-3', 'rt-generation-4'];
    for (const t of tokens) r.register(t, 'grant:g1:rt');
    expect(r.size).toBe(3);
    expect(r.redact(tokens.join(' '))).toBe(`rt-generation-1 ${REDACTED} ${REDACTED} ${REDACTED}`);
    // Registering a value again moves it to the front instead of holding it twice.
    r.register('rt-generation-2', 'grant:g1:rt');
    r.register('rt-generation-5', 'grant:g1:rt');
    expect(r.redact('rt-generation-2 rt-generation-3')).toBe(`${REDACTED} rt-generation-3`);
  });

  it('a value held by a slot and elsewhere stays until every holder lets go', () => {
    const r = new SecretRedactor();
    r.register('shared-value-123');
    r.register('shared-value-123', 'slot-a');
    for (const v of ['other-value-1', 'other-value-2', 'other-value-3']) r.register(v, 'slot-a');
    expect(r.redact('shared-value-123')).toBe(REDACTED);
    r.forget('shared-value-123');
    expect(r.redact('shared-value-123')).toBe('shared-value-123');
  });

  it('finds registered values anywhere in long text among many registered values', () => {
    const r = new SecretRedactor();
    for (let i = 0; i < 2_000; i++) r.register(`token-${String(i).padStart(6, '0')}-tail`, `grant:${i}:rt`);
    const text = `${'x'.repeat(500)}token-001234-tail${'y'.repeat(500)}token-001999-tail`;
    expect(r.redact(text)).toBe(`${'x'.repeat(500)}${REDACTED}${'y'.repeat(500)}${REDACTED}`);
  });

  it('redactValue scrubs every string in a nested value and keeps the rest', () => {
    const r = new SecretRedactor();
    r.register('shhh-its-a-secret');
    const out = redactValue({ a: ['shhh-its-a-secret', 3], b: { c: `Bearer ${HEX_RT}`, d: null, e: true } }, r);
    expect(out).toEqual({ a: [REDACTED, 3], b: { c: `Bearer ${REDACTED}`, d: null, e: true } });
  });
});
