import { performance } from 'node:perf_hooks';
import type { Client } from 'graphql-ws';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { KEY_STATUS_CHANGED, SET_STATUS, graphql } from '../operations';
import type { Progress } from '../progress';
import { percentile } from '../stats';

export interface SubscriberFigures {
  subscribers: number;
  received: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

/**
 * The service runs with its default fairness limits (ACCOUNT_REQUESTS_PER_SECOND 100, 100
 * connections per client address): the subscribers start at most this many subscriptions a second,
 * and each connects from an address of its own (the bench's service trusts loopback proxies).
 */
const SUBSCRIPTIONS_PER_SECOND = 90;

/** A ws client presenting `address` as its client address, through X-Forwarded-For. */
const webSocketFrom = (address: string) =>
  class extends WebSocket {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols, { headers: { 'x-forwarded-for': address } });
    }
  };

/**
 * N graphql-ws clients of one account subscribe to keyStatusChanged. A first status change
 * (a warm-up) proves that every subscription is registered; then the clock starts, the key's
 * status changes again, and each client's receipt is timed from the moment the mutation was sent.
 */
export async function subscribers(options: { progress: Progress; port: number; ownerToken: string; keyId: string; count: number }): Promise<SubscriberFigures> {
  const { port, ownerToken, keyId, count } = options;
  const arrivals = new Map<string, number[]>([
    ['DISABLED', []],
    ['ENABLED', []],
  ]);
  const clients: Client[] = [];
  const disposers: Array<() => void> = [];
  const bar = options.progress.counter('subscribers connected', count);
  let batchStartedAt = Date.now();
  for (let i = 0; i < count; i += 1) {
    if (i > 0 && i % SUBSCRIPTIONS_PER_SECOND === 0) {
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, batchStartedAt + 1000 - Date.now())));
      batchStartedAt = Date.now();
    }
    const client = createClient({
      url: `ws://127.0.0.1:${port}/graphql`,
      webSocketImpl: webSocketFrom(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`),
      connectionParams: { authorization: `Bearer ${ownerToken}` },
      retryAttempts: 0,
      lazy: true,
    });
    clients.push(client);
    const connected = new Promise<void>((resolve, reject) => {
      const off = client.on('connected', () => (off(), resolve()));
      client.on('closed', (event) => reject(new Error(`subscriber closed: ${JSON.stringify(event)}`)));
    });
    disposers.push(
      client.subscribe<{ keyStatusChanged: { keyId: string; status: string } }>(
        { query: KEY_STATUS_CHANGED },
        {
          next: (message) => {
            const change = message.data?.keyStatusChanged;
            if (change?.keyId === keyId) arrivals.get(change.status)?.push(performance.now());
          },
          error: () => undefined,
          complete: () => undefined,
        },
      ),
    );
    await connected;
    if (i % 50 === 49) bar.update(i + 1);
  }
  bar.update(count);
  bar.stop();

  const waitFor = async (status: string, timeoutMs: number) => {
    const deadline = Date.now() + timeoutMs;
    while ((arrivals.get(status) as number[]).length < count && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
  };
  try {
    await graphql(port, ownerToken, SET_STATUS, { id: keyId, status: 'DISABLED' });
    await waitFor('DISABLED', 15_000);
    options.progress.note(`warm-up change reached ${(arrivals.get('DISABLED') as number[]).length}/${count} subscribers`);
    const sent = performance.now();
    await graphql(port, ownerToken, SET_STATUS, { id: keyId, status: 'ENABLED' });
    await waitFor('ENABLED', 10_000);
    const latencies = (arrivals.get('ENABLED') as number[]).map((at) => at - sent).sort((a, b) => a - b);
    return {
      subscribers: count,
      received: latencies.length,
      p50Ms: percentile(latencies, 0.5),
      p99Ms: percentile(latencies, 0.99),
      maxMs: latencies[latencies.length - 1] ?? NaN,
    };
  } finally {
    for (const dispose of disposers) dispose();
    await Promise.all(clients.map((client) => client.dispose()));
  }
}
