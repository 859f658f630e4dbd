import { boundedMemo } from '../bounded-memo.js';
import { badInput, quote } from '../errors.js';

/**
 * Relay global IDs: base64url of `Typename:<JSON array of native key parts>`, e.g.
 * `NodeRestore:["aiven-prod","my-project","pg-1","pg-1-1"]`. Opaque to clients, stable across
 * restarts and instances, and decodable without a lookup (the source name comes first).
 */
export function encodeGlobalId(typename: string, localId: string): string {
  return Buffer.from(`${typename}:${localId}`, 'utf8').toString('base64url');
}

export function globalId(typename: string, parts: readonly (string | number)[]): string {
  return encodeGlobalId(typename, JSON.stringify(parts));
}

export interface DecodedId {
  typename: string;
  /** The local id (a JSON array string). */
  id: string;
  parts: (string | number)[];
}

/**
 * Just the typename of a global ID, from its first bytes (resolving a union or interface member
 * for every object of a list would otherwise decode and parse whole IDs); undefined when it is not one.
 * Remembered: graphql-js asks it (isTypeOf) for every object of every answer.
 */
export const typenameOfGlobalId: (id: string) => string | undefined = boundedMemo((id: string) => {
  // 64 base64 characters are 48 bytes: longer than any typename and its colon.
  const head = Buffer.from(id.slice(0, 64), 'base64url').toString('latin1');
  const colon = head.indexOf(':');
  if (colon <= 0) return undefined;
  const typename = head.slice(0, colon);
  return /^[A-Z][A-Za-z0-9]*$/.test(typename) ? typename : undefined;
});

export function decodeGlobalId(id: string): DecodedId {
  const text = Buffer.from(id, 'base64url').toString('utf8');
  const colon = text.indexOf(':');
  const typename = colon > 0 ? text.slice(0, colon) : '';
  const local = text.slice(colon + 1);
  let parts: unknown;
  try {
    parts = JSON.parse(local);
  } catch {
    parts = undefined;
  }
  if (!/^[A-Z][A-Za-z0-9]*$/.test(typename) || !Array.isArray(parts) || parts.length === 0) {
    throw badInput(`Invalid ID: ${quote(id)} is not an ID issued by this gateway`, { argument: 'id' });
  }
  return { typename, id: local, parts: parts as (string | number)[] };
}
