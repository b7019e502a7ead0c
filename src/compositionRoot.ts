import { randomBytes, randomUUID } from 'node:crypto';
import { ApiKeyCommands } from './application/apiKeyCommands';
import { AccountRequestLimiter } from './application/accountRequestLimiter';
import { ApiKeyQueries } from './application/apiKeyQueries';
import { commandHandler } from './application/commandHandler';
import { KeyVerifier } from './application/keyVerifier';
import { LeakReportIntake } from './application/leakReportIntake';
import { LeakReportLimiter } from './application/leakReportLimiter';
import { publishApplied } from './application/liveFeedPublisher';
import { LiveFeeds } from './application/liveFeedSubscriptions';
import { EventStoreWriteHealth } from './application/eventStoreWriteHealth';
import { projectionReadiness } from './readiness';
import { readYourWrites } from './application/readYourWrites';
import { TokenUsageIntake } from './application/tokenUsageIntake';
import { UsageRecorder } from './application/usageRecorder';
import type { UsageRetention } from './application/usageQueries';
import { currentWindowBuckets, dropExpiredUsage } from './application/usageQueries';
import { VerificationCache } from './application/verificationCache';
import { JwtAuthenticator, developmentJwtSecret } from './auth';
import { auditKeyring } from './domain/audit/hashChain';
import type { Config } from './config';
import type { Engines } from './engines';
import { openEngines } from './engines';
import type { Services } from './graphql/context';
import type { KeyhubPubSub } from './graphql/pubsub';
import { createKeyhubPubSub, publishWebhookStatusChange, pubSubLiveSource, pubSubSink } from './graphql/pubsub';
import { buildKeyhubSchema } from './graphql/schema';
import type { HttpApp } from './http/server';
import { createHttpApp } from './http/server';
import { clientAddressOf } from './http/clientAddress';
import { mountForwardAuth } from './http/forwardAuth';
import { listenForMetrics, mountMetrics } from './http/metricsRoute';
import { operationMetricsPlugin, operationRecorder } from './graphql/operationMetrics';
import { measuredCache, measuredEventStore, measuredVerifier, projectionLag } from './observability/instrument';
import { KeyhubMetrics } from './observability/metrics';
import { KEYHUB_STREAM_PREFIXES } from './eventLog/streams';
import { OUTBOX_SOURCE_PREFIXES, WebhookOutbox } from './application/webhooks/webhookOutbox';
import { WebhookDeliveryLog } from './application/webhooks/webhookDeliveryLog';
import { WebhookSender } from './application/webhooks/webhookSender';
import { TimedNotices } from './application/webhooks/timedNotices';
import { WebhookService, webhookSecrets } from './application/webhooks/webhookService';
import { DEFAULT_RETRY_POLICY } from './domain/webhooks/notifications';
import { Lifecycle } from './lifecycle';
import { USAGE_PATH, usageReportHandler } from './http/usageReport';
import type { Logger } from './logger';
import { keyIndexIn, keyLastUseIn, keyOwnersIn } from './readModel/keyLookups';
import { loadScopeCatalog } from './scopeCatalogFile';
import { ProjectionRunner } from '../projections/runner';

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

const HOUR_MS = 3_600_000;

const usageRetentionOf = (config: Config): UsageRetention => ({
  MINUTE: config.USAGE_RETENTION_MINUTE_HOURS === 0 ? null : config.USAGE_RETENTION_MINUTE_HOURS * HOUR_MS,
  HOUR: config.USAGE_RETENTION_HOUR_DAYS === 0 ? null : config.USAGE_RETENTION_HOUR_DAYS * 24 * HOUR_MS,
  DAY: config.USAGE_RETENTION_DAY_DAYS === 0 ? null : config.USAGE_RETENTION_DAY_DAYS * 24 * HOUR_MS,
});

/** Drops usage buckets past their retention now and every hour. */
function startUsageRetention(readModel: Engines['readModel'], retention: UsageRetention, logger: Logger): NodeJS.Timeout {
  const drop = () => void dropExpiredUsage(readModel, retention, Date.now()).catch((error) => logger.warn({ err: error }, 'could not drop expired usage buckets; will retry'));
  drop();
  const timer = setInterval(drop, HOUR_MS);
  timer.unref();
  return timer;
}

/** The service without its transports: the projection runner, the live feeds' pub/sub, the use-case services. */
export interface KeyhubCore {
  runner: ProjectionRunner;
  pubSub: KeyhubPubSub;
  usage: UsageRecorder;
  services: Services;
  writeHealth: EventStoreWriteHealth;
  /** Operators' metrics (GET /metrics); `services.verifier` counts as path `graphql`, `authVerifier` as `auth`. */
  metrics: KeyhubMetrics;
  authVerifier: KeyVerifier;
  /** The webhook outbox (fed from the log), the deliveries' state and the sender: started once the engines answer. */
  webhooks: { outbox: WebhookOutbox; deliveries: WebhookDeliveryLog; sender: WebhookSender; notices: TimedNotices; start(): void; stop(): Promise<void> };
}

/** What time, ids and randomness are; tests and the bench may fix them. */
export interface Environment {
  clock: () => Date;
  newId: () => string;
  randomBytes: (size: number) => Buffer;
  /** Told each time a live feed has subscribed to the pub/sub (an event published from then on reaches it): tests wait on it instead of sleeping. */
  liveFeedSubscribed?: (accountId: string) => void;
  /** How long a mutation waits for the read model to reflect it (5 s by default). */
  readYourWritesTimeoutMs?: number;
}

const REAL_ENVIRONMENT: Environment = { clock: () => new Date(), newId: randomUUID, randomBytes };

/** Wires the application on the engines: used by `startKeyhub` and by the bench, so both run the same service. */
export function composeKeyhub(engines: Pick<Engines, 'store' | 'readModel'>, config: Config, logger: Logger, environment: Environment = REAL_ENVIRONMENT): KeyhubCore {
  const metrics = new KeyhubMetrics();
  const { readModel } = engines;
  const nowMs = () => environment.clock().getTime();
  const writeHealth = new EventStoreWriteHealth(logger, environment.clock);
  const store = writeHealth.observe(measuredEventStore(engines.store, metrics));
  const runner = new ProjectionRunner(store, readModel, logger, { waitForTimeoutMs: environment.readYourWritesTimeoutMs ?? 5000 });
  const pubSub = createKeyhubPubSub();
  runner.onApplied((events) => publishApplied(events, pubSubSink(pubSub)));
  // Fed by the event stream only: evicts before a revoking command returns; bypassed while the runner is unhealthy.
  const verificationCache = new VerificationCache(() => runner.healthy);
  runner.onApplied((events) => verificationCache.applied(events));

  const usage = new UsageRecorder(store, logger, config.USAGE_FLUSH_MS, nowMs);
  // Other instances' flushed counts join this one's (its own are recognised by instance id).
  runner.onApplied((events) => usage.applied(events));
  const keyIndex = keyIndexIn(readModel);
  const verifier = new KeyVerifier(keyIndex, usage, nowMs, measuredCache(verificationCache, metrics));
  const keyring = auditKeyring(config.AUDIT_HMAC_KEY, config.AUDIT_HMAC_RETIRED_KEYS, { requireKeyed: config.AUDIT_HMAC_REQUIRED });
  const production = config.NODE_ENV === 'production';
  // JWT_SECRET is set here by startKeyhub (the development secret when unset); a bare composition signs with a fixed development key.
  const signingSecretOf = webhookSecrets(config.WEBHOOK_SIGNING_KEY, config.JWT_SECRET ?? 'keyhub development webhooks');
  const deliveries = new WebhookDeliveryLog(store, logger);
  const outbox = new WebhookOutbox(store, logger, environment.clock);
  const webhookService = new WebhookService(commandHandler(store, keyring.current), deliveries, signingSecretOf, { clock: environment.clock, newId: environment.newId, production });
  const sender = new WebhookSender(
    store,
    deliveries,
    signingSecretOf,
    { retry: { ...DEFAULT_RETRY_POLICY, retryForMs: config.WEBHOOK_RETRY_FOR_SECONDS * 1000 }, timeoutMs: config.WEBHOOK_TIMEOUT_MS, maxInFlight: 16, production, pollMs: 1000 },
    { clock: environment.clock, random: Math.random },
    logger,
    {
      onResult: (status) => metrics.webhookDeliveries.inc({ result: status === 'PENDING' ? 'retry' : status.toLowerCase() }),
      onFailed: (webhookId) => webhookService.disable(webhookId, 'deliveries failed for the whole retry window'),
    },
  );
  deliveries.onChange(() => sender.kick());
  deliveries.onStatusChange(publishWebhookStatusChange(pubSub));
  const notices = new TimedNotices(store, readModel, (kind) => deliveries.accountsWanting(kind), environment.clock, logger);
  const services: Services = {
    queries: new ApiKeyQueries(readModel, store, config.KEY_LIMIT_DEFAULT, keyring),
    commands: new ApiKeyCommands({
      settled: readYourWrites(commandHandler(store, keyring.current), runner, (keyIds, position) => {
        // The projection is late: this instance's cache forgets the keys before the mutation returns.
        verificationCache.forget(keyIds, position);
        logger.warn({ keyIds, position: position.commit.toString() }, 'the read model did not reflect a change in time; its keys were evicted from the verification cache');
      }),
      keyIndex,
      keyLastUse: keyLastUseIn(readModel),
      clock: environment.clock,
      newId: environment.newId,
      randomBytes: environment.randomBytes,
      defaultRegion: config.DEFAULT_REGION,
      defaultKeyLimit: config.KEY_LIMIT_DEFAULT,
    }),
    verifier: measuredVerifier(verifier, metrics, 'graphql'),
    liveFeeds: new LiveFeeds(store, pubSubLiveSource(pubSub, environment.liveFeedSubscribed), config.WS_MAX_PENDING_EVENTS, config.FEED_REPLAY_MAX_EVENTS),
    tokenUsage: new TokenUsageIntake(keyOwnersIn(readModel), usage, nowMs),
    scopeCatalog: loadScopeCatalog(config.SCOPE_CATALOG_FILE),
    webhooks: webhookService,
    leakReports: new LeakReportIntake(new LeakReportLimiter({ perAddressPerMinute: config.LEAK_REPORTS_PER_MINUTE, totalPerMinute: config.LEAK_REPORTS_PER_MINUTE_TOTAL }), logger),
  };
  metrics.watch({
    verificationCacheEntries: () => verificationCache.size,
    projections: [
      { name: 'read-model', healthy: () => runner.healthy, lag: () => projectionLag(store, runner.checkpoint, KEYHUB_STREAM_PREFIXES, environment.clock().getTime()) },
      { name: 'webhook-outbox', healthy: () => outbox.healthy, lag: () => projectionLag(store, outbox.position, OUTBOX_SOURCE_PREFIXES, environment.clock().getTime()) },
    ],
  });
  const webhooks = {
    outbox,
    deliveries,
    sender,
    notices,
    start: () => (outbox.start(), deliveries.start(), sender.start(), notices.start()),
    stop: async () => (await notices.stop(), await sender.stop(), await outbox.stop(), await deliveries.stop()),
  };
  return { runner, pubSub, usage, services, writeHealth, metrics, authVerifier: measuredVerifier(verifier, metrics, 'auth'), webhooks };
}


export interface Keyhub {
  http: HttpApp;
  url: string;
  /** The metrics listener's URL when METRICS_PORT is set. */
  metricsUrl: string | null;
  jwt: JwtAuthenticator;
  /** True when this start generated the development JWT secret (no JWT_SECRET, a DATA_DIR without one): the first start. */
  developmentSecretGenerated: boolean;
  engines: Engines;
  /** The read model's progress and the pending key uses (tests wait on the one and flush the other). */
  core: Pick<KeyhubCore, 'runner' | 'usage'>;
  stop(): Promise<void>;
}

/** The composition root: config in, a running service out. The only place (with engines.ts, which picks the engines) that creates adapters. */
export async function startKeyhub(
  config: Config,
  logger: Logger,
  /** Tests replace the engines (e.g. with ones that fail on demand); the service uses `openEngines`. */
  open: (config: Config) => Promise<Engines> = (config) => openEngines(config, { serving: true }),
  /** Tests fix time, ids and randomness (JWTs and transport timers keep real time). */
  environment: Environment = REAL_ENVIRONMENT,
): Promise<Keyhub> {
  const development = config.JWT_SECRET ? null : developmentJwtSecret(config.DATA_DIR);
  const jwtSecret = config.JWT_SECRET ?? (development?.secret as string);
  const jwt = new JwtAuthenticator(jwtSecret, Date.now, { issuer: config.JWT_ISSUER, audience: config.JWT_AUDIENCE });
  const engines = await open(config);

  const { runner, pubSub, usage, services, writeHealth, metrics, authVerifier, webhooks } = composeKeyhub(engines, { ...config, JWT_SECRET: jwtSecret }, logger, environment);

  const lifecycle = new Lifecycle(() => runner.problem?.message ?? null);
  const recordOperation = operationRecorder(metrics);
  const http = await createHttpApp({
    schema: await buildKeyhubSchema(pubSub),
    services,
    authenticator: jwt,
    logger,
    lifecycle,
    accountRequests: new AccountRequestLimiter(config.ACCOUNT_REQUESTS_PER_SECOND),
    production: config.NODE_ENV === 'production',
    graphiql: config.GRAPHIQL ?? config.NODE_ENV !== 'production',
    readinessProblems: () => [...projectionReadiness(runner.problem), ...writeHealth.problems()],
    trustProxy: config.TRUST_PROXY,
    webSocket: {
      keepAliveMs: config.WS_KEEPALIVE_MS,
      maxSubscriptions: config.WS_MAX_SUBSCRIPTIONS,
      maxConnections: config.WS_MAX_CONNECTIONS,
      maxConnectionsPerAddress: config.WS_MAX_CONNECTIONS_PER_ADDRESS,
    },
    plugins: [operationMetricsPlugin(recordOperation)],
    onKnownOperation: recordOperation,
    routes: (router) => {
      // On the main port only with its token in production; METRICS_PORT serves it on a listener of its own instead.
      if (config.METRICS_PORT === undefined && (config.METRICS_TOKEN !== undefined || config.NODE_ENV !== 'production')) mountMetrics(router, metrics, config.METRICS_TOKEN);
      mountForwardAuth(router, {
        verifier: authVerifier,
        isReady: () => lifecycle.serving,
        gatewayToken: config.FORWARD_AUTH_TOKEN,
        clientAddress: clientAddressOf(config.TRUST_PROXY),
        onError: (error) => logger.error({ err: error }, 'unexpected error answering forward auth'),
      });
      const reportUsage = usageReportHandler({
        intake: services.tokenUsage,
        isReady: () => lifecycle.serving,
        gatewayToken: config.FORWARD_AUTH_TOKEN,
        onError: (error) => logger.error({ err: error }, 'unexpected error answering a usage report'),
      });
      router.route({ path: USAGE_PATH, methods: ['POST'] }, reportUsage);
    },
  });
  metrics.watch({ webSockets: () => http.webSocketStats() });
  const metricsListener =
    config.METRICS_PORT === undefined ? null : await listenForMetrics(metrics, config.METRICS_TOKEN, config.METRICS_PORT, config.HOST, (error) => logger.error({ err: error }, 'unexpected error answering /metrics'));
  if (metricsListener) logger.info({ url: metricsListener.url }, `metrics on ${metricsListener.url}`);
  else if (config.NODE_ENV === 'production' && config.METRICS_TOKEN === undefined) logger.warn('GET /metrics is not served: in production it needs METRICS_TOKEN, or METRICS_PORT for a listener of its own');

  const startedAt = Date.now();
  const stopping = new AbortController();
  let retention: NodeJS.Timeout | null = null;
  const engineLine = `event store: ${engines.names.eventStore}; read model: ${engines.names.readModel}`;
  // Connect (retrying while an engine is down), catch the read model up with the log, then report ready.
  const bringUp = async (): Promise<void> => {
    let seeded = false;
    const connected = await retryWithBackoff(
      async () => {
        await engines.probe();
        // A read model that outlived this instance (MongoDB) holds the current windows' counts up to its checkpoint; the runner adds the rest.
        if (!seeded) usage.seed(await currentWindowBuckets(engines.readModel, environment.clock().getTime()), environment.clock().getTime());
        seeded = true;
        await runner.start();
      },
      logger,
      stopping.signal,
      lifecycle,
    );
    if (!connected) return;
    usage.start();
    retention = startUsageRetention(engines.readModel, usageRetentionOf(config), logger);
    webhooks.start();
    const aborted = new Promise<void>((resolve) => stopping.signal.addEventListener('abort', () => resolve(), { once: true }));
    await Promise.race([runner.caughtUpOrStopped, aborted]); // stopped at an undecodable event: listen, and let /readyz say why
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
    metricsUrl: metricsListener?.url ?? null,
    jwt,
    developmentSecretGenerated: development?.generated ?? false,
    engines,
    core: { runner, usage },
    stop: async () => {
      lifecycle.stopping();
      stopping.abort();
      if (retention) clearInterval(retention);
      await http.stop();
      if (metricsListener) await new Promise<void>((resolve) => metricsListener.server.close(() => resolve()));
      await startingUp;
      await usage.stop();
      await webhooks.stop();
      await runner.stop();
      await engines.close();
    },
  };
}
