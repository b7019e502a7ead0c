import { SignJWT } from 'jose';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JwtAuthenticator, MAX_TOKEN_LENGTH, developmentJwtSecret } from '../../src/auth';
import { DomainError } from '../../src/domain/errors';

const SECRET = 'a-test-secret-that-is-at-least-32-characters';
const start = Date.parse('2026-11-25T08:00:00.000Z');

const token = (claims: Record<string, unknown>, expiresAt: number | null, secret = SECRET) => {
  const jwt = new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setSubject('alice').setIssuedAt(start / 1000);
  if (expiresAt !== null) jwt.setExpirationTime(expiresAt / 1000);
  return jwt.sign(new TextEncoder().encode(secret));
};

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
    return undefined;
  } catch (error) {
    return error instanceof DomainError ? error.code : 'not a DomainError';
  }
}

describe('JwtAuthenticator', () => {
  let now: number;
  let authenticator: JwtAuthenticator;
  beforeEach(() => {
    now = start;
    authenticator = new JwtAuthenticator(SECRET, () => now);
  });

  it('returns the caller of a valid token, with this request\'s id every time', async () => {
    const jwt = await token({ account: 'acct', roles: ['gateway'] }, start + 3_600_000);
    expect(await authenticator.authenticate(`Bearer ${jwt}`, 'r1')).toEqual({ sub: 'alice', accountId: 'acct', roles: ['gateway'], requestId: 'r1', expiresAtMs: start + 3_600_000 });
    expect(await authenticator.authenticate(`Bearer ${jwt}`, 'r2')).toMatchObject({ sub: 'alice', requestId: 'r2' });
  });

  it('stops accepting a remembered token once it expires', async () => {
    const jwt = await token({ account: 'acct' }, start + 60_000);
    expect(await codeOf(authenticator.authenticate(`Bearer ${jwt}`, 'r1'))).toBeUndefined();
    now = start + 59_000;
    expect(await codeOf(authenticator.authenticate(`Bearer ${jwt}`, 'r2'))).toBeUndefined();
    now = start + 60_000;
    expect(await codeOf(authenticator.authenticate(`Bearer ${jwt}`, 'r3'))).toBe('UNAUTHENTICATED');
  });

  it('never remembers a failure: a forged or malformed token is refused every time', async () => {
    const forged = await token({ account: 'acct' }, start + 60_000, 'another-secret-that-is-at-least-32-characters');
    for (let i = 0; i < 2; i += 1) {
      expect(await codeOf(authenticator.authenticate(`Bearer ${forged}`, 'r'))).toBe('UNAUTHENTICATED');
      expect(await codeOf(authenticator.authenticate(`Bearer ${forged}x`, 'r'))).toBe('UNAUTHENTICATED');
      expect(await codeOf(authenticator.authenticate('Basic abc', 'r'))).toBe('UNAUTHENTICATED');
      expect(await codeOf(authenticator.authenticate(null, 'r'))).toBe('UNAUTHENTICATED');
    }
  });

  it('refuses tokens without sub and account, or with roles that are not strings', async () => {
    expect(await codeOf(authenticator.authenticate(`Bearer ${await token({}, start + 60_000)}`, 'r'))).toBe('UNAUTHENTICATED');
    expect(await codeOf(authenticator.authenticate(`Bearer ${await token({ account: 'a', roles: [1] }, start + 60_000)}`, 'r'))).toBe('UNAUTHENTICATED');
  });

  it('refuses sub and account claims longer than 128 characters or with control characters, and accepts any script', async () => {
    const withClaims = async (sub: string, account: string) => {
      const jwt = await new SignJWT({ account }).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setExpirationTime((start + 60_000) / 1000).sign(new TextEncoder().encode(SECRET));
      return codeOf(authenticator.authenticate(`Bearer ${jwt}`, 'r'));
    };
    expect(await withClaims('用户-7', '租户-42')).toBeUndefined();
    expect(await withClaims('a'.repeat(128), 'b'.repeat(128))).toBeUndefined();
    expect(await withClaims('alice', 'b'.repeat(129))).toBe('UNAUTHENTICATED');
    expect(await withClaims('a'.repeat(129), 'acct')).toBe('UNAUTHENTICATED');
    expect(await withClaims('alice', 'acct\r\nx-injected: 1')).toBe('UNAUTHENTICATED');
    expect(await withClaims('al\u0000ice', 'acct')).toBe('UNAUTHENTICATED');
    expect(await withClaims('alice', 'acct\ud800')).toBe('UNAUTHENTICATED');
  });

  it('refuses a token without exp, even when its signature holds', async () => {
    const jwt = await token({ account: 'acct', roles: ['admin'] }, null);
    await expect(authenticator.authenticate(`Bearer ${jwt}`, 'r')).rejects.toMatchObject({ code: 'UNAUTHENTICATED', message: 'the token must carry exp' });
  });

  it('refuses a token longer than 8 KiB before verifying it, and accepts a long one under the cap', async () => {
    const padded = async (length: number) => {
      const base = await token({ account: 'acct', pad: '' }, start + 60_000);
      return token({ account: 'acct', pad: 'x'.repeat(Math.floor(((length - base.length) * 3) / 4)) }, start + 60_000);
    };
    const underCap = await padded(MAX_TOKEN_LENGTH - 16);
    expect(underCap.length).toBeLessThanOrEqual(MAX_TOKEN_LENGTH);
    expect(await codeOf(authenticator.authenticate(`Bearer ${underCap}`, 'r'))).toBeUndefined();
    const overCap = await padded(MAX_TOKEN_LENGTH + 64);
    expect(overCap.length).toBeGreaterThan(MAX_TOKEN_LENGTH);
    await expect(authenticator.authenticate(`Bearer ${overCap}`, 'r')).rejects.toMatchObject({ code: 'UNAUTHENTICATED', message: expect.stringMatching(/longer than 8192/) });
    await expect(authenticator.authenticate(`Bearer ${'a'.repeat(1024 * 1024)}`, 'r')).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
  });

  it('checks iss and aud when configured, and ignores them when not', async () => {
    const configured = new JwtAuthenticator(SECRET, () => now, { issuer: 'https://id.example', audience: 'keyhub' });
    const withIssAud = async (iss: string | null, aud: string | null) => {
      const jwt = new SignJWT({ account: 'acct' }).setProtectedHeader({ alg: 'HS256' }).setSubject('alice').setExpirationTime((start + 60_000) / 1000);
      if (iss !== null) jwt.setIssuer(iss);
      if (aud !== null) jwt.setAudience(aud);
      return `Bearer ${await jwt.sign(new TextEncoder().encode(SECRET))}`;
    };
    expect(await codeOf(configured.authenticate(await withIssAud('https://id.example', 'keyhub'), 'r'))).toBeUndefined();
    await expect(configured.authenticate(await withIssAud('https://evil.example', 'keyhub'), 'r')).rejects.toMatchObject({ code: 'UNAUTHENTICATED', message: expect.stringMatching(/iss/) });
    await expect(configured.authenticate(await withIssAud('https://id.example', 'another-service'), 'r')).rejects.toMatchObject({ code: 'UNAUTHENTICATED', message: expect.stringMatching(/aud/) });
    await expect(configured.authenticate(await withIssAud(null, 'keyhub'), 'r')).rejects.toMatchObject({ code: 'UNAUTHENTICATED', message: 'the token must carry iss' });
    await expect(configured.authenticate(await withIssAud('https://id.example', null), 'r')).rejects.toMatchObject({ code: 'UNAUTHENTICATED', message: 'the token must carry aud' });
    expect(await codeOf(authenticator.authenticate(await withIssAud('https://anyone.example', 'anything'), 'r'))).toBeUndefined();
    // Its own development tokens carry what it expects.
    expect(await configured.authenticate(`Bearer ${await configured.sign({ sub: 'dev', account: 'local', roles: [] })}`, 'r')).toMatchObject({ sub: 'dev', accountId: 'local' });
  });

  it('lets a gateway token leave out account (the caller then has none), and no other token', async () => {
    expect(await authenticator.authenticate(`Bearer ${await token({ roles: ['gateway'] }, start + 60_000)}`, 'r')).toEqual({
      sub: 'alice',
      accountId: null,
      roles: ['gateway'],
      requestId: 'r',
      expiresAtMs: start + 60_000,
    });
    for (const roles of [[], ['admin'], ['gateways']]) {
      await expect(authenticator.authenticate(`Bearer ${await token({ roles }, start + 60_000)}`, 'r')).rejects.toMatchObject({ code: 'UNAUTHENTICATED', message: expect.stringMatching(/account/) });
    }
    // A gateway that names an account names a valid one.
    expect(await codeOf(authenticator.authenticate(`Bearer ${await token({ roles: ['gateway'], account: '' }, start + 60_000)}`, 'r'))).toBe('UNAUTHENTICATED');
    expect(await codeOf(authenticator.authenticate(`Bearer ${await token({ roles: ['gateway'], account: 'x'.repeat(129) }, start + 60_000)}`, 'r'))).toBe('UNAUTHENTICATED');
  });
});

describe('developmentJwtSecret', () => {
  it('generates the secret once, owner-only, and every later call (another process on the same DATA_DIR) takes that one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'keyhub-dev-secret-'));
    const first = developmentJwtSecret(dir);
    expect(first).toEqual({ secret: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/), generated: true });
    expect(statSync(join(dir, 'jwt-secret')).mode & 0o777).toBe(0o600);
    expect(developmentJwtSecret(dir)).toEqual({ secret: first.secret, generated: false });
    expect(readdirSync(dir)).toEqual(['jwt-secret']); // no temporary file left behind
    rmSync(dir, { recursive: true, force: true });
  });
});
