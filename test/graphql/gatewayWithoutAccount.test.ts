import pino from 'pino';
import { SqliteEventStore } from '../../src/adapters/sqlite/sqliteEventStore';
import type { Keyhub } from '../../src/compositionRoot';
import { startKeyhub } from '../../src/compositionRoot';
import { errorOf, gql, wsClient } from '../support/graphqlClient';
import { inProcessConfig as config, inProcessEngines } from '../adapters/serviceHarness';
import { API_KEY_EVENTS, CREATE, GET, LIST, QUOTA, SET_LIMIT, VERIFY } from '../support/operations';

/**
 * A gateway is not a tenant: its token may carry no account. It then verifies keys of every
 * account, and everything that acts on an account is refused with a code, never a crash.
 */
describe('A gateway token without an account claim', () => {
  const store = new SqliteEventStore(':memory:');
  let keyhub: Keyhub;
  let owner: string;
  let gateway: string;
  let secret: string;
  let keyId: string;

  beforeAll(async () => {
    keyhub = await startKeyhub(config, pino({ level: 'silent' }), inProcessEngines(store));
    owner = await keyhub.jwt.sign({ sub: 'alice', account: '租户-42', roles: [] });
    gateway = await keyhub.jwt.sign({ sub: 'edge-gateway', roles: ['gateway'] });
    const created = (await gql(keyhub.url, owner, CREATE, { input: { name: 'gateway key', acceptTerms: true } })).data.createApiKey;
    secret = created.secret;
    keyId = created.apiKey.id;
  });
  afterAll(async () => keyhub.stop());

  it('verifies keys of any account', async () => {
    const response = await gql(keyhub.url, gateway, VERIFY, { key: secret });
    expect(response.errors).toBeUndefined();
    expect(response.data.verifyApiKey).toMatchObject({ valid: true, keyId, accountId: '租户-42' });
  });

  it.each([
    ['accountQuota', QUOTA, {}],
    ['apiKeys', LIST, {}],
    ['apiKey', GET, { id: 'any' }],
    ['createApiKey', CREATE, { input: { name: 'not mine', acceptTerms: true } }],
  ])('is refused %s with FORBIDDEN, and the server goes on', async (_name, operation, variables) => {
    const response = await gql(keyhub.url, gateway, operation, variables);
    expect(errorOf(response).code).toBe('FORBIDDEN');
    expect(response.errors?.[0]?.message).toMatch(/no account claim/);
    expect((await gql(keyhub.url, gateway, VERIFY, { key: secret })).data.verifyApiKey.valid).toBe(true);
  });

  it('is refused an account-scoped subscription with FORBIDDEN', async () => {
    const socket = wsClient(keyhub.url.replace(/^http/, 'ws'), gateway);
    try {
      const errors = await new Promise<readonly { message: string; extensions?: { code?: string } }[]>((resolve, reject) => {
        socket.subscribe({ query: API_KEY_EVENTS }, { next: (message) => resolve(message.errors ?? []), error: (error) => resolve(error as never), complete: () => reject(new Error('completed without an error')) });
      });
      expect(Array.isArray(errors) ? errors[0]?.extensions?.code : errors).toBe('FORBIDDEN');
    } finally {
      await socket.dispose();
    }
  });

  it('validates the account ids an admin names with the rule of the account claim (BAD_USER_INPUT on accountId)', async () => {
    const admin = await keyhub.jwt.sign({ sub: 'operator', account: 'platform', roles: ['admin'] });
    for (const accountId of ['x'.repeat(129), 'acct\u0000', '   ']) {
      const response = await gql(keyhub.url, admin, SET_LIMIT, { accountId, limit: 5 });
      expect(errorOf(response)).toEqual({ code: 'BAD_USER_INPUT', field: 'accountId' });
    }
    expect((await gql(keyhub.url, admin, SET_LIMIT, { accountId: '租户-42', limit: 5 })).data.setAccountKeyLimit).toEqual({ limit: 5, used: 1 });
  });
});
