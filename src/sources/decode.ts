import type { z } from 'zod';
import { boundedMemo } from '../bounded-memo.js';

/**
 * Reading one wire item with a (lenient) zod schema. The error names every bad field by its path
 * ("node_states[0].state: expected string, received number") and never quotes the values, which
 * may hold secrets.
 */
export function wireDecoder<Schema extends z.ZodType>(schema: Schema, what?: string): (raw: unknown) => z.output<Schema> {
  return (raw) => {
    const result = schema.safeParse(raw);
    if (result.success) return result.data;
    throw new Error(
      (what ? `malformed ${what}: ` : '') +
      result.error.issues
        .slice(0, 5)
        .map((issue) => `${formatPath(issue.path) || '(item)'}: ${issue.message}`)
        .join('; '),
    );
  };
}

function formatPath(path: readonly PropertyKey[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`)).join('');
}

/**
 * A vendor's timestamp as an ISO 8601 string in UTC, or null: absent, empty, unparseable, or at or
 * before the Unix epoch (Go's and .NET's zero times, 0001-01-01, mean "never"). Remembered, as a
 * listing repeats the same timestamps on every call.
 */
export function isoTimestamp(value: unknown): string | null {
  return typeof value === 'string' && value !== '' ? parseTimestamp(value) : null;
}

const parseTimestamp = boundedMemo((text: string) => {
  const ms = Date.parse(text);
  return Number.isNaN(ms) || ms <= 0 ? null : new Date(ms).toISOString();
});
