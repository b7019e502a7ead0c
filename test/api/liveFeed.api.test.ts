import { randomUUID } from 'node:crypto';
import type { Client as WsClient } from 'graphql-ws';
import WebSocket from 'ws';
import type { KeyhubSpecification } from '../support/apiSpecification';
import { existingStream, startApiSpecification } from '../support/apiSpecification';
import { sleep, newOwner as ownerOf } from '../support/apiHelpers';
import { apiKeyCreated } from '../support/eventFixtures';
import { apiKeyStream } from '../../src/eventLog/streams';
import { clientFor, connected, subscribe, tokenFor, wsClient } from '../support/graphqlClient';
import { CREATE, DESCRIBE, RENAME, SET_STATUS, UPDATE_SCOPE } from '../support/operations';
import { API_KEY_EVENTS_AFTER, KEY_STATUS_CHANGED_AFTER } from '../support/keyCareOperations';

type Client = Awaited<ReturnType<typeof clientFor>>;
type FeedEvent = { id: string; keyId: string; type: string; version: number; cursor: string };
const MAX_SUBSCRIPTIONS = 3;
const MAX_PENDING = 10;
const MAX_REPLAYED = 1000;

/** Resolves with the close event of a graphql-ws client. */
const closedOf = (client: WsClient) => new Promise<{ code: number; reason: string }>((resolve) => client.on('closed', (event) => resolve(event as { code: number; reason: string })));

/** Runs a subscription and collects its first message, errors included (the `subscribe` helper keeps data only). */
const firstMessage = (client: WsClient, query: string, variables: Record<string, unknown>) =>
  new Promise<{ data?: unknown; errors?: Array<{ message: string; extensions?: { code?: string; field?: string } }> }>((resolve, reject) => {
    client.subscribe({ query, variables }, { next: (message) => resolve(message as never), error: (errors) => resolve({ errors: errors as never }), complete: () => undefined });
    setTimeout(() => reject(new Error('no message')), 5000);
  });

describe('Gap-free live feeds and connection limits', () => {
  let keyhub: KeyhubSpecification;
  const sockets: WsClient[] = [];
  const open = (owner: Client, extra: Parameters<typeof wsClient>[2] = {}) => {
    const client = wsClient(keyhub.wsUrl, owner.token, extra);
    sockets.push(client);
    return client;
  };
  const newOwner = () => ownerOf(keyhub.url);
  /** Subscribes and waits until the server's feed listens (the composition's hook says so). */
  async function live(owner: Client, query: string, variables: Record<string, unknown> = {}, extra: Parameters<typeof wsClient>[2] = {}) {
    const feed = await keyhub.live<Record<string, FeedEvent>>(owner, query, variables, extra);
    return { client: feed.client, feed };
  }
  /** A key created as a marker: an apiKeyEvents feed's next event must be its creation, which proves nothing else came before. */
  const expectNextIsMarker = async (owner: Client, feed: { next(timeoutMs?: number): Promise<Record<string, FeedEvent>> }) => {
    const { apiKey } = (await owner.call(CREATE, { input: { name: 'marker', acceptTerms: true } })).createApiKey;
    expect((await take(feed, 1))[0]).toMatchObject({ keyId: apiKey.id, type: 'ApiKeyCreated', version: 1 });
  };
  const take = async (feed: { next(timeoutMs?: number): Promise<Record<string, FeedEvent>> }, count: number, field = 'apiKeyEvents') => {
    const items: FeedEvent[] = [];
    for (let i = 0; i < count; i += 1) items.push((await feed.next(10_000))[field] as FeedEvent);
    return items;
  };

  beforeAll(async () => {
    keyhub = await startApiSpecification({
      env: {
        WS_MAX_SUBSCRIPTIONS: String(MAX_SUBSCRIPTIONS),
        WS_MAX_PENDING_EVENTS: String(MAX_PENDING),
        FEED_REPLAY_MAX_EVENTS: String(MAX_REPLAYED),
        // One tenant writes more than the replay may read, as fast as it can: not what the per-account limit is tested by.
        ACCOUNT_REQUESTS_PER_SECOND: '100000',
      },
    });
  });
  afterAll(async () => {
    await Promise.all(sockets.map((socket) => socket.dispose()));
    await keyhub.stop();
  });

  it('pushes each event with its cursor; reconnecting with the last cursor delivers every missed event in order, then live ones, no duplicates', async () => {
    const owner = await newOwner();
    const stranger = await newOwner();
    const first = await live(owner, API_KEY_EVENTS_AFTER);
    const { apiKey } = (await owner.call(CREATE, { input: { name: 'watched', acceptTerms: true } })).createApiKey;
    await owner.call(RENAME, { id: apiKey.id, name: 'watched 2' });
    const seen = await take(first.feed, 2);
    expect(seen.map((event) => [event.type, event.version])).toEqual([['ApiKeyCreated', 1], ['ApiKeyRenamed', 2]]);
    expect(seen.every((event) => /^\d+-\d+$/.test(event.cursor))).toBe(true);
    await first.client.dispose();

    // Missed while away, with another account's events in between.
    await owner.call(SET_STATUS, { id: apiKey.id, status: 'DISABLED' });
    await stranger.call(CREATE, { input: { name: 'not yours', acceptTerms: true } });
    await owner.call(SET_STATUS, { id: apiKey.id, status: 'ENABLED' });
    await owner.call(DESCRIBE, { id: apiKey.id, d: 'missed' });

    const resumed = await live(owner, API_KEY_EVENTS_AFTER, { after: seen[1]?.cursor });
    const missed = await take(resumed.feed, 3);
    expect(missed.map((event) => [event.type, event.version])).toEqual([['ApiKeyStatusChanged', 3], ['ApiKeyStatusChanged', 4], ['ApiKeyDescriptionUpdated', 5]]);
    await owner.call(RENAME, { id: apiKey.id, name: 'live again' });
    expect((await take(resumed.feed, 1))[0]).toMatchObject({ type: 'ApiKeyRenamed', version: 6 });
    await expectNextIsMarker(owner, resumed.feed);
  });

  it('loses and repeats nothing when events keep coming while the feed catches up', async () => {
    const owner = await newOwner();
    const { apiKey } = (await owner.call(CREATE, { input: { name: 'busy', acceptTerms: true } })).createApiKey;
    const watcher = await live(owner, API_KEY_EVENTS_AFTER);
    await owner.call(RENAME, { id: apiKey.id, name: 'busy 0' });
    const cursor = (await take(watcher.feed, 1))[0]?.cursor;
    await watcher.client.dispose();
    for (let i = 1; i <= 30; i += 1) await owner.call(RENAME, { id: apiKey.id, name: `busy ${i}` });

    const resumed = await live(owner, API_KEY_EVENTS_AFTER, { after: cursor });
    const writes = (async () => {
      for (let i = 31; i <= 50; i += 1) await owner.call(RENAME, { id: apiKey.id, name: `busy ${i}` });
    })();
    const events = await take(resumed.feed, 50);
    await writes;
    expect(events.map((event) => event.version)).toEqual(Array.from({ length: 50 }, (_, i) => i + 3));
    await expectNextIsMarker(owner, resumed.feed);
  });

  it('resumes keyStatusChanged for one key from a cursor, with the reason', async () => {
    const owner = await newOwner();
    const { apiKey } = (await owner.call(CREATE, { input: { name: 'status', acceptTerms: true } })).createApiKey;
    const other = (await owner.call(CREATE, { input: { name: 'other', acceptTerms: true } })).createApiKey.apiKey;
    const watcher = await live(owner, KEY_STATUS_CHANGED_AFTER, { id: apiKey.id });
    await owner.call(SET_STATUS, { id: apiKey.id, status: 'DISABLED' });
    const [disabled] = await take(watcher.feed, 1, 'keyStatusChanged');
    await watcher.client.dispose();
    await owner.call(SET_STATUS, { id: other.id, status: 'DISABLED' });
    await owner.call(RENAME, { id: apiKey.id, name: 'not a status change' });
    await owner.call(SET_STATUS, { id: apiKey.id, status: 'ENABLED' });
    const resumed = await live(owner, KEY_STATUS_CHANGED_AFTER, { id: apiKey.id, after: disabled?.cursor });
    expect((await take(resumed.feed, 1, 'keyStatusChanged'))[0]).toMatchObject({ keyId: apiKey.id, status: 'ENABLED', reason: 'OWNER', version: 4 });
    // Nothing else: the next change on this feed is the marker (this key disabled again, after the other key's change).
    await owner.call(SET_STATUS, { id: other.id, status: 'ENABLED' });
    await owner.call(SET_STATUS, { id: apiKey.id, status: 'DISABLED' });
    expect((await take(resumed.feed, 1, 'keyStatusChanged'))[0]).toMatchObject({ keyId: apiKey.id, status: 'DISABLED', version: 5 });
  });

  it('answers a cursor it never issued with BAD_USER_INPUT on after', async () => {
    const owner = await newOwner();
    const client = open(owner);
    const message = await firstMessage(client, API_KEY_EVENTS_AFTER, { after: 'not-a-cursor' });
    expect(message.errors?.[0]?.extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'after' });
  });

  it('ends a feed resumed from a cursor more than FEED_REPLAY_MAX_EVENTS behind with BAD_USER_INPUT on after', async () => {
    const owner = await newOwner();
    const watcher = await live(owner, API_KEY_EVENTS_AFTER);
    await owner.call(CREATE, { input: { name: 'watched', acceptTerms: true } });
    const cursor = (await take(watcher.feed, 1))[0]?.cursor;
    // Another tenant's key has more events after the cursor than the replay may read.
    const busy = { keyId: randomUUID(), accountId: `acct-${randomUUID()}` };
    const occurredAt = keyhub.clock.now().toISOString();
    const runs = Array.from({ length: MAX_REPLAYED }, (_, i) => ({ type: 'ApiKeyDescriptionUpdated', data: { ...busy, occurredAt, description: `run ${i}` } }));
    await keyhub.append(existingStream(apiKeyStream(busy.keyId), [apiKeyCreated({ ...busy, occurredAt }), ...runs], 'noisy'));
    const message = await firstMessage(open(owner), API_KEY_EVENTS_AFTER, { after: cursor });
    expect(message.errors?.[0]?.extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'after' });
    expect(message.errors?.[0]?.message).toContain(`${MAX_REPLAYED} log events old`);
  });

  it(`limits a connection to ${MAX_SUBSCRIPTIONS} subscriptions`, async () => {
    const owner = await newOwner();
    const client = open(owner);
    const listening = Array.from({ length: MAX_SUBSCRIPTIONS }, () => keyhub.listening(owner.identity.account));
    for (let i = 0; i < MAX_SUBSCRIPTIONS; i += 1) subscribe(client, API_KEY_EVENTS_AFTER);
    await connected(client);
    await Promise.all(listening);
    const refused = await firstMessage(client, API_KEY_EVENTS_AFTER, {});
    expect(refused.errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');
  });

  it('closes a connection when its token expires, with a reason saying so', async () => {
    const identity = { sub: 'short-lived', account: `acct-${randomUUID()}` };
    const token = await tokenFor(identity, undefined, '2s');
    const client = wsClient(keyhub.wsUrl, token);
    sockets.push(client);
    subscribe(client, API_KEY_EVENTS_AFTER);
    const closed = closedOf(client);
    await connected(client);
    const started = Date.now();
    expect(await closed).toMatchObject({ code: 4401, reason: expect.stringContaining('token expired') });
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('disconnects a client that stops reading once it falls too far behind, and it resumes with its cursor', async () => {
    const owner = await newOwner();
    const { apiKey } = (await owner.call(CREATE, { input: { name: 'firehose', acceptTerms: true } })).createApiKey;
    const created: WebSocket[] = [];
    class TrackedWebSocket extends WebSocket {
      constructor(...args: ConstructorParameters<typeof WebSocket>) {
        super(...args);
        created.push(this);
      }
    }
    const slow = await live(owner, API_KEY_EVENTS_AFTER, {}, { webSocketImpl: TrackedWebSocket });
    const closed = closedOf(slow.client);
    const socket = (created[0] as unknown as { _socket: { pause(): void; resume(): void } })._socket;
    socket.pause(); // the client stops reading: the server's sends back up

    // Large events (about 25 kB each: full scopes) fill the socket buffers quickly.
    const entries = (tag: string) => Array.from({ length: 100 }, (_, i) => `${tag}-${i}-${'m'.repeat(110)}`);
    const UPDATES = 300;
    for (let i = 0; i < UPDATES; i += 1) {
      await owner.call(UPDATE_SCOPE, { id: apiKey.id, scope: { mode: 'RESTRICTED', models: entries(`a${i % 2}`), services: entries(`s${i % 2}`) } });
    }
    socket.resume();
    const close = await closed;
    expect(close).toMatchObject({ code: 4413, reason: expect.stringContaining('slow consumer') });
    const delivered = slow.feed.received.map((message) => message['apiKeyEvents'] as FeedEvent);
    expect(delivered.length).toBeLessThan(UPDATES);
    const last = delivered[delivered.length - 1];
    expect(last).toBeDefined();

    const resumed = await live(owner, API_KEY_EVENTS_AFTER, { after: last?.cursor });
    const rest = await take(resumed.feed, UPDATES + 1 - (last?.version ?? 0));
    expect([...delivered, ...rest].map((event) => event.version)).toEqual(Array.from({ length: UPDATES }, (_, i) => i + 2));
  });
});

describe('WebSocket keep-alive', () => {
  let keyhub: KeyhubSpecification;
  const sockets: WsClient[] = [];
  beforeAll(async () => {
    keyhub = await startApiSpecification({ env: { WS_KEEPALIVE_MS: '300' } });
  });
  afterAll(async () => {
    await Promise.all(sockets.map((socket) => socket.dispose()));
    await keyhub.stop();
  });

  it('pings, keeps a connection that answers, and drops one that does not', async () => {
    const owner = await ownerOf(keyhub.url, 'pinged');
    class SilentWebSocket extends WebSocket {
      constructor(address: string, protocols?: string | string[]) {
        super(address, protocols, { autoPong: false });
      }
    }
    const healthy = wsClient(keyhub.wsUrl, owner.token);
    const silent = wsClient(keyhub.wsUrl, owner.token, { webSocketImpl: SilentWebSocket });
    sockets.push(healthy, silent);
    let healthyClosed = false;
    healthy.on('closed', () => (healthyClosed = true));
    const silentClosed = closedOf(silent);
    subscribe(healthy, API_KEY_EVENTS_AFTER);
    subscribe(silent, API_KEY_EVENTS_AFTER);
    await Promise.all([connected(healthy), connected(silent)]);
    const started = Date.now();
    expect((await silentClosed).code).toBe(1006); // terminated: no close frame
    expect(Date.now() - started).toBeLessThan(2000);
    await sleep(1000);
    expect(healthyClosed).toBe(false);
  });
});
