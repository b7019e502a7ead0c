import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { KeyhubProcess } from '../support/keyhubProcess';
import { freshDataDir, startKeyhubProcess } from '../support/keyhubProcess';
import type { Client } from '../support/apiHelpers';
import { until } from '../support/apiHelpers';
import { clientFor, errorOf } from '../support/graphqlClient';
import { CREATE, LIST, QUOTA, SET_STATUS, VERIFY } from '../support/operations';

const KEY_LIMIT = 6;
/** A correctness bound, far above the poll interval: without wake-ups from the other process the key would stay valid for good. */
const REVOCATION_BOUND_MS = 2000;
const ENV = { KEY_LIMIT_DEFAULT: String(KEY_LIMIT), ACCOUNT_REQUESTS_PER_SECOND: '100000' };

describe('Two serving processes on one DATA_DIR', () => {
  const dataDir = freshDataDir();
  let first: KeyhubProcess;
  let second: KeyhubProcess;
  let third: KeyhubProcess | null = null;
  afterAll(async () => {
    await third?.stop();
    await second?.stop();
    await first?.stop();
  });

  beforeAll(async () => {
    // Started at once on an empty DATA_DIR: both create the log's table, both need the development secret.
    [first, second] = await Promise.all([startKeyhubProcess({ dataDir, env: { ...ENV, JWT_SECRET: '' } }), startKeyhubProcess({ dataDir, env: { ...ENV, JWT_SECRET: '' } })]);
  });

  const identities = { owner: { sub: 'alice', account: 'acct-shared' }, gateway: { sub: 'gw', account: 'platform', roles: ['gateway'] } };
  // Signed with the development secret the two processes share.
  const clientOn = (keyhub: KeyhubProcess, identity: { sub: string; account: string; roles?: string[] }): Promise<Client> =>
    clientFor(keyhub.url, identity, readFileSync(join(dataDir, 'jwt-secret'), 'utf8').trim());

  it('both take the one development secret, written by exactly one of them', async () => {
    for (const keyhub of [first, second]) {
      const owner = await clientOn(keyhub, identities.owner);
      expect((await owner.call(QUOTA)).accountQuota).toEqual({ limit: KEY_LIMIT, used: 0 });
    }
    // Only the process that generated the secret prints a token on its first start.
    expect([first, second].filter((keyhub) => /Bearer [A-Za-z0-9._-]+/.test(keyhub.output()))).toHaveLength(1);
  });

  it('keeps the key limit exact for concurrent creates through both, and each sees the keys created through the other', async () => {
    const owners = [await clientOn(first, identities.owner), await clientOn(second, identities.owner)];
    const attempts = await Promise.all(
      Array.from({ length: 20 }, (_, i) => (owners[i % 2] as Client).raw(CREATE, { input: { name: `key ${i}`, acceptTerms: true } })),
    );
    const created = attempts.filter((response) => !response.errors);
    const refused = attempts.filter((response) => response.errors);
    expect(created).toHaveLength(KEY_LIMIT);
    expect(refused.map((response) => errorOf(response).code)).toEqual(Array(20 - KEY_LIMIT).fill('QUOTA_EXCEEDED'));
    const ids = created.map((response) => response.data.createApiKey.apiKey.id).sort();
    for (const owner of owners) {
      await until(async () => (await owner.call(LIST, { first: 50 })).apiKeys.totalCount === KEY_LIMIT, REVOCATION_BOUND_MS);
      const listed = (await owner.call(LIST, { first: 50 })).apiKeys.nodes.map((node: { id: string }) => node.id).sort();
      expect(listed).toEqual(ids);
      expect((await owner.call(QUOTA)).accountQuota).toEqual({ limit: KEY_LIMIT, used: KEY_LIMIT });
    }
  });

  it('refuses a key disabled through one process at the other within the bound, and never accepts it after that', async () => {
    const account = { sub: 'bob', account: 'acct-revoke' };
    for (const [through, at] of [
      [first, second],
      [second, first],
    ] as const) {
      const owner = await clientOn(through, account);
      const gateway = await clientOn(at, identities.gateway);
      const { apiKey, secret } = (await owner.call(CREATE, { input: { name: 'to revoke', acceptTerms: true } })).createApiKey;
      await until(async () => (await gateway.call(VERIFY, { key: secret })).verifyApiKey.valid === true, REVOCATION_BOUND_MS);

      await owner.call(SET_STATUS, { id: apiKey.id, status: 'DISABLED' });
      const revokedAt = Date.now();
      for (;;) {
        const answer = (await gateway.call(VERIFY, { key: secret })).verifyApiKey;
        if (!answer.valid) {
          expect(answer.reason).toBe('DISABLED');
          break;
        }
        expect(Date.now() - revokedAt).toBeLessThan(REVOCATION_BOUND_MS);
      }
      for (let i = 0; i < 50; i += 1) expect((await gateway.call(VERIFY, { key: secret })).verifyApiKey).toMatchObject({ valid: false, reason: 'DISABLED' });
    }
  });

  it('a rolling restart: one process killed outright, the other keeps serving and writing, and a new one starts with every key', async () => {
    expect(await first.stop('SIGKILL')).toBeNull(); // killed mid-life: its locks and shared-memory state go with it
    const owner = await clientOn(second, identities.owner);
    const other = await clientOn(second, { sub: 'carol', account: 'acct-rolling' });
    const { apiKey } = (await other.call(CREATE, { input: { name: 'after the kill', acceptTerms: true } })).createApiKey;
    third = await startKeyhubProcess({ dataDir, env: { ...ENV, JWT_SECRET: '' } });
    const ownerOnThird = await clientOn(third, identities.owner);
    expect((await ownerOnThird.call(LIST, { first: 50 })).apiKeys.nodes.map((node: { id: string }) => node.id).sort()).toEqual(
      (await owner.call(LIST, { first: 50 })).apiKeys.nodes.map((node: { id: string }) => node.id).sort(),
    );
    expect((await (await clientOn(third, { sub: 'carol', account: 'acct-rolling' })).call(LIST, { first: 50 })).apiKeys.nodes.map((node: { id: string }) => node.id)).toEqual([apiKey.id]);
  });

  it('creates the log owner-only (0600): it names every account and key', () => {
    expect(statSync(join(dataDir, 'events.sqlite')).mode & 0o777).toBe(0o600);
  });
});
