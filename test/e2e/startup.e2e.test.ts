import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TEST_JWT_SECRET, freshDataDir, startKeyhubProcess } from '../support/keyhubProcess';
import { gql } from '../support/graphqlClient';
import { until } from '../support/apiHelpers';

const MAIN = join(__dirname, '..', '..', 'dist', 'src', 'main.js');
const runMain = (env: Record<string, string>) =>
  spawnSync(process.execPath, [MAIN], { env: { PATH: process.env['PATH'] ?? '', DATA_DIR: freshDataDir(), PORT: '0', ...env }, encoding: 'utf8', timeout: 25_000 });

/** A JWT's lifetime (exp − iat) in hours. */
const lifetimeHours = (token: string): number => {
  const claims = JSON.parse(Buffer.from(token.split('.')[1] as string, 'base64url').toString('utf8')) as { iat: number; exp: number };
  return (claims.exp - claims.iat) / 3600;
};

/** Waits until the process has printed a line matching `pattern` (lines logged right after "listening"). */
async function untilOutput(keyhub: { output(): string }, pattern: RegExp): Promise<void> {
  for (let waited = 0; !pattern.test(keyhub.output()); waited += 20) {
    if (waited > 10_000) throw new Error(`no output matching ${pattern}:\n${keyhub.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('Start-up and configuration', () => {
  it('refuses invalid configuration with a message naming each variable', () => {
    const result = runMain({ PORT: 'eighty', KEY_LIMIT_DEFAULT: '-3', LOG_LEVEL: 'loud', JWT_SECRET: 'short' });
    expect(result.status).toBe(2);
    for (const name of ['PORT', 'KEY_LIMIT_DEFAULT', 'LOG_LEVEL', 'JWT_SECRET']) expect(result.stderr).toContain(name);
  });

  it('rejects a too-short FORWARD_AUTH_TOKEN at start with a clear message', () => {
    const result = runMain({ JWT_SECRET: TEST_JWT_SECRET, FORWARD_AUTH_TOKEN: 'short' });
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/FORWARD_AUTH_TOKEN must be at least 16 characters/);
  });

  it('refuses a scope catalog file that breaks the id rule, naming the entry', () => {
    const file = join(freshDataDir(), 'catalog.json');
    writeFileSync(file, JSON.stringify({ models: ['qwen-max', 'bad model'], services: ['chat'] }));
    const result = runMain({ JWT_SECRET: TEST_JWT_SECRET, SCOPE_CATALOG_FILE: file });
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/SCOPE_CATALOG_FILE .*catalog\.json is not a valid catalog at models\[1\]/);
    expect(runMain({ JWT_SECRET: TEST_JWT_SECRET, SCOPE_CATALOG_FILE: join(freshDataDir(), 'missing.json') }).stderr).toMatch(/SCOPE_CATALOG_FILE .* cannot be read/);
  });

  it('refuses to start in production without JWT_SECRET', () => {
    const result = runMain({ NODE_ENV: 'production' });
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/JWT_SECRET: required when NODE_ENV=production/);
  });

  it('refuses to start in production without FORWARD_AUTH_TOKEN, and starts when /auth is opened on purpose', async () => {
    const refused = runMain({ NODE_ENV: 'production', JWT_SECRET: 'a-production-secret-of-at-least-32-characters' });
    expect(refused.status).toBe(2);
    expect(refused.stderr).toMatch(/FORWARD_AUTH_TOKEN: required when NODE_ENV=production.*FORWARD_AUTH_OPEN=true/);
    const open = await startKeyhubProcess({ env: { NODE_ENV: 'production', FORWARD_AUTH_OPEN: 'true' } });
    try {
      expect((await fetch(`${open.baseUrl}/auth`)).status).toBe(401); // answers (MISSING), without a gateway token
    } finally {
      await open.stop();
    }
  });

  it('without JWT_SECRET outside production, generates one into DATA_DIR and prints a token that works', async () => {
    const dataDir = freshDataDir();
    const keyhub = await startKeyhubProcess({ dataDir, env: { JWT_SECRET: '' } });
    try {
      await until(() => /Bearer ([A-Za-z0-9._-]+)/.test(keyhub.output()), 5000);
      const token = /Bearer ([A-Za-z0-9._-]+)/.exec(keyhub.output())?.[1];
      expect(token).toBeDefined();
      expect(existsSync(join(dataDir, 'jwt-secret'))).toBe(true);
      const response = await gql(keyhub.url, token as string, '{ accountQuota { limit used } }');
      expect(response.data).toEqual({ accountQuota: { limit: 50, used: 0 } });
      expect(keyhub.output()).toMatch(/keyhub listening on http:\/\/127\.0\.0\.1:\d+\/graphql/);
      expect(lifetimeHours(token as string)).toBe(12);
    } finally {
      await keyhub.stop();
    }
  });

  it('prints the development token only on the first start, or when asked (KEYHUB_PRINT_DEV_TOKEN=true)', async () => {
    const dataDir = freshDataDir();
    const first = await startKeyhubProcess({ dataDir, env: { JWT_SECRET: '' } });
    await untilOutput(first, /No JWT_SECRET set/);
    expect(first.output()).toMatch(/Bearer [A-Za-z0-9._-]+/);
    await first.stop();

    const again = await startKeyhubProcess({ dataDir, env: { JWT_SECRET: '' } });
    try {
      await untilOutput(again, /No JWT_SECRET set/);
      expect(again.output()).not.toMatch(/Bearer [A-Za-z0-9._-]+/);
      expect(again.output()).toContain('--print-token');
    } finally {
      await again.stop();
    }

    const asked = await startKeyhubProcess({ dataDir, env: { JWT_SECRET: '', KEYHUB_PRINT_DEV_TOKEN: 'true' } });
    try {
      await untilOutput(asked, /Bearer [A-Za-z0-9._-]+/);
      const token = /Bearer ([A-Za-z0-9._-]+)/.exec(asked.output())?.[1] as string;
      expect(lifetimeHours(token)).toBe(12);
      expect((await gql(asked.url, token, '{ accountQuota { used } }')).data).toEqual({ accountQuota: { used: 0 } });
    } finally {
      await asked.stop();
    }
  });

  it('answers /healthz and /readyz, and exits cleanly on SIGTERM', async () => {
    const keyhub = await startKeyhubProcess({ env: { KEY_LIMIT_DEFAULT: '7' } });
    expect((await fetch(`${keyhub.baseUrl}/healthz`)).status).toBe(200);
    const ready = await fetch(`${keyhub.baseUrl}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ ready: true, status: 'ready', problems: [] });
    expect(await keyhub.stop('SIGTERM')).toBe(0);
    expect(keyhub.output()).toContain('shutting down');
  });
});
