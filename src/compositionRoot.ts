import { randomBytes, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { EventStoreDbStore } from './adapters/eventstoredb/eventStoreDbStore';
import { InProcessDatabase } from './adapters/inProcess/inProcessDatabase';
import { MongoReadModel } from './adapters/mongodb/mongoReadModel';
import { SqliteEventStore } from './adapters/sqlite/sqliteEventStore';
import { ApiKeyCommands } from './application/apiKeyCommands';
import { AccountRequestLimiter } from './application/accountRequestLimiter';
import { ApiKeyQueries } from './application/apiKeyQueries';
import { KeyVerifier, VerificationCache } from './application/keyVerifier';
import { LeakReportLimiter } from './application/leakReportLimiter';
import { publishApplied } from './application/liveFeed';
import { LiveFeeds } from './application/liveFeeds';
import type { Database } from './application/ports/collection';
import type { EventStore } from './application/ports/eventStore';
import { UsageRecorder } from './application/usageRecorder';
import { JwtAuthenticator, developmentJwtSecret } from './auth';
import type { Config } from './config';
import { createKeyhubPubSub, pubSubLiveSource, pubSubSink } from './graphql/pubsub';
import { buildKeyhubSchema } from './graphql/schema';
import type { HttpApp } from './http/server';
import { createHttpApp } from './http/server';
import { mountForwardAuth } from './http/forwardAuth';
import { Lifecycle } from './lifecycle';
import type { Logger } from './logger';
import type { KeyIndexDocument } from '../projections/readModel';
import { COLLECTIONS } from '../projections/readModel';
import { ProjectionRunner } from '../projections/runner';

export interface Engines {
  store: EventStore;
  readModel: Database;
  /** For the startup line: which engines are in use. */
  names: { eventStore: string; readModel: string };
  /** True when an engine is a server that may be down: listen first, then connect with backoff. */
  external: boolean;
  /** One round trip to each engine server, each within its own deadline; throws the port's "unavailable" error. */
  probe(): Promise<void>;
  close(): Promise<void>;
}

/** A server that accepts the connection but never answers must not hang start-up (the ESDB client sets no deadline on reads). */
const ENGINE_PROBE_TIMEOUT_MS = 5000;

/**
 * The engines by configuration alone: EVENTSTORE_URL selects EventStoreDB for the log, MONGODB_URL
 * MongoDB for the read model; each can be chosen alone. Without them: the embedded default, a
 * durable SQLite log under DATA_DIR and the in-process read model.
 */
export async function openEngines(config: Config): Promise<Engines> {
  const eventStoreDb = config.EVENTSTORE_URL ? EventStoreDbStore.connect(config.EVENTSTORE_URL) : null;
  const mongo = config.MONGODB_URL ? MongoReadModel.connect(config.MONGODB_URL, config.MONGODB_DB) : null;
  const file = join(config.DATA_DIR, 'events.sqlite');
  const store = eventStoreDb ?? new SqliteEventStore(file);
  return {
    store,
    readModel: mongo ?? new InProcessDatabase(),
    names: {
      eventStore: eventStoreDb?.description ?? `embedded SQLite log (${file})`,
      readModel: mongo?.description ?? 'in-process (rebuilt from the log at start)',
    },
    external: eventStoreDb !== null || mongo !== null,
    probe: async () => {
      await eventStoreDb?.probe(ENGINE_PROBE_TIMEOUT_MS);
      await mongo?.probe();
    },
    close: async () => {
      // A call hung on a server that stopped answering can keep the client's dispose waiting: bound it.
      const bounded = (closing: Promise<void> | undefined) => Promise.race([closing, new Promise<void>((resolve) => setTimeout(resolve, 2000).unref())]);
      await Promise.all([bounded(store.dispose()), bounded(mongo?.close())]);
    },
  };
}

const CONNECT_RETRY_DELAYS_MS = [500, 1000, 2000, 5000, 10_000, 15_000];

/** Runs `connect` until it succeeds, waiting longer after each failure; gives up only when `signal` aborts. */
async function retryWithBackoff(connect: () => Promise<void>, logger: Logger, signal: AbortSignal, lifecycle: Lifecycle): Promise<boolean> {
  for (let attempt = 0; !signal.aborted; attempt += 1) {
    try {
      await connect();
      return true;
    } catch (error) {
      const retryInMs = CONNECT_RETRY_DELAYS_MS[Math.min(attempt, CONNECT_RETRY_DELAYS_MS.length - 1)] as number;
      lifecycle.unavailable(`cannot reach the engines (${(error as Error).message})`);
      logger.warn({ err: error, attempt: attempt + 1, retryInMs }, `cannot reach the engines (${(error as Error).message}); /readyz answers 503, retrying in ${retryInMs / 1000} s`);
      if (signal.aborted) break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, retryInMs);
        signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
      });
    }
  }
  return false;
}

export interface Keyhub {
  http: HttpApp;
  url: string;
  jwt: JwtAuthenticator;
  engines: Engines;
  stop(): Promise<void>;
}

/** The composition root: config in, a running service out. The only place that creates adapters. */
export async function startKeyhub(
  config: Config,
  logger: Logger,
  /** Tests replace the engines (e.g. with ones that fail on demand); the service uses `openEngines`. */
  open: (config: Config) => Promise<Engines> = openEngines,
): Promise<Keyhub> {
  const jwtSecret = config.JWT_SECRET ?? developmentJwtSecret(config.DATA_DIR).secret;
  const jwt = new JwtAuthenticator(jwtSecret);
  const engines = await open(config);
  const { store, readModel } = engines;

  const runner = new ProjectionRunner(store, readModel, logger);
  const pubSub = createKeyhubPubSub();
  runner.onApplied((events) => publishApplied(events, pubSubSink(pubSub)));
  // Fed by the event stream only: evicts before a revoking command returns; bypassed while the runner is unhealthy.
  const verificationCache = new VerificationCache(() => runner.healthy);
  runner.onApplied((events) => verificationCache.applied(events));

  const usage = new UsageRecorder(store, logger, config.USAGE_WINDOW_SECONDS * 1000);
  const queries = new ApiKeyQueries(readModel, store, config.KEY_LIMIT_DEFAULT);
  const services = {
    queries,
    commands: new ApiKeyCommands({
      store,
      readModel,
      projection: runner,
      queries,
      clock: () => new Date(),
      newId: randomUUID,
      randomBytes,
      defaultRegion: config.DEFAULT_REGION,
      defaultKeyLimit: config.KEY_LIMIT_DEFAULT,
    }),
    verifier: new KeyVerifier(readModel.collection<KeyIndexDocument>(COLLECTIONS.keyIndex), usage, Date.now, verificationCache),
    liveFeeds: new LiveFeeds(store, pubSubLiveSource(pubSub), config.WS_MAX_PENDING_EVENTS),
    leakReports: new LeakReportLimiter(config.LEAK_REPORTS_PER_MINUTE),
  };

  const lifecycle = new Lifecycle(() => (runner.healthy ? null : 'the read model lost the event store or fell behind it; catching up once the engines answer'));
  const http = await createHttpApp({
    schema: await buildKeyhubSchema(pubSub),
    services,
    authenticator: jwt,
    logger,
    lifecycle,
    accountRequests: new AccountRequestLimiter(config.ACCOUNT_REQUESTS_PER_SECOND),
    production: config.production,
    trustProxy: config.TRUST_PROXY,
    webSocket: {
      keepAliveMs: config.WS_KEEPALIVE_MS,
      maxSubscriptions: config.WS_MAX_SUBSCRIPTIONS,
      maxConnections: config.WS_MAX_CONNECTIONS,
      maxConnectionsPerAddress: config.WS_MAX_CONNECTIONS_PER_ADDRESS,
    },
    routes: (router) => mountForwardAuth(router, { verifier: services.verifier, isReady: () => lifecycle.serving, gatewayToken: config.FORWARD_AUTH_TOKEN }),
  });

  const startedAt = Date.now();
  const stopping = new AbortController();
  const engineLine = `event store: ${engines.names.eventStore}; read model: ${engines.names.readModel}`;
  // Connect (retrying while an engine is down), catch the read model up with the log, then report ready.
  const bringUp = async (): Promise<void> => {
    const connected = await retryWithBackoff(async () => (await engines.probe(), await runner.start()), logger, stopping.signal, lifecycle);
    if (!connected) return;
    usage.start();
    const aborted = new Promise<void>((resolve) => stopping.signal.addEventListener('abort', () => resolve(), { once: true }));
    await Promise.race([runner.caughtUp, aborted]);
    if (!stopping.signal.aborted) lifecycle.ready();
  };
  let url: string;
  let startingUp: Promise<void> = Promise.resolve();
  if (engines.external) {
    // Engine servers may be down or slow to start: listen at once, /readyz says 503 until they answer.
    url = await http.listen(config.PORT, config.HOST);
    logger.info({ url, eventStore: engines.names.eventStore, readModel: engines.names.readModel }, `keyhub listening on ${url} (${engineLine}); not ready until the engines answer`);
    startingUp = bringUp().then(() => {
      if (lifecycle.current.status === 'ready') logger.info({ url, startupMs: Date.now() - startedAt }, `keyhub ready on ${url}`);
    });
  } else {
    await bringUp();
    url = await http.listen(config.PORT, config.HOST);
    logger.info({ url, eventStore: engines.names.eventStore, readModel: engines.names.readModel, startupMs: Date.now() - startedAt }, `keyhub listening on ${url} (${engineLine})`);
  }

  return {
    http,
    url,
    jwt,
    engines,
    stop: async () => {
      lifecycle.stopping();
      stopping.abort();
      await http.stop();
      await startingUp;
      await usage.stop();
      await runner.stop();
      await engines.close();
    },
  };
}
