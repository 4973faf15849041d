import { describe, expect, it } from 'vitest';
import { generateFirmKey } from '../../../main/firm/firm-key.js';
import { NONCE_BYTES, openSecret, sealSecret, secretBinding, type SealOptions, type SecretPlace } from '../../../main/firm/secret-box.js';
import { expectNothingLeaks, thrown } from './leak-check.js';

const TOKEN = 'rt-9f2c1d0e7b6a5f4e3d2c1b0a99887766554433221100ffeeddccbbaa';
const place: SecretPlace = { kind: 'refresh-token', id: 'grant-jane-sync', generation: 7 };
const options: SealOptions = { ...place, keyVersion: 3 };

function flipBit(buf: Buffer, index: number): Buffer {
  const copy = Buffer.from(buf);
  copy[index] = copy[index]! ^ 0x01;
  return copy;
}

describe('sealSecret / openSecret', () => {
  it('round-trips a refresh token and a client secret (Unicode included)', () => {
    const key = generateFirmKey();
    const sealed = sealSecret(key, TOKEN, options);
    expect(sealed.nonce).toHaveLength(NONCE_BYTES);
    expect(sealed.keyVersion).toBe(3);
    expect(sealed.ciphertext.includes(Buffer.from(TOKEN))).toBe(false);
    expect(openSecret(key, sealed, place)).toEqual({ ok: true, plaintext: TOKEN });

    const secretPlace: SecretPlace = { kind: 'client-secret', id: 'app-harbour-sync', generation: 0 };
    const s2 = sealSecret(key, 'sécret — ключ 🔑', { ...secretPlace, keyVersion: 1 });
    expect(openSecret(key, s2, secretPlace)).toEqual({ ok: true, plaintext: 'sécret — ключ 🔑' });
  });

  it('uses a fresh nonce on every seal: 1,000 seals of one secret, no nonce or ciphertext repeats', () => {
    const key = generateFirmKey();
    const nonces = new Set<string>();
    const ciphertexts = new Set<string>();
    for (let i = 0; i < 1_000; i++) {
      const sealed = sealSecret(key, TOKEN, options);
      nonces.add(sealed.nonce.toString('hex'));
      ciphertexts.add(sealed.ciphertext.toString('hex'));
    }
    expect(nonces.size).toBe(1_000);
    expect(ciphertexts.size).toBe(1_000);
  });

  it('fails as a value, "wrong-key", under another firm key', () => {
    const sealed = sealSecret(generateFirmKey(), TOKEN, options);
    const result = openSecret(generateFirmKey(), sealed, place);
    expect(result).toMatchObject({ ok: false, reason: 'wrong-key' });
    expectNothingLeaks(result, [TOKEN]);
  });

  it('fails as a value, "tampered", when any bit of the encrypted part, the tag or the nonce is flipped', () => {
    const key = generateFirmKey();
    const sealed = sealSecret(key, TOKEN, options);
    const header = 1 + 32 + 16;
    for (const index of [header, header + 10, sealed.ciphertext.length - 17, sealed.ciphertext.length - 1]) {
      const result = openSecret(key, { ...sealed, ciphertext: flipBit(sealed.ciphertext, index) }, place);
      expect(result, `bit flipped at byte ${index}`).toMatchObject({ ok: false, reason: 'tampered' });
      expectNothingLeaks(result, [TOKEN]);
    }
    for (let i = 0; i < NONCE_BYTES; i++) {
      expect(openSecret(key, { ...sealed, nonce: flipBit(sealed.nonce, i) }, place)).toMatchObject({ ok: false, reason: 'tampered' });
    }
  });

  it('never accepts ANY single-bit change of the stored bytes', () => {
    const key = generateFirmKey();
    const sealed = sealSecret(key, 'short-secret', options);
    for (let i = 0; i < sealed.ciphertext.length; i++) {
      const result = openSecret(key, { ...sealed, ciphertext: flipBit(sealed.ciphertext, i) }, place);
      expect(result.ok, `byte ${i}`).toBe(false);
    }
  });

  it('fails as a value, "wrong-binding", for another grant id, generation, kind or key version', () => {
    const key = generateFirmKey();
    const sealed = sealSecret(key, TOKEN, options);
    const others: SecretPlace[] = [
      { ...place, id: 'grant-tom-payroll' },
      { ...place, generation: 6 },
      { ...place, generation: 8 },
      { ...place, kind: 'client-secret' },
    ];
    for (const other of others) {
      const result = openSecret(key, sealed, other);
      expect(result, JSON.stringify(other)).toMatchObject({ ok: false, reason: 'wrong-binding' });
      expectNothingLeaks(result, [TOKEN]);
    }
    // The key version column rewritten (a row made to look current after a rotation).
    expect(openSecret(key, { ...sealed, keyVersion: 4 }, place)).toMatchObject({ ok: false, reason: 'wrong-binding' });
  });

  it('binds fields canonically: ids and generations that concatenate alike still differ', () => {
    const a = secretBinding({ kind: 'refresh-token', id: 'a:1', generation: 2 }, 1);
    const b = secretBinding({ kind: 'refresh-token', id: 'a', generation: 12 }, 1);
    const c = secretBinding({ kind: 'refresh-token', id: 'a:12', generation: 0 }, 1);
    expect(new Set([a, b, c].map((x) => x.toString('hex'))).size).toBe(3);
    const key = generateFirmKey();
    const sealed = sealSecret(key, TOKEN, { kind: 'refresh-token', id: 'a:1', generation: 2, keyVersion: 1 });
    expect(openSecret(key, sealed, { kind: 'refresh-token', id: 'a', generation: 12 })).toMatchObject({ ok: false, reason: 'wrong-binding' });
  });

  it('treats malformed stored values as failures, never throws for them', () => {
    const key = generateFirmKey();
    const sealed = sealSecret(key, TOKEN, options);
    const bad = [
      { ...sealed, ciphertext: Buffer.alloc(0) },
      { ...sealed, ciphertext: sealed.ciphertext.subarray(0, 40) },
      { ...sealed, ciphertext: Buffer.concat([Buffer.from([2]), sealed.ciphertext.subarray(1)]) },
      { ...sealed, nonce: sealed.nonce.subarray(0, 11) },
      { ...sealed, keyVersion: 0 },
      { ...sealed, keyVersion: 1.5 },
      { ...sealed, ciphertext: 'not a buffer' as unknown as Buffer },
      null as unknown as typeof sealed,
    ];
    for (const b of bad) expect(openSecret(key, b, place)).toMatchObject({ ok: false, reason: 'tampered' });
  });

  it('throws for programming errors only, and its messages show neither the secret nor the key', () => {
    const key = generateFirmKey();
    const keyBytes = key.export();
    const errors = [
      thrown(() => sealSecret(key, TOKEN, { ...options, id: '' })),
      thrown(() => sealSecret(key, TOKEN, { ...options, generation: -1 })),
      thrown(() => sealSecret(key, TOKEN, { ...options, keyVersion: 0 })),
      thrown(() => sealSecret(key, TOKEN, { ...options, kind: 'password' as never })),
      thrown(() => sealSecret(key, '', options)),
      thrown(() => sealSecret(keyBytes as never, TOKEN, options)),
      thrown(() => sealSecret(keyBytes.subarray(0, 31) as never, TOKEN, options)),
      thrown(() => sealSecret(key, TOKEN, { ...options, id: `bad\ud800id` })),
    ];
    for (const error of errors) {
      expect(error).toBeInstanceOf(Error);
      expectNothingLeaks(error, [TOKEN, keyBytes]);
    }
  });

  it('a firm key prints and serialises as nothing', () => {
    const key = generateFirmKey();
    expectNothingLeaks({ key, note: 'a log line with a key in it' }, [key.export()]);
  });
});
