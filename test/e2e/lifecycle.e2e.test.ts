import { randomUUID } from 'node:crypto';
import type { KeyhubProcess } from '../support/keyhubProcess';
import { startKeyhubProcess } from '../support/keyhubProcess';
import { clientFor, errorOf } from '../support/graphqlClient';

const KEY_FIELDS = 'id accountId name description region maskedKey status scope { mode models services } ipAllowlist createdAt updatedAt lastUsedAt expiresAt version';
const CREATE = `mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { secret apiKey { ${KEY_FIELDS} } } }`;
const VERIFY = `query($key: String!, $clientIp: String, $model: String, $service: String) {
  verifyApiKey(key: $key, clientIp: $clientIp, model: $model, service: $service) { valid reason keyId accountId scope { mode models services } } }`;

describe('API key lifecycle over HTTP', () => {
  let keyhub: KeyhubProcess;
  let owner: Awaited<ReturnType<typeof clientFor>>;
  let gateway: Awaited<ReturnType<typeof clientFor>>;

  beforeAll(async () => {
    keyhub = await startKeyhubProcess();
    const account = `acct-${randomUUID()}`;
    owner = await clientFor(keyhub.url, { sub: 'alice', account });
    gateway = await clientFor(keyhub.url, { sub: 'gw-1', account: 'platform', roles: ['gateway'] });
  });
  afterAll(async () => {
    await keyhub.stop();
  });

  it('creates a key whose secret is shown once and verifies it', async () => {
    const { createApiKey } = await owner.call(CREATE, { input: { name: 'prod backend', acceptTerms: true } });
    const { secret, apiKey } = createApiKey;
    expect(secret).toMatch(/^sk-[0-9A-Za-z]{49}$/);
    expect(apiKey).toMatchObject({ name: 'prod backend', status: 'ENABLED', version: 1, lastUsedAt: null, region: 'default' });
    expect(apiKey.maskedKey).toBe(`${secret.slice(0, 5)}***${secret.slice(-4)}`);

    const { verifyApiKey } = await gateway.call(VERIFY, { key: secret });
    expect(verifyApiKey).toMatchObject({ valid: true, reason: null, keyId: apiKey.id, accountId: owner.identity.account });
  });

  it('rejects a create without accepted terms, naming the field', async () => {
    const response = await owner.raw(CREATE, { input: { name: 'no terms', acceptTerms: false } });
    expect(errorOf(response)).toEqual({ code: 'BAD_USER_INPUT', field: 'acceptTerms' });
  });
});
