import { describe, expect, it } from 'vitest';
import { generateFirmKey } from '../../../main/firm/firm-key.js';
import {
  INVITE_ALPHABET,
  INVITE_ENTROPY_BITS,
  INVITE_SCRYPT,
  INVITE_TTL_MS,
  createInvite,
  formatInviteCode,
  generateInviteCode,
  isPending,
  parseInviteCode,
  redeemInvite,
  spendInvite,
  type InviteCode,
  type InviteRecord,
} from '../../../main/firm/invite-code.js';
import { ManualClock } from '../../support/manual-clock.js';
import { expectNothingLeaks } from './leak-check.js';

/** Each invite costs one scrypt (128 MiB, ~⅓ s) to make and one per redeem: the tests share a few. */
async function invite(clock = new ManualClock({ now: Date.parse('2026-03-02T09:00:00.000Z') })) {
  const firmKey = generateFirmKey();
  const created = await createInvite({ firmKey, keyVersion: 4, firmId: 'firm-harbour-finch', clock });
  return { firmKey, clock, ...created };
}

function otherCode(code: InviteCode): string {
  const last = code[code.length - 1]!;
  const swap = INVITE_ALPHABET[(INVITE_ALPHABET.indexOf(last) + 1) % INVITE_ALPHABET.length]!;
  return code.slice(0, -1) + swap;
}

describe('invite codes', () => {
  it('are 12 characters of Crockford base32 (no I, L, O, U), shown as XXXX-XXXX-XXXX: 60 bits', () => {
    expect(INVITE_ALPHABET).toHaveLength(32);
    expect(INVITE_ALPHABET).not.toMatch(/[ILOU]/);
    expect(INVITE_ENTROPY_BITS).toBe(60);
    const seen = new Set<string>();
    for (let i = 0; i < 2_000; i++) {
      const code = generateInviteCode();
      expect(code).toMatch(/^[0-9A-HJKMNP-TV-Z]{12}$/);
      expect(formatInviteCode(code)).toMatch(/^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$/);
      seen.add(code);
    }
    expect(seen.size).toBe(2_000);
  });

  it('uses every character of the alphabet (uniform choice, no bias to a subset)', () => {
    const counts = new Map<string, number>();
    for (let i = 0; i < 1_000; i++) for (const c of generateInviteCode()) counts.set(c, (counts.get(c) ?? 0) + 1);
    expect(counts.size).toBe(32);
    // 12,000 characters over 32: 375 expected each; a grossly biased generator falls outside this.
    for (const n of counts.values()) expect(n).toBeGreaterThan(250);
  });

  it('parse tolerantly: case, spaces, missing or odd dashes, and I/L read as 1, O as 0', () => {
    const code = 'K7QM-2ZXD-90AB';
    const canonical = 'K7QM2ZXD90AB';
    for (const typed of [code, code.toLowerCase(), 'k7qm2zxd90ab', ' K7QM 2ZXD 90AB ', 'K7QM–2ZXD—90AB', 'k7qm-2zxd\t90ab\n', 'K7QM2ZXD-9OAB']) {
      expect(parseInviteCode(typed), JSON.stringify(typed)).toEqual({ ok: true, code: canonical });
    }
    expect(parseInviteCode('ABCD-EFGH-IJKL')).toEqual({ ok: true, code: 'ABCDEFGH1JK1' });
  });

  it('give a clear failure for a mistyped code, naming no character typed', () => {
    expect(parseInviteCode('')).toMatchObject({ ok: false, reason: 'empty' });
    expect(parseInviteCode('  - ')).toMatchObject({ ok: false, reason: 'empty' });
    const short = parseInviteCode('K7QM-2ZXD-90A');
    expect(short).toMatchObject({ ok: false, reason: 'wrong-length' });
    if (!short.ok) expect(short.message).toBe('An invite code has 12 characters (XXXX-XXXX-XXXX); this one has 11.');
    expect(parseInviteCode('K7QM-2ZXD-90ABC')).toMatchObject({ ok: false, reason: 'wrong-length' });
    const bad = parseInviteCode('K7QM-2UXD-90AB');
    expect(bad).toMatchObject({ ok: false, reason: 'bad-character' });
    if (!bad.ok) {
      expect(bad.message).toMatch(/^Character 6 of the code/);
      expectNothingLeaks(bad, ['K7QM', '2UXD', '90AB']);
    }
    expect(parseInviteCode('K7QM-2Z*D-90AB')).toMatchObject({ ok: false, reason: 'bad-character' });
    expect(parseInviteCode('K7QM-2ZßD-90A')).toMatchObject({ ok: false, reason: 'bad-character' });
  });
});

describe('invites', () => {
  it('store only a salt, a verifier and the wrapped key, with scrypt at N=2^17, r=8, p=1 and a 24 h expiry', async () => {
    const { code, record, firmKey, clock } = await invite();
    expect(record.kdf).toMatchObject({ name: 'scrypt', N: 2 ** 17, r: 8, p: 1 });
    expect(INVITE_SCRYPT).toEqual({ N: 131_072, r: 8, p: 1 });
    expect(record.kdf.salt).toHaveLength(16);
    expect(record.verifier).toHaveLength(32);
    expect(record.createdAt).toBe(new Date(clock.now()).toISOString());
    expect(Date.parse(record.expiresAt) - Date.parse(record.createdAt)).toBe(INVITE_TTL_MS);
    expect(record.used).toBe(false);
    // Neither the code nor the firm key, in any form, anywhere in the record.
    expectNothingLeaks(record, [code, formatInviteCode(code), firmKey.export()]);
    const bytes = Buffer.concat([record.kdf.salt, record.verifier, record.wrappedKey!.nonce, record.wrappedKey!.ciphertext]);
    expect(bytes.includes(firmKey.export())).toBe(false);
  });

  it('redeem with the right code (as typed, in any case) to the firm key, until 24 h have passed', async () => {
    const { code, record, firmKey, clock } = await invite();
    clock.advance(INVITE_TTL_MS - 1);
    const result = await redeemInvite(formatInviteCode(code).toLowerCase(), record, clock.now());
    expect(result.ok).toBe(true);
    if (result.ok) {
      expect(result.firmKey.equals(firmKey)).toBe(true);
      expect(result).toMatchObject({ keyVersion: 4, firmId: 'firm-harbour-finch' });
    }
    expect(isPending(record, clock.now())).toBe(true);
    clock.advance(1);
    expect(isPending(record, clock.now())).toBe(false);
    const expired = await redeemInvite(code, record, clock.now());
    expect(expired).toMatchObject({ ok: false, reason: 'expired' });
    expectNothingLeaks(expired, [code, firmKey.export()]);
  });

  it('refuse a wrong code, a mistyped one, and a used invite, as values', async () => {
    const { code, record, firmKey, clock } = await invite();
    const wrong = await redeemInvite(otherCode(code), record, clock.now());
    expect(wrong).toMatchObject({ ok: false, reason: 'wrong-code' });
    expectNothingLeaks(wrong, [code, otherCode(code), firmKey.export()]);
    expect(await redeemInvite(code.slice(0, 11), record, clock.now())).toMatchObject({ ok: false, reason: 'wrong-length' });
    expect(await redeemInvite(`U${code.slice(1)}`, record, clock.now())).toMatchObject({ ok: false, reason: 'bad-character' });

    const spent = spendInvite(record);
    expect(spent).toMatchObject({ used: true, wrappedKey: null });
    expect(await redeemInvite(code, spent, clock.now())).toMatchObject({ ok: false, reason: 'used' });
    expect(await redeemInvite(code, { ...record, used: true }, clock.now())).toMatchObject({ ok: false, reason: 'used' });
    await expect(redeemInvite(code, record, Number.NaN)).rejects.toThrow(TypeError);
    expect(isPending(spent, clock.now())).toBe(false);
  });

  it('refuse a record whose expiry, key, parameters or binding were altered', async () => {
    const { code, record, clock } = await invite();
    const later = new Date(Date.parse(record.expiresAt) + INVITE_TTL_MS).toISOString();
    const cases: Array<[string, InviteRecord]> = [
      ['expiry moved later', { ...record, expiresAt: later, createdAt: record.expiresAt }],
      ['ttl changed', { ...record, expiresAt: later }],
      ['cheaper scrypt', { ...record, kdf: { ...record.kdf, N: 2 ** 10 } }],
      ['short salt', { ...record, kdf: { ...record.kdf, salt: record.kdf.salt.subarray(0, 8) } }],
      ['short ciphertext', { ...record, wrappedKey: { ...record.wrappedKey!, ciphertext: record.wrappedKey!.ciphertext.subarray(1) } }],
      ['bad key version', { ...record, keyVersion: 0 }],
    ];
    for (const [what, altered] of cases) {
      expect(await redeemInvite(code, altered, clock.now()), what).toMatchObject({ ok: false, reason: 'tampered' });
    }
    // These need the code stretched (one scrypt each): the verifier passes, the authenticated wrap refuses.
    const flipped = Buffer.from(record.wrappedKey!.ciphertext);
    flipped[5] = flipped[5]! ^ 1;
    expect(await redeemInvite(code, { ...record, wrappedKey: { ...record.wrappedKey!, ciphertext: flipped } }, clock.now())).toMatchObject({
      ok: false,
      reason: 'tampered',
    });
    expect(await redeemInvite(code, { ...record, keyVersion: 5 }, clock.now())).toMatchObject({ ok: false, reason: 'tampered' });
  });

  it('make a different salt, verifier and code each time for the same firm key', async () => {
    const firmKey = generateFirmKey();
    const clock = new ManualClock();
    const a = await createInvite({ firmKey, keyVersion: 1, firmId: 'f', clock });
    const b = await createInvite({ firmKey, keyVersion: 1, firmId: 'f', clock });
    expect(a.code).not.toBe(b.code);
    expect(a.record.kdf.salt.equals(b.record.kdf.salt)).toBe(false);
    expect(a.record.verifier.equals(b.record.verifier)).toBe(false);
    // A's code does not open B's invite.
    expect(await redeemInvite(a.code, b.record, clock.now())).toMatchObject({ ok: false, reason: 'wrong-code' });
  });
});
