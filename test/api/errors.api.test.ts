import { randomUUID } from 'node:crypto';
import { newOwner } from '../support/apiHelpers';
import type { KeyhubSpecification } from '../support/apiSpecification';
import { expectError, expectNoNewEvents, startApiSpecification } from '../support/apiSpecification';
import { clientFor, errorOf, gql, tokenFor } from '../support/graphqlClient';
import { CREATE, DELETE, DESCRIBE, GET, HISTORY, LIST, QUOTA, RENAME, SET_LIMIT, SET_STATUS, UPDATE_SCOPE, VERIFY } from '../support/operations';

type Client = Awaited<ReturnType<typeof clientFor>>;

describe('Errors', () => {
  let keyhub: KeyhubSpecification;
  let owner: Client;
  let keyId: string;

  beforeAll(async () => {
    keyhub = await startApiSpecification();
  });
  beforeEach(async () => {
    owner = await newOwner(keyhub.url, 'alice');
    keyId = (await owner.call(CREATE, { input: { name: 'original', acceptTerms: true } })).createApiKey.apiKey.id;
  });
  afterAll(async () => {
    await keyhub.stop();
  });

  /** The key and its history exactly as they were: a failed mutation changes nothing. */
  const snapshot = async () => ({
    key: (await owner.call(GET, { id: keyId })).apiKey,
    history: (await owner.call(HISTORY, { id: keyId })).apiKeyHistory,
    quota: (await owner.call(QUOTA)).accountQuota,
  });

  describe('UNAUTHENTICATED', () => {
    it.each([
      ['no token', null],
      ['a malformed token', 'not-a-jwt'],
    ])('for %s', async (_label, token) => {
      const response = await gql(keyhub.url, token, QUOTA);
      expect(response.status).toBe(401);
      expect(errorOf(response).code).toBe('UNAUTHENTICATED');
    });

    it('for a token signed with another secret, an expired token, or one without account', async () => {
      const forged = await tokenFor({ sub: 'mallory', account: 'a' }, 'another-secret-that-is-at-least-32-characters');
      const expired = await tokenFor({ sub: 'alice', account: 'a' }, undefined, '-1s');
      const unsigned = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from('{"sub":"x","account":"a"}').toString('base64url')}.`;
      for (const token of [forged, expired, unsigned]) expect(errorOf(await gql(keyhub.url, token, QUOTA)).code).toBe('UNAUTHENTICATED');
    });

    it('and changes nothing', async () => {
      const before = await snapshot();
      await keyhub.given().when(keyhub.graphql(null, RENAME, { id: keyId, name: 'hijacked' })).then(expectError('UNAUTHENTICATED'), expectNoNewEvents());
      expect(await snapshot()).toEqual(before);
    });
  });

  describe('FORBIDDEN', () => {
    it('for verifyApiKey without the gateway role', async () => {
      expect(errorOf(await owner.raw(VERIFY, { key: 'sk-x' })).code).toBe('FORBIDDEN');
    });

    it('for setAccountKeyLimit without the admin role', async () => {
      expect(errorOf(await owner.raw(SET_LIMIT, { accountId: owner.identity.account, limit: 1000 })).code).toBe('FORBIDDEN');
      expect((await owner.call(QUOTA)).accountQuota.limit).toBe(50);
    });
  });

  describe('BAD_USER_INPUT names the offending field and changes nothing', () => {
    it.each<[string, string, Record<string, unknown>, string]>([
      ['create: short name', CREATE, { input: { name: 'x', acceptTerms: true } }, 'name'],
      ['create: long description', CREATE, { input: { name: 'ok name', description: 'd'.repeat(201), acceptTerms: true } }, 'description'],
      ['create: bad region', CREATE, { input: { name: 'ok name', region: 'Mars Base', acceptTerms: true } }, 'region'],
      ['create: bad CIDR', CREATE, { input: { name: 'ok name', ipAllowlist: ['10.0.0.0/8', '10.0.0.0/40'], acceptTerms: true } }, 'ipAllowlist[1]'],
      ['create: past expiry', CREATE, { input: { name: 'ok name', expiresAt: '2020-01-01T00:00:00.000Z', acceptTerms: true } }, 'expiresAt'],
      ['create: terms not accepted', CREATE, { input: { name: 'ok name', acceptTerms: false } }, 'acceptTerms'],
      ['create: empty restricted scope', CREATE, { input: { name: 'ok name', scope: { mode: 'RESTRICTED' }, acceptTerms: true } }, 'scope'],
      ['list: first out of range', LIST, { first: 101 }, 'first'],
      ['list: foreign cursor', LIST, { after: 'bm90LWEtY3Vyc29y' }, 'after'],
    ])('%s', async (_label, operation, variables, field) => {
      const before = await snapshot();
      const { response } = await keyhub.given().when(keyhub.graphql(owner.token, operation, variables)).then(expectError('BAD_USER_INPUT', field), expectNoNewEvents());
      expect(errorOf(response)).toEqual({ code: 'BAD_USER_INPUT', field });
      expect(response.errors?.[0]?.message).toEqual(expect.any(String));
      expect(await snapshot()).toEqual(before);
    });

    it.each<[string, string, (id: string) => Record<string, unknown>, string]>([
      ['rename', RENAME, (id) => ({ id, name: 'two  spaces' }), 'name'],
      ['description', DESCRIBE, (id) => ({ id, d: 'd'.repeat(201) }), 'description'],
      ['scope', UPDATE_SCOPE, (id) => ({ id, scope: { mode: 'ALL', models: ['m'] } }), 'scope.models'],
      ['allowlist', UPDATE_SCOPE, (id) => ({ id, scope: { mode: 'ALL' }, ips: Array.from({ length: 51 }, (_, i) => `10.0.0.${i}`) }), 'ipAllowlist'],
    ])('%s of an existing key', async (_label, operation, variables, field) => {
      const before = await snapshot();
      const { response } = await keyhub.given().when(keyhub.graphql(owner.token, operation, variables(keyId))).then(expectNoNewEvents());
      expect(errorOf(response)).toEqual({ code: 'BAD_USER_INPUT', field });
      expect(await snapshot()).toEqual(before);
    });

    it('for an invalid limit, even from an admin', async () => {
      const admin = await clientFor(keyhub.url, { sub: 'root', account: 'ops', roles: ['admin'] });
      expect(errorOf(await admin.raw(SET_LIMIT, { accountId: owner.identity.account, limit: -1 }))).toEqual({ code: 'BAD_USER_INPUT', field: 'limit' });
    });

    it('for values of the wrong GraphQL type, with a code', async () => {
      const response = await owner.raw(SET_STATUS, { id: keyId, status: 'PAUSED' });
      expect(errorOf(response).code).toBe('BAD_USER_INPUT');
    });
  });

  describe('NOT_FOUND', () => {
    it.each<[string, string, (id: string) => Record<string, unknown>]>([
      ['rename', RENAME, (id) => ({ id, name: 'new name' })],
      ['description', DESCRIBE, (id) => ({ id, d: 'x' })],
      ['status', SET_STATUS, (id) => ({ id, status: 'DISABLED' })],
      ['scope', UPDATE_SCOPE, (id) => ({ id, scope: { mode: 'ALL' } })],
      ['delete', DELETE, (id) => ({ id })],
      ['history', HISTORY, (id) => ({ id })],
    ])('%s of an unknown key', async (_label, operation, variables) => {
      await keyhub.given().when(keyhub.graphql(owner.token, operation, variables(randomUUID()))).then(expectError('NOT_FOUND'), expectNoNewEvents());
    });

    it('for every change of a deleted key', async () => {
      await owner.call(DELETE, { id: keyId });
      for (const [operation, variables] of [
        [RENAME, { id: keyId, name: 'back again' }],
        [SET_STATUS, { id: keyId, status: 'ENABLED' }],
        [DELETE, { id: keyId }],
      ] as const) {
        expect(errorOf(await owner.raw(operation, variables)).code).toBe('NOT_FOUND');
      }
    });
  });

  describe('CONFLICT', () => {
    it('for a stale expectedVersion, changing nothing', async () => {
      await owner.call(RENAME, { id: keyId, name: 'second', v: 1 });
      const before = await snapshot();
      for (const [operation, variables] of [
        [RENAME, { id: keyId, name: 'third', v: 1 }],
        [DESCRIBE, { id: keyId, d: 'x', v: 1 }],
        [SET_STATUS, { id: keyId, status: 'DISABLED', v: 1 }],
        [UPDATE_SCOPE, { id: keyId, scope: { mode: 'RESTRICTED', models: ['m'] }, v: 1 }],
        [DELETE, { id: keyId, v: 3 }],
      ] as const) {
        await keyhub.given().when(keyhub.graphql(owner.token, operation, variables)).then(expectError('CONFLICT'), expectNoNewEvents());
      }
      expect(await snapshot()).toEqual(before);
    });
  });

  describe('QUOTA_EXCEEDED', () => {
    it('when the account holds its limit of keys, until one is deleted', async () => {
      const admin = await clientFor(keyhub.url, { sub: 'root', account: 'ops', roles: ['admin'] });
      expect((await admin.call(SET_LIMIT, { accountId: owner.identity.account, limit: 2 })).setAccountKeyLimit).toEqual({ limit: 2, used: 1 });
      await owner.call(CREATE, { input: { name: 'second', acceptTerms: true } });
      await keyhub.given().when(keyhub.graphql(owner.token, CREATE, { input: { name: 'third', acceptTerms: true } })).then(expectError('QUOTA_EXCEEDED'), expectNoNewEvents());
      expect((await owner.call(QUOTA)).accountQuota).toEqual({ limit: 2, used: 2 });
      await owner.call(DELETE, { id: keyId });
      expect((await owner.call(CREATE, { input: { name: 'third', acceptTerms: true } })).createApiKey.apiKey.name).toBe('third');
    });
  });

  describe('unexpected errors', () => {
    it('never reach clients with internals, and nothing crashes on odd input', async () => {
      const response = await fetch(keyhub.url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${owner.token}` }, body: '{"query": ' });
      expect(response.status).toBe(400);
      const text = await response.text();
      expect(text).not.toMatch(/at .*\.js:\d+/);
      expect((await gql(keyhub.url, owner.token, '{ apiKeys { nodes { nope } } }')).errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    });
  });

  describe('hostile request shapes', () => {
    it('answers a body over 256 KiB with 413 and closes that connection, so the client\'s next requests are answered', async () => {
      const post = (size: number) =>
        fetch(keyhub.url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${owner.token}` }, body: JSON.stringify({ query: '{ accountQuota { limit } }', variables: { pad: 'y'.repeat(size) } }) });
      const big = await post(1_000_000);
      expect(big.status).toBe(413);
      expect(big.headers.get('connection')).toBe('close');
      for (let i = 0; i < 3; i += 1) expect((await post(10)).status).toBe(200); // a kept-alive socket used to be reset here
    });

    it('codes graphql-js\'s own refusal of a request with too many bad variables (it was masked as INTERNAL_SERVER_ERROR)', async () => {
      const response = await gql(keyhub.url, owner.token, 'mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { secret } }', {
        input: { name: 'many bad', acceptTerms: true, scope: { mode: 'RESTRICTED', models: Array(60).fill(null) } },
      });
      expect(response.status).toBe(400);
      expect(new Set(response.errors?.map((error) => error.extensions?.code))).toEqual(new Set(['BAD_USER_INPUT', 'BAD_REQUEST']));
    });
  });
});
