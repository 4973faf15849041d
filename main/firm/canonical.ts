/**
 * Canonical byte strings for everything the firm's cryptography binds to a ciphertext: AES-GCM associated data,
 * HKDF `info`, the diagnostic checks of secret-box.ts and firm-key.ts.
 *
 * Why its own file: "grant:" + id + ":" + generation is not a binding. Two different (id, generation) pairs can
 * concatenate to the same string (`a:1` + `2` vs `a` + `:12`), and a ciphertext sealed for one would then open
 * as the other. Here every field carries a type tag and, for text and bytes, a 4-byte length, so the encoding
 * is injective: two different field lists never give the same bytes. Every encoding starts with a label naming
 * Relink, the purpose and a version, so bytes made for one purpose are never valid for another.
 *
 * Pure: node:buffer only, no I/O, no secrets kept.
 */

/** A field: text (UTF-8), raw bytes, or an unsigned integer of 32 or 64 bits (big-endian). */
export type CanonicalField = string | Buffer | { readonly u32: number } | { readonly u64: number };

const TAG_TEXT = 0x01;
const TAG_BYTES = 0x02;
const TAG_U32 = 0x03;
const TAG_U64 = 0x04;

/** `label` first, then each field: tag byte, then a u32 length and the bytes, or the fixed-width integer. */
export function canonical(label: string, ...fields: CanonicalField[]): Buffer {
  const parts: Buffer[] = [];
  for (const field of [label, ...fields]) parts.push(encodeField(field));
  return Buffer.concat(parts);
}

function encodeField(field: CanonicalField): Buffer {
  if (typeof field === 'string') return lengthPrefixed(TAG_TEXT, utf8(field));
  if (Buffer.isBuffer(field)) return lengthPrefixed(TAG_BYTES, field);
  if ('u32' in field) {
    if (!Number.isInteger(field.u32) || field.u32 < 0 || field.u32 > 0xffff_ffff) {
      throw new RangeError('A 32-bit field of a binding is out of range');
    }
    const out = Buffer.alloc(5);
    out[0] = TAG_U32;
    out.writeUInt32BE(field.u32, 1);
    return out;
  }
  if (!Number.isSafeInteger(field.u64) || field.u64 < 0) throw new RangeError('A 64-bit field of a binding is out of range');
  const out = Buffer.alloc(9);
  out[0] = TAG_U64;
  out.writeBigUInt64BE(BigInt(field.u64), 1);
  return out;
}

function lengthPrefixed(tag: number, bytes: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head[0] = tag;
  head.writeUInt32BE(bytes.length, 1);
  return Buffer.concat([head, bytes]);
}

/**
 * UTF-8 of well-formed text only: a lone surrogate would be encoded as U+FFFD, and two different strings would
 * then bind the same bytes.
 */
function utf8(text: string): Buffer {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.toString('utf8') !== text) throw new TypeError('A text field of a binding is not well-formed Unicode');
  return bytes;
}
