import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Seconds: a cached verification answers in microseconds, a read-model lookup in about a millisecond. */
const VERIFY_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];
const WRITE_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/** A label whose values come from outside (operation names) keeps at most this many values; the rest count as `other`. */
const MAX_LABEL_VALUES = 200;

/** What the scrape reads from the running service when it is scraped (gauges have no events of their own). */
export interface MetricSources {
  webSockets?: () => { connections: number; subscriptions: number };
  verificationCacheEntries?: () => number;
  /** Per projection (the read model, the webhook outbox): how far behind the log it is. */
  projections?: Array<{ name: string; healthy: () => boolean; lag: () => Promise<{ events: number; seconds: number }> }>;
}

/**
 * keyhub's Prometheus metrics, in a registry of its own (not prom-client's global one), so several
 * services in one process (tests, the bench) each count their own traffic. Names follow
 * Prometheus's conventions: `_total` counters, `_seconds` histograms, base units.
 */
export class KeyhubMetrics {
  readonly registry = new Registry();
  private readonly knownOperations = new Set<string>();

  readonly verifications = new Counter({
    name: 'keyhub_verifications_total',
    help: 'Key verifications by path (auth: GET /auth, graphql: verifyApiKey) and outcome (VALID, a VerifyFailure reason, or ERROR when the read model did not answer)',
    labelNames: ['path', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly verificationSeconds = new Histogram({
    name: 'keyhub_verification_duration_seconds',
    help: 'Time to answer a key verification, by path',
    labelNames: ['path'] as const,
    buckets: VERIFY_BUCKETS,
    registers: [this.registry],
  });
  readonly verificationCacheLookups = new Counter({
    name: 'keyhub_verification_cache_lookups_total',
    help: 'Verification cache lookups by result (hit, miss); hit ratio = rate(hit) / rate(all)',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  readonly graphqlOperations = new Counter({
    name: 'keyhub_graphql_operations_total',
    help: 'GraphQL operations over HTTP by type, operation (the root fields, e.g. createApiKey) and code (OK or the first error\'s extensions.code)',
    labelNames: ['type', 'operation', 'code'] as const,
    registers: [this.registry],
  });
  readonly graphqlSeconds = new Histogram({
    name: 'keyhub_graphql_operation_duration_seconds',
    help: 'Time to answer a GraphQL operation over HTTP, by type',
    labelNames: ['type'] as const,
    buckets: WRITE_BUCKETS,
    registers: [this.registry],
  });
  readonly appendSeconds = new Histogram({
    name: 'keyhub_eventstore_append_duration_seconds',
    help: 'Time of an append to the event store (successful or not)',
    buckets: WRITE_BUCKETS,
    registers: [this.registry],
  });
  readonly appendFailures = new Counter({
    name: 'keyhub_eventstore_append_failures_total',
    help: 'Failed appends by reason: conflict (another writer came first; retried or CONFLICT), unavailable (the store did not answer), other',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly webhookDeliveries = new Counter({
    name: 'keyhub_webhook_delivery_attempts_total',
    help: 'Webhook delivery attempts by result: delivered (2xx), retry (will be retried), failed (gave up)',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });

  constructor(options: { processMetrics?: boolean } = {}) {
    if (options.processMetrics !== false) collectDefaultMetrics({ register: this.registry, prefix: 'keyhub_' });
  }

  /** Adds the gauges read from the running service at each scrape; each source once. */
  watch(sources: MetricSources): this {
    const { webSockets, verificationCacheEntries, projections = [] } = sources;
    if (webSockets) {
      new Gauge({ name: 'keyhub_websocket_connections', help: 'Open graphql-ws connections', registers: [this.registry], collect() { this.set(webSockets().connections); } });
      new Gauge({ name: 'keyhub_websocket_subscriptions', help: 'Active operations (live feeds) over graphql-ws', registers: [this.registry], collect() { this.set(webSockets().subscriptions); } });
    }
    if (verificationCacheEntries) {
      new Gauge({ name: 'keyhub_verification_cache_entries', help: 'Secret hashes held by the verification cache', registers: [this.registry], collect() { this.set(verificationCacheEntries()); } });
    }
    if (projections.length > 0) {
      // The registry collects its metrics concurrently: the three gauges share one read of the log per scrape.
      let reading: Promise<Array<{ name: string; healthy: boolean; lag: { events: number; seconds: number } | null }>> | null = null;
      const read = () =>
        (reading ??= Promise.all(
          projections.map(async (projection) => ({ name: projection.name, healthy: projection.healthy(), lag: await projection.lag().catch(() => null) })),
        ).finally(() => (reading = null)));
      const gauge = (name: string, help: string, value: (state: Awaited<ReturnType<typeof read>>[number]) => number | null) =>
        new Gauge({
          name,
          help,
          labelNames: ['projection'] as const,
          registers: [this.registry],
          async collect() {
            for (const state of await read()) {
              const current = value(state);
              // The log did not answer: the last known lag stays, and keyhub_projection_healthy says it may be stale.
              if (current !== null) this.set({ projection: state.name }, current);
            }
          },
        });
      gauge('keyhub_projection_healthy', '1 while the projection follows the log, 0 while it failed or is catching up after a failure', (state) => (state.healthy ? 1 : 0));
      gauge('keyhub_projection_lag_events', 'Events in the log the projection has not applied yet (counted up to 10,000)', (state) => state.lag?.events ?? null);
      gauge('keyhub_projection_lag_seconds', 'Age of the oldest event the projection has not applied yet (0 when caught up)', (state) => state.lag?.seconds ?? null);
    }
    return this;
  }

  /** An operation label from outside, bounded: a client cannot grow the series without limit. */
  operationLabel(name: string): string {
    if (this.knownOperations.has(name)) return name;
    if (this.knownOperations.size >= MAX_LABEL_VALUES) return 'other';
    this.knownOperations.add(name);
    return name;
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }
}
