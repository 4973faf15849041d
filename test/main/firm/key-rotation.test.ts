import { describe, expect, it } from 'vitest';
import { generateFirmKey } from '../../../main/firm/firm-key.js';
import { resealAll, type StoredSecret } from '../../../main/firm/key-rotation.js';
import { openSecret, sealSecret, type SecretPlace } from '../../../main/firm/secret-box.js';
import { expectNothingLeaks, thrown } from './leak-check.js';

function firm(count: number, key = generateFirmKey(), keyVersion = 1) {
  const plain = new Map<string, string>();
  const secrets: StoredSecret[] = [];
  for (let i = 0; i < count; i++) {
    const place: SecretPlace = i % 5 === 0 ? { kind: 'client-secret', id: `app-${i}`, generation: 0 } : { kind: 'refresh-token', id: `grant-${i}`, generation: i * 3 };
    const value = `secret-value-${i}-${'x'.repeat(i % 40)}`;
    plain.set(`${place.kind}/${place.id}`, value);
    secrets.push({ ...place, sealed: sealSecret(key, value, { ...place, keyVersion }) });
  }
  return { key, keyVersion, plain, secrets };
}

describe('resealAll', () => {
  it('re-seals every secret under the new key and version, same places, same values, fresh nonces', () => {
    const old = firm(60);
    const newKey = generateFirmKey();
    const result = resealAll({ oldKey: old.key, oldKeyVersion: 1, newKey, newKeyVersion: 2 }, old.secrets);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.resealed).toHaveLength(60);
    result.resealed.forEach((r, i) => {
      const before = old.secrets[i]!;
      expect({ kind: r.kind, id: r.id, generation: r.generation }).toEqual({ kind: before.kind, id: before.id, generation: before.generation });
      expect(r.sealed.keyVersion).toBe(2);
      expect(r.sealed.nonce.equals(before.sealed.nonce)).toBe(false);
      expect(openSecret(newKey, r.sealed, r)).toEqual({ ok: true, plaintext: old.plain.get(`${r.kind}/${r.id}`) });
    });
  });

  it('leaves the old key able to open nothing that was re-sealed', () => {
    const old = firm(20);
    const result = resealAll({ oldKey: old.key, oldKeyVersion: 1, newKey: generateFirmKey(), newKeyVersion: 2 }, old.secrets);
    if (!result.ok) throw new Error(result.message);
    for (const r of result.resealed) {
      const opened = openSecret(old.key, r.sealed, r);
      expect(opened).toMatchObject({ ok: false, reason: 'wrong-key' });
      expectNothingLeaks(opened, [...old.plain.values()]);
    }
  });

  it('re-seals nothing when any secret does not open under the old key, and says which', () => {
    const old = firm(10);
    const stranger = generateFirmKey();
    const secrets = [...old.secrets];
    secrets[3] = { ...secrets[3]!, sealed: sealSecret(stranger, 'foreign', { ...secrets[3]!, keyVersion: 1 }) };
    secrets[7] = { ...secrets[7]!, generation: secrets[7]!.generation + 1 };
    secrets[8] = { ...secrets[8]!, sealed: { ...secrets[8]!.sealed, keyVersion: 5 } };
    const result = resealAll({ oldKey: old.key, oldKeyVersion: 1, newKey: generateFirmKey(), newKeyVersion: 2 }, secrets);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.failures).toEqual([
      { kind: secrets[3]!.kind, id: secrets[3]!.id, generation: secrets[3]!.generation, reason: 'wrong-key' },
      { kind: secrets[7]!.kind, id: secrets[7]!.id, generation: secrets[7]!.generation, reason: 'wrong-binding' },
      { kind: secrets[8]!.kind, id: secrets[8]!.id, generation: secrets[8]!.generation, reason: 'wrong-key' },
    ]);
    expect(result.message).toMatch(/3 of 10 secrets did not open .* nothing was re-sealed/);
    expectNothingLeaks(result, [...old.plain.values(), 'foreign']);
  });

  it('handles an empty firm', () => {
    expect(resealAll({ oldKey: generateFirmKey(), oldKeyVersion: 1, newKey: generateFirmKey(), newKeyVersion: 2 }, [])).toEqual({ ok: true, resealed: [] });
  });

  it('refuses a version that does not go up, or the same key, with errors that show no key', () => {
    const oldKey = generateFirmKey();
    const errors = [
      thrown(() => resealAll({ oldKey, oldKeyVersion: 2, newKey: generateFirmKey(), newKeyVersion: 2 }, [])),
      thrown(() => resealAll({ oldKey, oldKeyVersion: 2, newKey: generateFirmKey(), newKeyVersion: 1 }, [])),
      thrown(() => resealAll({ oldKey, oldKeyVersion: 1, newKey: oldKey, newKeyVersion: 2 }, [])),
      thrown(() => resealAll({ oldKey: oldKey.export() as never, oldKeyVersion: 1, newKey: generateFirmKey(), newKeyVersion: 2 }, [])),
    ];
    for (const e of errors) {
      expect(e).toBeInstanceOf(Error);
      expectNothingLeaks(e, [oldKey.export()]);
    }
  });
});
