import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SignJWT, jwtVerify } from 'jose';
import type { Caller } from './application/caller';
import { DomainError } from './domain/errors';

/** HS256 JWTs: `sub` (the actor), `account` (the tenant), `roles`. */
export class JwtAuthenticator {
  private readonly key: Uint8Array;

  constructor(secret: string) {
    this.key = new TextEncoder().encode(secret);
  }

  /** Verifies `Bearer <jwt>` and returns the caller; UNAUTHENTICATED for anything else. */
  async authenticate(authorization: string | undefined | null, requestId: string): Promise<Caller> {
    const match = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
    if (!match?.[1]) throw new DomainError('UNAUTHENTICATED', 'an Authorization: Bearer <JWT> header is required');
    let payload;
    try {
      ({ payload } = await jwtVerify(match[1], this.key, { algorithms: ['HS256'] }));
    } catch {
      throw new DomainError('UNAUTHENTICATED', 'the token is invalid or expired');
    }
    const { sub, account, roles = [] } = payload as { sub?: unknown; account?: unknown; roles?: unknown };
    if (typeof sub !== 'string' || sub === '' || typeof account !== 'string' || account === '') {
      throw new DomainError('UNAUTHENTICATED', 'the token must carry sub and account');
    }
    if (!Array.isArray(roles) || !roles.every((role) => typeof role === 'string')) {
      throw new DomainError('UNAUTHENTICATED', 'roles must be an array of strings');
    }
    return { sub, accountId: account, roles, requestId, ...(typeof payload.exp === 'number' ? { expiresAtMs: payload.exp * 1000 } : {}) };
  }

  /** Issues a token (for local development and tests). */
  async sign(claims: { sub: string; account: string; roles: string[] }, expiresIn = '30d'): Promise<string> {
    return new SignJWT({ account: claims.account, roles: claims.roles })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(claims.sub)
      .setIssuedAt()
      .setExpirationTime(expiresIn)
      .sign(this.key);
  }
}

/**
 * Outside production a newcomer has no JWT_SECRET: generate one into DATA_DIR on first start
 * (kept across restarts so issued tokens stay valid) and say so.
 */
export function developmentJwtSecret(dataDir: string): { secret: string; generated: boolean } {
  const file = join(dataDir, 'jwt-secret');
  if (existsSync(file)) return { secret: readFileSync(file, 'utf8').trim(), generated: false };
  mkdirSync(dataDir, { recursive: true });
  const secret = randomBytes(32).toString('base64url');
  writeFileSync(file, `${secret}\n`, { mode: 0o600 });
  return { secret, generated: true };
}
