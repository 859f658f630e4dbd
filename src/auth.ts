import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * Who may do what: API keys from the environment, each with a role. `viewer` may query and
 * subscribe; `operator` may also run mutations (and read secrets an upstream gives, such as
 * connection URIs). Without keys, callers get `anonymousRole` (viewer unless set on purpose).
 */
export type Role = 'viewer' | 'operator';
export const ROLES: readonly Role[] = ['viewer', 'operator'];

export interface AuthConfig {
  keys: Array<{ key: string; role: Role }>;
  /** The role of a caller that sends no key; `none` refuses them (401 / 4401). */
  anonymousRole: Role | 'none';
}

export const OPEN_AUTH: AuthConfig = { keys: [], anonymousRole: 'viewer' };

/** `caller` names who asked without revealing the key: "key#2", or "anonymous" (for per-caller budgets). */
export type Identity = { role: Role; caller: string } | { refused: 'missing' | 'invalid' };

export class Authenticator {
  private readonly digests: Array<{ digest: Buffer; role: Role }>;

  constructor(readonly config: AuthConfig) {
    this.digests = config.keys.map(({ key, role }) => ({ digest: digest(key), role }));
  }

  get keyed(): boolean {
    return this.digests.length > 0;
  }

  /** From an `Authorization: Bearer <key>` value (or a bare key, as graphql-ws payloads carry it). */
  identify(credential: string | null | undefined): Identity {
    const key = credential?.replace(/^Bearer\s+/i, '').trim();
    if (!key) return this.config.anonymousRole === 'none' ? { refused: 'missing' } : { role: this.config.anonymousRole, caller: 'anonymous' };
    // Every configured key is compared, in constant time, whatever matches first.
    const offered = digest(key);
    let found: { role: Role; caller: string } | undefined;
    this.digests.forEach((entry, i) => {
      if (timingSafeEqual(entry.digest, offered) && found === undefined) found = { role: entry.role, caller: `key#${i + 1}` };
    });
    return found ?? { refused: 'invalid' };
  }
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}
