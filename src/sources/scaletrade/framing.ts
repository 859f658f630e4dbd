/**
 * CRLF framing of the ScaleTrade TCP protocol (docs/upstreams/scaletrade.md, "Transports"): one
 * JSON value per line, `\r\n` terminated, no length prefix. Shared by the client connection and
 * the simulator so that both sides split the same way.
 */

export const CRLF = '\r\n';
const CR = 0x0d;
const LF = 0x0a;

/** The vendor's JS client refuses to send more than this in one message. */
export const DEFAULT_MAX_FRAME_BYTES = 64 * 1024;
/** The vendor's JS client caps what it buffers while waiting for a line end. */
export const DEFAULT_MAX_RECEIVE_BYTES = 10 * 1024 * 1024;

export class FrameOverflowError extends Error {
  constructor(readonly bytes: number, readonly limit: number) {
    super(`received frame exceeds ${limit} bytes without a line end`);
  }
}

/**
 * Splits a byte stream into lines. Keeps the partial tail between chunks (as Buffers, so that a
 * multi-byte character cut by a chunk boundary is decoded whole), handles a CRLF cut between
 * `\r` and `\n`, skips empty lines, and throws FrameOverflowError once a line grows past the cap.
 */
export class LineDecoder {
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  constructor(private readonly maxLineBytes: number = DEFAULT_MAX_RECEIVE_BYTES) {}

  push(chunk: Buffer): string[] {
    const lines: string[] = [];
    let start = 0;
    const last = this.pending.at(-1);
    if (last && last[last.length - 1] === CR && chunk[0] === LF) {
      this.pending[this.pending.length - 1] = last.subarray(0, last.length - 1);
      this.pendingBytes -= 1;
      this.emit(lines, Buffer.alloc(0));
      start = 1;
    }
    for (let end = chunk.indexOf(CRLF, start); end >= 0; end = chunk.indexOf(CRLF, start)) {
      this.emit(lines, chunk.subarray(start, end));
      start = end + 2;
    }
    if (start < chunk.length) {
      const rest = chunk.subarray(start);
      this.pending.push(rest);
      this.pendingBytes += rest.length;
      if (this.pendingBytes > this.maxLineBytes) {
        const bytes = this.pendingBytes;
        this.reset();
        throw new FrameOverflowError(bytes, this.maxLineBytes);
      }
    }
    return lines;
  }

  /** Bytes waiting for their line end. */
  get buffered(): number {
    return this.pendingBytes;
  }

  reset(): void {
    this.pending = [];
    this.pendingBytes = 0;
  }

  private emit(lines: string[], tail: Buffer): void {
    const bytes = this.pendingBytes + tail.length;
    const line = this.pending.length === 0 ? tail : Buffer.concat([...this.pending, tail], bytes);
    this.reset();
    if (bytes > this.maxLineBytes) throw new FrameOverflowError(bytes, this.maxLineBytes);
    if (bytes > 0) lines.push(line.toString('utf8'));
  }
}

/** One outgoing TCP frame. */
export function encodeLine(message: unknown): string {
  return JSON.stringify(message) + CRLF;
}
