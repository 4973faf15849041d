import { describe, expect, it } from 'vitest';
import { canonical, type CanonicalField } from '../../../main/firm/canonical.js';

const hex = (label: string, ...fields: CanonicalField[]) => canonical(label, ...fields).toString('hex');

describe('canonical', () => {
  it('never gives two field lists the same bytes where joined strings would collide', () => {
    const lists: Array<[string, ...CanonicalField[]]> = [
      ['L', 'a:1', '2'],
      ['L', 'a', ':12'],
      ['L', 'a:12'],
      ['L', 'a:1', { u64: 2 }],
      ['L', 'a:1', { u32: 2 }],
      ['L', 'a:1', Buffer.from('2')],
      ['La', ':1', '2'],
      ['L', '', 'a:12'],
      ['L', 'a:12', ''],
    ];
    const all = lists.map(([label, ...fields]) => hex(label, ...fields));
    expect(new Set(all).size).toBe(lists.length);
  });

  it('is stable: a fixed layout of tag, length and bytes', () => {
    expect(hex('R', 'ab', { u32: 1 }, { u64: 2 }, Buffer.from([0xff]))).toBe(
      ['01', '00000001', '52', '01', '00000002', '6162', '03', '00000001', '04', '0000000000000002', '02', '00000001', 'ff'].join(''),
    );
  });

  it('refuses ill-formed text and out-of-range integers instead of encoding them ambiguously', () => {
    expect(() => canonical('L', 'a\ud800')).toThrow(TypeError);
    expect(() => canonical('L', { u32: -1 })).toThrow(RangeError);
    expect(() => canonical('L', { u32: 2 ** 32 })).toThrow(RangeError);
    expect(() => canonical('L', { u64: 2 ** 53 })).toThrow(RangeError);
    expect(() => canonical('L', { u64: 1.5 })).toThrow(RangeError);
  });
});
