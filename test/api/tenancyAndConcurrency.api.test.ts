import { randomUUID } from 'node:crypto';
import type { KeyhubSpecification } from '../support/apiSpecification';
import { startApiSpecification } from '../support/apiSpecification';
import { clientFor, errorOf } from '../support/graphqlClient';
import { CREATE, DELETE, DESCRIBE, GET, HISTORY, LIST, QUOTA, RENAME, SET_LIMIT, SET_STATUS, UPDATE_SCOPE, VERIFY } from '../support/operations';

type Client = Awaited<ReturnType<typeof clientFor>>;

describe('Tenant isolation and concurrency', () => {
  let keyhub: KeyhubSpecification;
  let admin: Client;
  const newAccount = (sub = 'alice') => clientFor(keyhub.url, { sub, account: `acct-${randomUUID()}` });

  beforeAll(async () => {
    keyhub = await startApiSpecification();
    admin = await clientFor(keyhub.url, { sub: 'root', account: 'ops', roles: ['admin'] });
  });
  afterAll(async () => {
    await keyhub.stop();
  });

  describe('another account', () => {
    it('sees none of the keys, changes none of them, and gets NOT_FOUND', async () => {
      const owner = await newAccount();
      const intruder = await newAccount('mallory');
      const { apiKey, secret } = (await owner.call(CREATE, { input: { name: 'owned', acceptTerms: true } })).createApiKey;
      const before = { key: (await owner.call(GET, { id: apiKey.id })).apiKey, history: (await owner.call(HISTORY, { id: apiKey.id })).apiKeyHistory };

      expect((await intruder.call(LIST)).apiKeys).toMatchObject({ totalCount: 0, nodes: [] });
      expect((await intruder.call(LIST, { filter: { search: 'owned' } })).apiKeys.totalCount).toBe(0);
      expect((await intruder.call(GET, { id: apiKey.id })).apiKey).toBeNull();
      expect((await intruder.call(GET, { id: apiKey.id, asOf: new Date().toISOString() })).apiKey).toBeNull();
      expect((await intruder.call(QUOTA)).accountQuota.used).toBe(0);
      for (const [operation, variables] of [
        [HISTORY, { id: apiKey.id }],
        [RENAME, { id: apiKey.id, name: 'stolen' }],
        [DESCRIBE, { id: apiKey.id, d: 'stolen' }],
        [SET_STATUS, { id: apiKey.id, status: 'DISABLED' }],
        [UPDATE_SCOPE, { id: apiKey.id, scope: { mode: 'RESTRICTED', models: ['none'] } }],
        [DELETE, { id: apiKey.id }],
      ] as const) {
        expect(errorOf(await intruder.raw(operation, variables)).code).toBe('NOT_FOUND');
      }
      expect({ key: (await owner.call(GET, { id: apiKey.id })).apiKey, history: (await owner.call(HISTORY, { id: apiKey.id })).apiKeyHistory }).toEqual(before);
      const gateway = await clientFor(keyhub.url, { sub: 'gw', account: 'platform', roles: ['gateway'] });
      expect((await gateway.call(VERIFY, { key: secret })).verifyApiKey).toMatchObject({ valid: true, accountId: owner.identity.account });
    });
  });

  describe('concurrent writers', () => {
    it('ten renames at the same version: one wins, nine get CONFLICT', async () => {
      const owner = await newAccount();
      const { apiKey } = (await owner.call(CREATE, { input: { name: 'contended', acceptTerms: true } })).createApiKey;
      const responses = await Promise.all(Array.from({ length: 10 }, (_, i) => owner.raw(RENAME, { id: apiKey.id, name: `writer ${i}`, v: 1 })));
      const winners = responses.filter((response) => !response.errors);
      expect(winners).toHaveLength(1);
      expect(responses.filter((response) => errorOf(response).code === 'CONFLICT')).toHaveLength(9);
      const key = (await owner.call(GET, { id: apiKey.id })).apiKey;
      expect(key).toMatchObject({ name: winners[0]?.data.renameApiKey.name, version: 2 });
      expect((await owner.call(HISTORY, { id: apiKey.id })).apiKeyHistory).toHaveLength(2);
    });

    it('concurrent changes without expectedVersion are all kept, none lost or duplicated', async () => {
      const owner = await newAccount();
      const { apiKey } = (await owner.call(CREATE, { input: { name: 'busy', acceptTerms: true } })).createApiKey;
      const names = Array.from({ length: 8 }, (_, i) => `name ${i}`);
      const responses = await Promise.all(names.map((name) => owner.raw(RENAME, { id: apiKey.id, name })));
      expect(responses.every((response) => !response.errors)).toBe(true);
      const history = (await owner.call(HISTORY, { id: apiKey.id })).apiKeyHistory;
      const renamedTo = history.filter((event: { type: string }) => event.type === 'ApiKeyRenamed').map((event: { data: { name: string } }) => event.data.name);
      expect([...renamedTo].sort()).toEqual(names);
      expect(history.map((event: { version: number }) => event.version)).toEqual(Array.from({ length: 9 }, (_, i) => i + 1));
    });

    it('eight simultaneous creates against a limit of 3 give exactly 3 keys', async () => {
      const owner = await newAccount();
      await admin.call(SET_LIMIT, { accountId: owner.identity.account, limit: 3 });
      const responses = await Promise.all(Array.from({ length: 8 }, (_, i) => owner.raw(CREATE, { input: { name: `racer ${i}`, acceptTerms: true } })));
      expect(responses.filter((response) => !response.errors)).toHaveLength(3);
      expect(responses.filter((response) => errorOf(response).code === 'QUOTA_EXCEEDED')).toHaveLength(5);
      expect((await owner.call(LIST)).apiKeys.totalCount).toBe(3);
      expect((await owner.call(QUOTA)).accountQuota).toEqual({ limit: 3, used: 3 });
    });

    it('a limit changed by an admin applies to the next create', async () => {
      const owner = await newAccount();
      expect((await admin.call(SET_LIMIT, { accountId: owner.identity.account, limit: 0 })).setAccountKeyLimit).toEqual({ limit: 0, used: 0 });
      expect(errorOf(await owner.raw(CREATE, { input: { name: 'none allowed', acceptTerms: true } })).code).toBe('QUOTA_EXCEEDED');
      await admin.call(SET_LIMIT, { accountId: owner.identity.account, limit: 1 });
      expect((await owner.call(CREATE, { input: { name: 'one allowed', acceptTerms: true } })).createApiKey.apiKey.name).toBe('one allowed');
    });
  });
});
