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
  /** JWTs from an issuer's JWKS, the role in a claim (`viewer` or `operator`). */
  jwt?: { jwksUrl: string; issuer: string; audience?: string | undefined; roleClaim: string } | undefined;
  /** The role of a caller that sends no key; `none` refuses them (401 / 4401). */
  anonymousRole: Role | 'none';
}

export const OPEN_AUTH: AuthConfig = { keys: [], anonymousRole: 'viewer' };

/** `caller` names who asked without revealing the key: "key#2", or "anonymous" (for per-caller budgets). */
export type Identity = { role: Role; caller: string } | { refused: 'missing' | 'invalid' };

export class Authenticator {
  private readonly digests: Array<{ digest: Buffer; role: Role }>;
  /**
   * jose fetches the issuer's keys when first needed and caches them (refetching on an unknown kid).
   * jose itself is loaded only when JWTs are configured.
   */
  private readonly verifier: Promise<{ verify: typeof import('jose').jwtVerify; keys: ReturnType<typeof import('jose').createRemoteJWKSet> }> | undefined;

  constructor(readonly config: AuthConfig) {
    this.digests = config.keys.map(({ key, role }) => ({ digest: digest(key), role }));
    const jwt = config.jwt;
    this.verifier = jwt ? import('jose').then((jose) => ({ verify: jose.jwtVerify, keys: jose.createRemoteJWKSet(new URL(jwt.jwksUrl)) })) : undefined;
  }

  get keyed(): boolean {
    return this.digests.length > 0;
  }

  /** From an `Authorization: Bearer <key or JWT>` value (or a bare one, as graphql-ws payloads carry it). */
  async identify(credential: string | null | undefined): Promise<Identity> {
    const key = credential?.replace(/^Bearer\s+/i, '').trim();
    if (!key) return this.config.anonymousRole === 'none' ? { refused: 'missing' } : { role: this.config.anonymousRole, caller: 'anonymous' };
    // Every configured key is compared, in constant time, whatever matches first.
    const offered = digest(key);
    let found: { role: Role; caller: string } | undefined;
    this.digests.forEach((entry, i) => {
      if (timingSafeEqual(entry.digest, offered) && found === undefined) found = { role: entry.role, caller: `key#${i + 1}` };
    });
    return found ?? (this.verifier && key.split('.').length === 3 ? this.verifyJwt(key) : { refused: 'invalid' });
  }

  private async verifyJwt(token: string): Promise<Identity> {
    const jwt = this.config.jwt!;
    try {
      const { verify, keys } = await this.verifier!;
      const { payload } = await verify(token, keys, { issuer: jwt.issuer, ...(jwt.audience ? { audience: jwt.audience } : {}) });
      const role = payload[jwt.roleClaim];
      if (role !== 'viewer' && role !== 'operator') return { refused: 'invalid' };
      return { role, caller: `jwt:${String(payload.sub ?? 'unknown').slice(0, 64)}` };
    } catch {
      return { refused: 'invalid' }; // expired, wrong issuer or audience, bad signature: all "not valid"
    }
  }
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}
