import { newOwner } from '../support/apiHelpers';
import type { Client as WsClient } from 'graphql-ws';
import type { KeyhubSpecification } from '../support/apiSpecification';
import { startApiSpecification } from '../support/apiSpecification';
import { clientFor, connected, subscribe, tokenFor, wsClient } from '../support/graphqlClient';
import { API_KEY_EVENTS, CREATE, DELETE, KEY_STATUS_CHANGED, RENAME, SET_STATUS } from '../support/operations';

describe('Live feeds over graphql-ws', () => {
  let keyhub: KeyhubSpecification;
  const clients: WsClient[] = [];
  const open = async (token: string | null) => {
    const client = wsClient(keyhub.wsUrl, token);
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    keyhub = await startApiSpecification();
  });
  afterAll(async () => {
    await Promise.all(clients.map((client) => client.dispose()));
    await keyhub.stop();
  });

  /** Subscribes and waits until the server's feed listens (the composition's hook says so). */
  const liveSubscription = (owner: Awaited<ReturnType<typeof clientFor>>, query: string, variables: Record<string, unknown> = {}) => keyhub.live(owner, query, variables);
  /** Creates a key as a marker: a feed's next message must be about it, which proves nothing else came before it. */
  const marker = async (owner: Awaited<ReturnType<typeof clientFor>>) => (await owner.call(CREATE, { input: { name: 'marker', acceptTerms: true } })).createApiKey.apiKey.id as string;

  it('pushes creation, disable, enable and deletion as status changes, only for the caller\'s account', async () => {
    const owner = await newOwner(keyhub.url, 'alice');
    const other = await newOwner(keyhub.url, 'bob');
    const mine = await liveSubscription(owner, KEY_STATUS_CHANGED);
    const theirs = await liveSubscription(other, KEY_STATUS_CHANGED);

    const { apiKey } = (await owner.call(CREATE, { input: { name: 'watched', acceptTerms: true } })).createApiKey;
    await owner.call(RENAME, { id: apiKey.id, name: 'renamed' }); // not a status change
    await owner.call(SET_STATUS, { id: apiKey.id, status: 'DISABLED' });
    await owner.call(SET_STATUS, { id: apiKey.id, status: 'ENABLED' });
    await owner.call(DELETE, { id: apiKey.id });

    const changes = [];
    for (let i = 0; i < 4; i += 1) changes.push((await mine.next()).keyStatusChanged);
    expect(changes.map((change) => [change.status, change.version])).toEqual([
      ['ENABLED', 1],
      ['DISABLED', 3],
      ['ENABLED', 4],
      ['DELETED', 5],
    ]);
    expect(changes.every((change) => change.keyId === apiKey.id && change.accountId === owner.identity.account)).toBe(true);
    // Nothing else for either: the next change each feed sees is a marker created after all of the above.
    const theirMarker = await marker(other);
    expect((await theirs.next()).keyStatusChanged).toMatchObject({ keyId: theirMarker, accountId: other.identity.account, status: 'ENABLED' });
    const myMarker = await marker(owner);
    expect((await mine.next()).keyStatusChanged).toMatchObject({ keyId: myMarker, status: 'ENABLED' });
  });

  it('filters to one key when an id is given', async () => {
    const owner = await newOwner(keyhub.url, 'alice');
    const first = (await owner.call(CREATE, { input: { name: 'first', acceptTerms: true } })).createApiKey.apiKey;
    const second = (await owner.call(CREATE, { input: { name: 'second', acceptTerms: true } })).createApiKey.apiKey;
    const subscription = await liveSubscription(owner, KEY_STATUS_CHANGED, { id: second.id });
    await owner.call(SET_STATUS, { id: first.id, status: 'DISABLED' });
    await owner.call(SET_STATUS, { id: second.id, status: 'DISABLED' });
    await owner.call(SET_STATUS, { id: first.id, status: 'ENABLED' });
    await owner.call(SET_STATUS, { id: second.id, status: 'ENABLED' });
    // The first key's two changes never reach this feed: the second key's two come back to back.
    expect((await subscription.next()).keyStatusChanged).toMatchObject({ keyId: second.id, status: 'DISABLED' });
    expect((await subscription.next()).keyStatusChanged).toMatchObject({ keyId: second.id, status: 'ENABLED' });
  });

  it('streams every lifecycle event with its actor, and never the secret', async () => {
    const owner = await newOwner(keyhub.url, 'carol');
    const subscription = await liveSubscription(owner, API_KEY_EVENTS);
    const { apiKey, secret } = (await owner.call(CREATE, { input: { name: 'audited', acceptTerms: true } })).createApiKey;
    await owner.call(RENAME, { id: apiKey.id, name: 'audited 2' });
    const created = (await subscription.next()).apiKeyEvents;
    const renamed = (await subscription.next()).apiKeyEvents;
    expect(created).toMatchObject({ keyId: apiKey.id, type: 'ApiKeyCreated', version: 1, actor: 'carol' });
    expect(renamed).toMatchObject({ type: 'ApiKeyRenamed', version: 2, data: { name: 'audited 2', previousName: 'audited' } });
    expect(JSON.stringify([created, renamed])).not.toContain(secret);
    expect(JSON.stringify(created)).not.toContain('secretHash');
  });

  it('refuses a connection without a valid token', async () => {
    for (const token of [null, await tokenFor({ sub: 'x', account: 'y' }, 'a-different-secret-of-at-least-32-characters')]) {
      const client = await open(token);
      subscribe(client, KEY_STATUS_CHANGED);
      await expect(connected(client)).rejects.toMatchObject({ code: 4403 });
    }
  });
});
