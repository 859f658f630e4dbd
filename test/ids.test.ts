import { describe, expect, it } from 'vitest';
import { decodeGlobalId, globalId, typenameOfGlobalId } from '../src/model/ids.js';

describe('global IDs', () => {
  it('round-trips typename and key parts, however long the key', () => {
    const id = globalId('NodeRestore', ['aiven-prod', 'my-project', 'pg-1', 'pg-1-1', 'x'.repeat(300)]);
    expect(decodeGlobalId(id)).toMatchObject({ typename: 'NodeRestore', parts: ['aiven-prod', 'my-project', 'pg-1', 'pg-1-1', 'x'.repeat(300)] });
  });

  it('reads just the typename from the first bytes, as the full decode does', () => {
    for (const typename of ['A', 'NodeRestore', 'AerospikeBackupRun', 'DocSpaceRestoreTaskWithAVeryLongName1']) {
      const id = globalId(typename, ['s', 'k']);
      expect(typenameOfGlobalId(id)).toBe(typename);
      expect(typenameOfGlobalId(id)).toBe(decodeGlobalId(id).typename);
    }
  });

  it('gives no typename for what is not an ID of this gateway', () => {
    expect(typenameOfGlobalId('')).toBeUndefined();
    expect(typenameOfGlobalId(Buffer.from('lowercase:["x"]').toString('base64url'))).toBeUndefined();
    expect(typenameOfGlobalId(Buffer.from('no colon at all').toString('base64url'))).toBeUndefined();
    expect(() => decodeGlobalId('not-an-id')).toThrow(/not an ID issued by this gateway/);
  });
});
