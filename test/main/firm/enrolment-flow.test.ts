import { describe, expect, it } from 'vitest';
import { exportDevicePublicKey, generateDeviceKeyPair, importDevicePublicKey } from '../../../main/firm/device-keys.js';
import { generateFirmKey, openSealedFirmKey, sealFirmKeyToDevice, type SealedFirmKey } from '../../../main/firm/firm-key.js';
import { createInvite, redeemInvite, spendInvite } from '../../../main/firm/invite-code.js';
import { resealAll, type StoredSecret } from '../../../main/firm/key-rotation.js';
import { openSecret, sealSecret } from '../../../main/firm/secret-box.js';
import { ManualClock } from '../../support/manual-clock.js';

/**
 * The pieces together, as the PostgreSQL side will use them: create a firm, invite and join a second desktop,
 * remove the first and rotate. "The database" is a plain object holding only what the firm tables would.
 */
describe('a firm, two desktops, one removal', () => {
  it('joins through the code, and a removed desktop opens nothing written after the rotation', async () => {
    const clock = new ManualClock();
    const firmId = 'firm-harbour-finch';
    const db = {
      devices: new Map<string, { publicKey: Buffer; sealed: SealedFirmKey }>(),
      secrets: [] as StoredSecret[],
    };

    // Desktop A creates the firm and enrols itself.
    const a = generateDeviceKeyPair();
    let firmKey = generateFirmKey();
    let keyVersion = 1;
    db.devices.set('A', { publicKey: exportDevicePublicKey(a.publicKey), sealed: sealFirmKeyToDevice(firmKey, a.publicKey, { firmId, deviceId: 'A', keyVersion }) });
    db.secrets.push({ kind: 'refresh-token', id: 'grant-1', generation: 1, sealed: sealSecret(firmKey, 'rt-grant-1-gen-1', { kind: 'refresh-token', id: 'grant-1', generation: 1, keyVersion }) });

    // A invites B; B redeems the code and enrols with its own key pair.
    const invite = await createInvite({ firmKey, keyVersion, firmId, clock });
    clock.advance(60 * 60 * 1000);
    const b = generateDeviceKeyPair();
    const redeemed = await redeemInvite(invite.code, invite.record, clock.now());
    if (!redeemed.ok) throw new Error(redeemed.message);
    const spent = spendInvite(invite.record);
    expect(spent.wrappedKey).toBeNull();
    db.devices.set('B', { publicKey: exportDevicePublicKey(b.publicKey), sealed: sealFirmKeyToDevice(redeemed.firmKey, b.publicKey, { firmId, deviceId: 'B', keyVersion }) });

    // B reads the grant A connected.
    const bKey = openSealedFirmKey(b.privateKey, db.devices.get('B')!.sealed, { firmId, deviceId: 'B', keyVersion });
    if (!bKey.ok) throw new Error(bKey.message);
    expect(openSecret(bKey.firmKey, db.secrets[0]!.sealed, db.secrets[0]!)).toEqual({ ok: true, plaintext: 'rt-grant-1-gen-1' });

    // B removes A: a new key, every secret re-sealed, sealed again to every remaining desktop, A's row gone.
    const newKey = generateFirmKey();
    const rotated = resealAll({ oldKey: bKey.firmKey, oldKeyVersion: keyVersion, newKey, newKeyVersion: keyVersion + 1 }, db.secrets);
    if (!rotated.ok) throw new Error(rotated.message);
    const aOldRow = db.devices.get('A')!;
    db.devices.delete('A');
    [firmKey, keyVersion] = [newKey, keyVersion + 1];
    db.secrets = rotated.resealed;
    for (const [deviceId, row] of db.devices) {
      const pub = importDevicePublicKey(row.publicKey);
      if (!pub.ok) throw new Error(pub.message);
      db.devices.set(deviceId, { ...row, sealed: sealFirmKeyToDevice(firmKey, pub.key, { firmId, deviceId, keyVersion }) });
    }
    // Then every grant is refreshed: a new generation, sealed under the new key.
    db.secrets[0] = { kind: 'refresh-token', id: 'grant-1', generation: 2, sealed: sealSecret(firmKey, 'rt-grant-1-gen-2', { kind: 'refresh-token', id: 'grant-1', generation: 2, keyVersion }) };

    // A kept its old sealed copy and opens the old firm key with it, but that key opens nothing in the firm now.
    const aKey = openSealedFirmKey(a.privateKey, aOldRow.sealed, { firmId, deviceId: 'A', keyVersion: 1 });
    if (!aKey.ok) throw new Error(aKey.message);
    for (const s of db.secrets) expect(openSecret(aKey.firmKey, s.sealed, s)).toMatchObject({ ok: false, reason: 'wrong-key' });
    // Nor does A's key open B's new sealed copy.
    expect(openSealedFirmKey(a.privateKey, db.devices.get('B')!.sealed, { firmId, deviceId: 'B', keyVersion })).toMatchObject({ ok: false, reason: 'wrong-device' });

    // B goes on.
    const bNew = openSealedFirmKey(b.privateKey, db.devices.get('B')!.sealed, { firmId, deviceId: 'B', keyVersion });
    expect(bNew.ok && openSecret(bNew.firmKey, db.secrets[0]!.sealed, db.secrets[0]!)).toEqual({ ok: true, plaintext: 'rt-grant-1-gen-2' });
  });
});
