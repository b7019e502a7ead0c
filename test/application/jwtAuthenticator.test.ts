import { SignJWT } from 'jose';
import { JwtAuthenticator } from '../../src/auth';
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
});
