import { randomBytes, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { InProcessDatabase } from './adapters/inProcess/inProcessDatabase';
import { SqliteEventStore } from './adapters/sqlite/sqliteEventStore';
import { ApiKeyCommands } from './application/apiKeyCommands';
import { ApiKeyQueries } from './application/apiKeyQueries';
import { KeyVerifier } from './application/keyVerifier';
import { publishApplied } from './application/liveFeed';
import type { Database } from './application/ports/collection';
import type { EventStore } from './application/ports/eventStore';
import { UsageRecorder } from './application/usageRecorder';
import { JwtAuthenticator, developmentJwtSecret } from './auth';
import type { Config } from './config';
import { createKeyhubPubSub, pubSubSink } from './graphql/pubsub';
import { buildKeyhubSchema } from './graphql/schema';
import type { HttpApp } from './http/server';
import { createHttpApp } from './http/server';
import { mountForwardAuth } from './http/forwardAuth';
import type { Logger } from './logger';
import type { KeyIndexDocument } from '../projections/readModel';
import { COLLECTIONS } from '../projections/readModel';
import { ProjectionRunner } from '../projections/runner';

export interface Engines {
  store: EventStore;
  readModel: Database;
  /** For the startup line: which engines are in use. */
  names: { eventStore: string; readModel: string };
  close(): Promise<void>;
}

/** The embedded default: a durable SQLite log under DATA_DIR and the in-process read model. */
export async function openEngines(config: Config): Promise<Engines> {
  const file = join(config.DATA_DIR, 'events.sqlite');
  const store = new SqliteEventStore(file);
  return {
    store,
    readModel: new InProcessDatabase(),
    names: { eventStore: `embedded SQLite log (${file})`, readModel: 'in-process (rebuilt from the log at start)' },
    close: () => store.dispose(),
  };
}

export interface Keyhub {
  http: HttpApp;
  url: string;
  jwt: JwtAuthenticator;
  engines: Engines;
  stop(): Promise<void>;
}

/** The composition root: config in, a running service out. The only place that creates adapters. */
export async function startKeyhub(config: Config, logger: Logger): Promise<Keyhub> {
  const jwtSecret = config.JWT_SECRET ?? developmentJwtSecret(config.DATA_DIR).secret;
  const jwt = new JwtAuthenticator(jwtSecret);
  const engines = await openEngines(config);
  const { store, readModel } = engines;

  const runner = new ProjectionRunner(store, readModel, logger);
  const pubSub = createKeyhubPubSub();
  runner.onApplied((events) => publishApplied(events, pubSubSink(pubSub)));

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
    verifier: new KeyVerifier(readModel.collection<KeyIndexDocument>(COLLECTIONS.keyIndex), usage),
  };

  let ready = false;
  const http = await createHttpApp({
    schema: await buildKeyhubSchema(pubSub),
    services,
    authenticator: jwt,
    logger,
    isReady: () => ready && runner.healthy,
    routes: (app) => mountForwardAuth(app, { verifier: services.verifier, isReady: () => ready && runner.healthy, gatewayToken: config.FORWARD_AUTH_TOKEN }),
  });

  const startedAt = Date.now();
  await runner.start();
  usage.start();
  await runner.caughtUp;
  ready = true;
  const url = await http.listen(config.PORT, config.HOST);
  logger.info(
    { url, eventStore: engines.names.eventStore, readModel: engines.names.readModel, startupMs: Date.now() - startedAt },
    `keyhub listening on ${url}`,
  );

  return {
    http,
    url,
    jwt,
    engines,
    stop: async () => {
      await http.stop();
      await usage.stop();
      await runner.stop();
      await engines.close();
    },
  };
}
