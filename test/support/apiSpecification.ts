import { randomBytes } from 'node:crypto';
import type { Client as WsClient } from 'graphql-ws';
import { SqliteEventStore } from '../../src/adapters/sqlite/sqliteEventStore';
import type { Keyhub } from '../../src/compositionRoot';
import { startKeyhub } from '../../src/compositionRoot';
import { loadConfig } from '../../src/config';
import type { DomainEventShape } from '../../src/eventLog/streams';
import { EVENT_SCHEMA_VERSION, USAGE_STREAM, toChainedEventData } from '../../src/eventLog/streams';
import { createLogger } from '../../src/logger';
import type { Position, RecordedEvent } from '../../src/ports/eventStore';
import { BACKWARDS, END, NO_STREAM, comparePositions } from '../../src/ports/eventStore';
import { inProcessEngines } from '../adapters/serviceHarness';
import type { Client } from './apiHelpers';
import type { GraphQLResponse } from './graphqlClient';
import { connected, gql, subscribe, wsClient } from './graphqlClient';
import { TEST_JWT_SECRET } from './keyhubProcess';

/**
 * The service in this process, as `npm start` composes it (startKeyhub, the real HTTP and
 * WebSocket front door), on an in-memory SQLite log, with time and ids in the test's hand:
 *
 *   await api.given(existingStream(apiKeyStream(id), [apiKeyCreated(…)]))
 *     .when(api.graphql(owner.token, GET, { id }))
 *     .then(expectResponse({ data: … }), expectNewEvents(apiKeyStream(id), [{ type: 'ApiKeyRenamed' }]));
 *
 * The clock starts at the real time and moves only when a test advances it (expiry, grace periods,
 * last use); ids are numbered; JSON Web Tokens and transport timers keep real time. `live` resolves
 * once the server's feed listens (a hook in the composition), so no test sleeps to wait for it.
 */

export interface TestClock {
  now(): Date;
  /** Moves time forward by `ms`. */
  advance(ms: number): void;
}

export interface ExistingStream {
  streamName: string;
  events: DomainEventShape[];
  actor: string;
}

/** A stream already in the log before the request (appended as the service would: chained, with an actor). */
export const existingStream = (streamName: string, events: DomainEventShape[], actor = 'given'): ExistingStream => ({ streamName, events, actor });

export interface ForwardAuthResponse {
  status: number;
  keyId: string | null;
  accountId: string | null;
  failure: string | null;
  body: { valid: boolean; reason?: string; [field: string]: unknown };
}

export type ApiResponse = GraphQLResponse | ForwardAuthResponse;

/** What a request did: its response, and the events it appended (every stream, in log order). */
export interface Outcome<R extends ApiResponse> {
  response: R;
  newEvents: RecordedEvent[];
}

export type Expectation<R extends ApiResponse> = (outcome: Outcome<R>) => void;

/** The response matches `expected` (a partial object: jest's toMatchObject). */
export const expectResponse =
  <R extends ApiResponse>(expected: Record<string, unknown>): Expectation<R> =>
  ({ response }) =>
    expect(response).toMatchObject(expected);

/** The first GraphQL error has this code (and this offending field, when given). */
export const expectError =
  (code: string, field?: string): Expectation<GraphQLResponse> =>
  ({ response }) => {
    expect(response.errors?.[0]?.extensions?.code).toBe(code);
    if (field !== undefined) expect(response.errors?.[0]?.extensions?.field).toBe(field);
  };

/** The request appended exactly these events to `streamName` (each matched as a partial object). */
export const expectNewEvents =
  <R extends ApiResponse>(streamName: string, expected: Array<{ type: string; data?: Record<string, unknown> }>): Expectation<R> =>
  ({ newEvents }) =>
    expect(newEvents.filter((event) => event.streamId === streamName)).toMatchObject(expected);

/**
 * The request changed nothing: no event was appended to any key or account stream. (Key uses are
 * appended by the service's flush timer whenever it runs, so they are not counted here; a test of
 * uses writes them with `flushUses` and reads lastUsedAt.)
 */
export const expectNoNewEvents =
  <R extends ApiResponse>(): Expectation<R> =>
  ({ newEvents }) =>
    expect(newEvents.filter((event) => event.streamId !== USAGE_STREAM)).toEqual([]);

export interface LiveFeed<T> extends ReturnType<typeof subscribe<T>> {
  client: WsClient;
}

export interface KeyhubSpecification {
  url: string;
  wsUrl: string;
  baseUrl: string;
  clock: TestClock;
  keyhub: Keyhub;
  given(...streams: ExistingStream[]): { when<R extends ApiResponse>(request: () => Promise<R>): { then(...expectations: Array<Expectation<R>>): Promise<Outcome<R>> } };
  /** A GraphQL request over HTTP with a bearer token (or none). */
  graphql<T = any>(token: string | null, query: string, variables?: Record<string, unknown>): () => Promise<GraphQLResponse<T>>;
  /** A forward-auth call as a gateway makes it. */
  forwardAuth(headers: Record<string, string>, path?: string, method?: string): () => Promise<ForwardAuthResponse>;
  /** Appends existing streams and waits until the read model reflects them. */
  append(...streams: ExistingStream[]): Promise<void>;
  /** Resolves when the next live feed of `accountId` to subscribe listens (call before subscribing). */
  listening(accountId: string): Promise<void>;
  /** Subscribes over graphql-ws and resolves once the server's feed listens: every event applied from then on reaches it. */
  live<T = any>(owner: Client, query: string, variables?: Record<string, unknown>, extra?: Parameters<typeof wsClient>[2]): Promise<LiveFeed<T>>;
  /** Writes the key uses the verifier noted (the flush a timer does in the service) and waits until the read model shows them. */
  flushUses(): Promise<void>;
  /** Resolves once the read model reflects everything in the log. */
  settled(): Promise<void>;
  stop(): Promise<void>;
}

/** Numbered ids shaped like UUIDs (v4 variant bits), unique within a run. */
export const numberedIds = (prefix = '00000000-0000-4000-8000'): (() => string) => {
  let next = 0;
  return () => `${prefix}-${(next += 1).toString(16).padStart(12, '0')}`;
};

export async function startApiSpecification(options: { env?: Record<string, string> } = {}): Promise<KeyhubSpecification> {
  let nowMs = Date.now();
  const clock: TestClock = { now: () => new Date(nowMs), advance: (ms) => void (nowMs += ms) };
  const store = new SqliteEventStore(':memory:');
  const listening = new Map<string, Array<() => void>>();
  const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', JWT_SECRET: TEST_JWT_SECRET, DATA_DIR: '/nonexistent-never-written', LOG_LEVEL: 'silent', ...options.env });
  const keyhub = await startKeyhub(config, createLogger('silent'), inProcessEngines(store), {
    clock: clock.now,
    newId: numberedIds(),
    randomBytes,
    liveFeedSubscribed: (accountId) => listening.get(accountId)?.shift()?.(),
  });
  const sockets: WsClient[] = [];
  const { runner, usage } = keyhub.core;

  const logEnd = async (): Promise<Position | null> => {
    for await (const resolved of store.readAll({ fromPosition: END, direction: BACKWARDS, maxCount: 1 })) return resolved.event?.position ?? null;
    return null;
  };
  const settled = async () => {
    const end = await logEnd();
    if (end && !(await runner.waitFor(end))) throw new Error('the read model did not catch up with the log');
  };
  const eventsAfter = async (position: Position | null): Promise<RecordedEvent[]> => {
    const events: RecordedEvent[] = [];
    for await (const resolved of store.readAll()) {
      const event = resolved.event;
      if (event && (position === null || comparePositions(event.position, position) > 0)) events.push(event);
    }
    return events;
  };
  const append = async (...streams: ExistingStream[]) => {
    for (const { streamName, events, actor } of streams) {
      const metadata = { actor, correlationId: 'given', causationId: 'given', schemaVersion: EVENT_SCHEMA_VERSION };
      await store.appendToStream(streamName, toChainedEventData(events, metadata, null), { expectedRevision: NO_STREAM });
    }
    await settled();
  };
  const baseUrl = keyhub.url.replace(/\/graphql$/, '');
  const nextListening = (accountId: string) => new Promise<void>((resolve) => listening.set(accountId, [...(listening.get(accountId) ?? []), resolve]));

  return {
    url: keyhub.url,
    wsUrl: keyhub.url.replace(/^http/, 'ws'),
    baseUrl,
    clock,
    keyhub,
    given: (...streams) => ({
      when: (request) => ({
        then: async (...expectations) => {
          await append(...streams);
          const before = await logEnd();
          const response = await request();
          await settled();
          const outcome = { response, newEvents: await eventsAfter(before) };
          for (const expectation of expectations) expectation(outcome);
          return outcome;
        },
      }),
    }),
    graphql: (token, query, variables = {}) => () => gql(keyhub.url, token, query, variables),
    forwardAuth:
      (headers, path = '/auth', method = 'GET') =>
      async () => {
        const response = await fetch(`${baseUrl}${path}`, { method, headers });
        return {
          status: response.status,
          keyId: response.headers.get('x-key-id'),
          accountId: response.headers.get('x-account-id'),
          failure: response.headers.get('x-auth-failure'),
          body: (await response.json()) as ForwardAuthResponse['body'],
        };
      },
    append,
    listening: nextListening,
    live: async (owner, query, variables = {}, extra = {}) => {
      const client = wsClient(keyhub.url.replace(/^http/, 'ws'), owner.token, extra);
      sockets.push(client);
      const accountId = owner.identity.account;
      const listens = nextListening(accountId);
      const feed = subscribe(client, query, variables);
      await connected(client);
      await listens;
      return Object.assign(feed, { client });
    },
    flushUses: async () => {
      await usage.flush();
      await settled();
    },
    settled,
    stop: async () => {
      await Promise.all(sockets.map((socket) => socket.dispose()));
      await keyhub.stop();
    },
  };
}
