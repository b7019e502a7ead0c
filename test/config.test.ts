import { ConfigError, loadConfig } from '../src/config';

const SECRET = 'a-production-secret-of-at-least-32-characters';
const messageOf = (env: Record<string, string>): string => {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
    throw error;
  }
  return 'accepted';
};

describe('Configuration', () => {
  it('refuses production without FORWARD_AUTH_TOKEN unless /auth is opened on purpose, naming every missing variable at once', () => {
    expect(messageOf({ NODE_ENV: 'production', JWT_SECRET: SECRET })).toMatch(/FORWARD_AUTH_TOKEN: required when NODE_ENV=production.*FORWARD_AUTH_OPEN=true/);
    const both = messageOf({ NODE_ENV: 'production' });
    expect(both).toMatch(/JWT_SECRET: required/);
    expect(both).toMatch(/FORWARD_AUTH_TOKEN: required/);
    expect(messageOf({ NODE_ENV: 'production', JWT_SECRET: SECRET, FORWARD_AUTH_TOKEN: 'a-gateway-token-of-some-length' })).toBe('accepted');
    expect(loadConfig({ NODE_ENV: 'production', JWT_SECRET: SECRET, FORWARD_AUTH_OPEN: 'true' }).FORWARD_AUTH_OPEN).toBe(true);
    expect(messageOf({ NODE_ENV: 'production', JWT_SECRET: SECRET, FORWARD_AUTH_OPEN: 'yes' })).toMatch(/FORWARD_AUTH_OPEN must be true or false/);
    expect(messageOf({ NODE_ENV: 'production', JWT_SECRET: SECRET, FORWARD_AUTH_OPEN: 'false' })).toMatch(/FORWARD_AUTH_TOKEN: required/);
    // Outside production /auth may stay open, as before.
    expect(loadConfig({}).FORWARD_AUTH_OPEN).toBe(false);
  });

  it('validates TRUST_PROXY at start, as proxy-addr reads it', () => {
    for (const accepted of ['true', 'false', '1', 'loopback', 'loopback, 10.0.0.0/8', '192.168.1.1, fd00::/8']) expect(messageOf({ TRUST_PROXY: accepted })).toBe('accepted');
    for (const refused of ['10.0.0.0/99', 'my-proxy', 'loopback,']) expect(messageOf({ TRUST_PROXY: refused })).toMatch(/TRUST_PROXY must be/);
  });

  it('takes JWT_ISSUER and JWT_AUDIENCE when set', () => {
    expect(loadConfig({ JWT_ISSUER: 'https://id.example', JWT_AUDIENCE: 'keyhub' })).toMatchObject({ JWT_ISSUER: 'https://id.example', JWT_AUDIENCE: 'keyhub' });
    const unset = loadConfig({});
    expect([unset.JWT_ISSUER, unset.JWT_AUDIENCE]).toEqual([undefined, undefined]);
  });

  it('takes an audit key of at least 32 characters, different from JWT_SECRET, and requires one when keyed links are required', () => {
    const key = 'an-audit-key-of-at-least-32-characters-0001';
    expect(loadConfig({ AUDIT_HMAC_KEY: key, AUDIT_HMAC_RETIRED_KEYS: ` ${SECRET}x, another-retired-key-of-32-characters-00 ` })).toMatchObject({
      AUDIT_HMAC_KEY: key,
      AUDIT_HMAC_RETIRED_KEYS: [`${SECRET}x`, 'another-retired-key-of-32-characters-00'],
      AUDIT_HMAC_REQUIRED: false,
    });
    expect(messageOf({ AUDIT_HMAC_KEY: 'short' })).toMatch(/AUDIT_HMAC_KEY must be at least 32 characters/);
    expect(messageOf({ AUDIT_HMAC_RETIRED_KEYS: 'short' })).toMatch(/every key must be at least 32 characters/);
    expect(messageOf({ AUDIT_HMAC_KEY: SECRET, JWT_SECRET: SECRET })).toMatch(/AUDIT_HMAC_KEY: must differ from JWT_SECRET/);
    expect(messageOf({ AUDIT_HMAC_REQUIRED: 'true' })).toMatch(/AUDIT_HMAC_KEY: required when AUDIT_HMAC_REQUIRED=true/);
    expect(loadConfig({}).AUDIT_HMAC_RETIRED_KEYS).toEqual([]);
  });
});
