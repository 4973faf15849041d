import { createHash, randomBytes, randomUUID } from 'node:crypto';

/**
 * Identifier factories in Xero's shapes: tenant, user, connection and auth-event ids are UUIDs, `sub` and
 * session ids are 32 lowercase hex, client ids are 32 uppercase hex, refresh tokens and codes are opaque.
 *
 * A seeded factory derives every id from a name so that the demo seed is identical across runs (the same
 * organisation keeps the same tenantId, which makes screenshots, docs and bug reports comparable).
 */
export interface IdFactory {
  uuid(name?: string): string;
  hex32(name?: string): string;
  clientId(name?: string): string;
}

function uuidFromBytes(b: Buffer): string {
  const h = Buffer.from(b.subarray(0, 16));
  h[6] = (h[6]! & 0x0f) | 0x40;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const x = h.toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20, 32)}`;
}

export function randomIds(): IdFactory {
  return {
    uuid: () => randomUUID(),
    hex32: () => randomBytes(16).toString('hex'),
    clientId: () => randomBytes(16).toString('hex').toUpperCase(),
  };
}

/** Deterministic ids: the same (seed, name) always gives the same id. Unnamed calls count up. */
export function seededIds(seed: string): IdFactory {
  let counter = 0;
  const digest = (kind: string, name?: string) =>
    createHash('sha256')
      .update(`${seed}\0${kind}\0${name ?? `#${counter++}`}`)
      .digest();
  return {
    uuid: (name) => uuidFromBytes(digest('uuid', name)),
    hex32: (name) => digest('hex', name).subarray(0, 16).toString('hex'),
    clientId: (name) => digest('client', name).subarray(0, 16).toString('hex').toUpperCase(),
  };
}

/** Opaque, unguessable values: refresh tokens, codes, client secrets, consent-page request handles. */
export function opaque(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}
