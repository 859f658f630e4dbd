import { describe, expect, it } from 'vitest';
import { boundedMemo } from '../src/bounded-memo.js';
import { isoTimestamp } from '../src/sources/decode.js';

describe('boundedMemo', () => {
  it('computes once per distinct argument, undefined results included', () => {
    const calls: string[] = [];
    const memo = boundedMemo((key: string) => {
      calls.push(key);
      return key === 'none' ? undefined : key.length;
    });
    expect([memo('ab'), memo('ab'), memo('none'), memo('none'), memo('abc')]).toEqual([2, 2, undefined, undefined, 3]);
    expect(calls).toEqual(['ab', 'none', 'abc']);
  });

  it('stays bounded: once full it starts over', () => {
    const calls: number[] = [];
    const memo = boundedMemo((key: number) => {
      calls.push(key);
      return key * 2;
    }, 3);
    for (const key of [1, 2, 3, 1, 4, 1]) expect(memo(key)).toBe(key * 2);
    // 1, 2, 3 fill it; 1 is remembered; 4 starts a new cache; 1 is computed again.
    expect(calls).toEqual([1, 2, 3, 4, 1]);
  });
});

describe('isoTimestamp (every vendor’s timestamps)', () => {
  it('gives ISO 8601 in UTC, with milliseconds, whatever the vendor’s form', () => {
    expect(isoTimestamp('2026-11-24T03:00:00Z')).toBe('2026-11-24T03:00:00.000Z');
    expect(isoTimestamp('2026-11-24T04:00:00+01:00')).toBe('2026-11-24T03:00:00.000Z');
    expect(isoTimestamp('2026-11-24T03:00:00Z')).toBe('2026-11-24T03:00:00.000Z'); // remembered, same answer
  });

  it('is null for absent, empty, unparseable and zero times', () => {
    for (const value of [undefined, null, 12, '', 'yesterday', '0001-01-01T00:00:00Z', '0001-01-01T00:00:00', '1970-01-01T00:00:00Z']) {
      expect(isoTimestamp(value)).toBeNull();
    }
  });
});
