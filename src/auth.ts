import type { KeyObject } from 'node:crypto';
import { createSecretKey, randomBytes } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SignJWT, jwtVerify } from 'jose';
import type { Principal } from './application/caller';
import { ROLE_GATEWAY } from './application/caller';
import { DomainError } from './domain/errors';
import { principalIdProblem } from './domain/rules/principalId';

type Identity = Omit<Principal, 'requestId'>;

/** Longest token verified: real ones are a few hundred characters; anything longer is refused unread. */
export const MAX_TOKEN_LENGTH = 8 * 1024;

/** What a token must say about who issued it and for whom, when the operator configured it (JWT_ISSUER, JWT_AUDIENCE). */
export interface TokenExpectations {
  issuer?: string | undefined;
  audience?: string | undefined;
}

// A verified token is trusted again without re-verifying for at most this long (and never past its exp).
const VERIFIED_TOKEN_TTL_MS = 5 * 60_000;
const VERIFIED_TOKENS_MAX = 10_000;

/**
 * HS256 JWTs: `sub` (the actor), `account` (the tenant), `roles`, and `exp` (required), plus `iss`
 * and `aud` when configured. A token with the gateway role may omit `account` (a gateway is not a
 * tenant): its caller then has no account, and may only verify keys. A gateway presents the same
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
    private readonly expected: TokenExpectations = {},
  ) {
    this.key = createSecretKey(Buffer.from(secret, 'utf8'));
  }

  /** Verifies `Bearer <jwt>` and returns the caller; UNAUTHENTICATED for anything else. */
  async authenticate(authorization: string | undefined | null, requestId: string): Promise<Principal> {
    if (authorization && authorization.length > MAX_TOKEN_LENGTH + 'Bearer '.length) {
      throw new DomainError('UNAUTHENTICATED', `the token is longer than ${MAX_TOKEN_LENGTH} characters`);
    }
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
      ({ payload } = await jwtVerify(token, this.key, {
        algorithms: ['HS256'],
        currentDate: new Date(now),
        requiredClaims: ['exp'],
        ...(this.expected.issuer !== undefined ? { issuer: this.expected.issuer } : {}),
        ...(this.expected.audience !== undefined ? { audience: this.expected.audience } : {}),
      }));
    } catch (error) {
      throw new DomainError('UNAUTHENTICATED', refusal(error));
    }
    const { sub, account, roles = [] } = payload as { sub?: unknown; account?: unknown; roles?: unknown };
    if (!Array.isArray(roles) || !roles.every((role) => typeof role === 'string')) {
      throw new DomainError('UNAUTHENTICATED', 'roles must be an array of strings');
    }
    const accountless = account === undefined && roles.includes(ROLE_GATEWAY);
    if (typeof sub !== 'string' || sub === '' || (!accountless && (typeof account !== 'string' || account === ''))) {
      throw new DomainError('UNAUTHENTICATED', 'the token must carry sub and account (only a gateway token may omit account)');
    }
    for (const [claim, value] of [['sub', sub], ...(accountless ? [] : [['account', account]])] as const) {
      const problem = principalIdProblem(value);
      if (problem) throw new DomainError('UNAUTHENTICATED', `the token's ${claim} claim ${problem}`);
    }
    return { sub, accountId: accountless ? null : (account as string), roles, expiresAtMs: (payload.exp as number) * 1000 };
  }

  /** Issues a token (for local development and tests); `account` may be left out only with the gateway role. */
  async sign(claims: { sub: string; account?: string; roles: string[] }, expiresIn = '30d'): Promise<string> {
    const token = new SignJWT({ ...(claims.account !== undefined ? { account: claims.account } : {}), roles: claims.roles })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(claims.sub)
      .setIssuedAt()
      .setExpirationTime(expiresIn);
    if (this.expected.issuer !== undefined) token.setIssuer(this.expected.issuer);
    if (this.expected.audience !== undefined) token.setAudience(this.expected.audience);
    return token.sign(this.key);
  }
}

/** Why jose refused a token, in words that tell the token's issuer what to fix (claims are only checked once the signature holds). */
function refusal(error: unknown): string {
  const { claim, reason } = error as { claim?: unknown; reason?: unknown };
  if (reason === 'missing' && typeof claim === 'string') return `the token must carry ${claim}`;
  if ((claim === 'iss' || claim === 'aud') && reason === 'check_failed') return `the token's ${claim} claim is not the one this server expects`;
  return 'the token is invalid or expired';
}

/**
 * Outside production a newcomer has no JWT_SECRET: generate one into DATA_DIR on first start
 * (kept across restarts so issued tokens stay valid) and say so. Several processes may start on
 * one DATA_DIR at once: the secret is written whole under a name of its own, then linked into
 * place (a link fails when the name exists), so exactly one process's secret is taken and no
 * process reads a half-written file; the others read that one.
 */
export function developmentJwtSecret(dataDir: string): { secret: string; generated: boolean } {
  const file = join(dataDir, 'jwt-secret');
  const existing = readSecret(file);
  if (existing !== null) return { secret: existing, generated: false };
  mkdirSync(dataDir, { recursive: true });
  const secret = randomBytes(32).toString('base64url');
  const temporary = `${file}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
  writeFileSync(temporary, `${secret}\n`, { mode: 0o600, flush: true });
  try {
    linkSync(temporary, file);
  } catch (error) {
    if ((error as { code?: string }).code !== 'EEXIST') throw error;
    return { secret: readSecret(file) as string, generated: false }; // another process's, written whole before it was linked
  } finally {
    rmSync(temporary, { force: true });
  }
  return { secret, generated: true };
}

function readSecret(file: string): string | null {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOENT') return null;
    throw error;
  }
}
