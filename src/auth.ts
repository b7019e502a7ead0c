import type { KeyObject } from 'node:crypto';
import { createSecretKey, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SignJWT, jwtVerify } from 'jose';
import type { Caller } from './application/caller';
import { DomainError } from './domain/errors';
import { principalIdProblem } from './domain/rules/principalId';

type Identity = Omit<Caller, 'requestId'>;

// A verified token is trusted again without re-verifying for at most this long (and never past its exp).
const VERIFIED_TOKEN_TTL_MS = 5 * 60_000;
const VERIFIED_TOKENS_MAX = 10_000;

/**
 * HS256 JWTs: `sub` (the actor), `account` (the tenant), `roles`. A gateway presents the same
 * token on every call, so a token that verified is remembered (by its exact text, bounded in
 * number, until its `exp` and at most five minutes) and not verified again; failures are never
 * remembered.
 */
export class JwtAuthenticator {
  private readonly key: KeyObject;
  private readonly verified = new Map<string, { identity: Identity; validUntilMs: number }>();

  constructor(
    secret: string,
    private readonly clock: () => number = Date.now,
  ) {
    this.key = createSecretKey(Buffer.from(secret, 'utf8'));
  }

  /** Verifies `Bearer <jwt>` and returns the caller; UNAUTHENTICATED for anything else. */
  async authenticate(authorization: string | undefined | null, requestId: string): Promise<Caller> {
    const match = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
    const token = match?.[1];
    if (!token) throw new DomainError('UNAUTHENTICATED', 'an Authorization: Bearer <JWT> header is required');
    const now = this.clock();
    const remembered = this.verified.get(token);
    if (remembered && remembered.validUntilMs > now) return { ...remembered.identity, requestId };
    if (remembered) this.verified.delete(token);
    const identity = await this.verify(token, now);
    if (this.verified.size >= VERIFIED_TOKENS_MAX) this.verified.delete(this.verified.keys().next().value as string);
    this.verified.set(token, { identity, validUntilMs: Math.min(identity.expiresAtMs ?? Infinity, now + VERIFIED_TOKEN_TTL_MS) });
    return { ...identity, requestId };
  }

  private async verify(token: string, now: number): Promise<Identity> {
    let payload;
    try {
      ({ payload } = await jwtVerify(token, this.key, { algorithms: ['HS256'], currentDate: new Date(now) }));
    } catch {
      throw new DomainError('UNAUTHENTICATED', 'the token is invalid or expired');
    }
    const { sub, account, roles = [] } = payload as { sub?: unknown; account?: unknown; roles?: unknown };
    if (typeof sub !== 'string' || sub === '' || typeof account !== 'string' || account === '') {
      throw new DomainError('UNAUTHENTICATED', 'the token must carry sub and account');
    }
    for (const [claim, value] of [['sub', sub], ['account', account]] as const) {
      const problem = principalIdProblem(value);
      if (problem) throw new DomainError('UNAUTHENTICATED', `the token's ${claim} claim ${problem}`);
    }
    if (!Array.isArray(roles) || !roles.every((role) => typeof role === 'string')) {
      throw new DomainError('UNAUTHENTICATED', 'roles must be an array of strings');
    }
    return { sub, accountId: account, roles, ...(typeof payload.exp === 'number' ? { expiresAtMs: payload.exp * 1000 } : {}) };
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
