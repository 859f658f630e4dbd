import { describe, expect, it } from 'vitest';
import { FrameOverflowError, LineDecoder } from '../src/sources/scaletrade/framing.js';

const frames = ['{"extID":"1","ok":true}', '{"event":"backup.progress","type":3,"data":{"message":"sauvegarde terminée ✓"}}', '["t","EURUSD",1.1,1.2,1]'];
const stream = Buffer.from(frames.map((f) => f + '\r\n').join(''));

describe('LineDecoder', () => {
  it('splits several frames arriving in one chunk', () => {
    expect(new LineDecoder().push(stream)).toEqual(frames);
  });

  it('reassembles frames cut at every byte position, including between \\r and \\n and inside a multi-byte character', () => {
    for (let cut = 1; cut < stream.length; cut++) {
      const decoder = new LineDecoder();
      const lines = [...decoder.push(stream.subarray(0, cut)), ...decoder.push(stream.subarray(cut))];
      expect(lines, `cut at ${cut}`).toEqual(frames);
      expect(decoder.buffered).toBe(0);
    }
  });

  it('handles a byte-by-byte stream and skips empty lines', () => {
    const decoder = new LineDecoder();
    const lines = [...Buffer.from('\r\n{"a":1}\r\n\r\n{"b":2}\r\n')].flatMap((byte) => decoder.push(Buffer.from([byte])));
    expect(lines).toEqual(['{"a":1}', '{"b":2}']);
  });

  it('keeps a bare \\r or \\n inside a frame (only CRLF ends one)', () => {
    expect(new LineDecoder().push(Buffer.from('a\rb\nc\r\n'))).toEqual(['a\rb\nc']);
  });

  it('throws FrameOverflowError when a line outgrows the cap, across chunks or within one', () => {
    const decoder = new LineDecoder(10);
    decoder.push(Buffer.from('123456'));
    expect(() => decoder.push(Buffer.from('7890X'))).toThrow(FrameOverflowError);
    expect(decoder.buffered).toBe(0);
    expect(() => new LineDecoder(10).push(Buffer.from('12345678901\r\n'))).toThrow(FrameOverflowError);
    expect(new LineDecoder(10).push(Buffer.from('1234567890\r\n'))).toEqual(['1234567890']);
  });
});
