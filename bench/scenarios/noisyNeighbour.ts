import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { FloodFigures, FloodOrders } from '../flood';
import type { LoadFigures } from '../load';
import { forwardAuthRequest, isValidVerdict, load, verifyGraphqlRequest } from '../load';
import type { Progress } from '../progress';

export interface NoisyNeighbourFigures {
  quiet: { forwardAuth: LoadFigures; graphql: LoadFigures };
  flooded: { forwardAuth: LoadFigures; graphql: LoadFigures };
  /** p99 under the flood ÷ p99 without it. */
  ratios: { forwardAuth: number; graphql: number };
  flood: FloodFigures;
}

const VICTIM_CONNECTIONS = 16;
/** autocannon reports whole-millisecond latencies: below 1 ms counts as 1 ms, so a ratio is always a number. */
const ratio = (flooded: number, quiet: number): number => Math.max(flooded, 1) / Math.max(quiet, 1);
/** autocannon's requests per second are per-second samples: a run needs at least two seconds to have any. */
const MIN_SECONDS = 2;

/** Other tenants' verifications, over /auth and over GraphQL at once, for `seconds`. */
async function victims(port: number, secrets: readonly string[], gatewayToken: string, seconds: number) {
  const [forwardAuth, graphql] = await Promise.all([
    load({ port, connections: VICTIM_CONNECTIONS, durationSeconds: seconds, method: 'GET', path: '/auth', request: forwardAuthRequest(secrets) }),
    load({ port, connections: VICTIM_CONNECTIONS, durationSeconds: seconds, method: 'POST', path: '/graphql', request: verifyGraphqlRequest(secrets, gatewayToken), accept: isValidVerdict }),
  ]);
  return { forwardAuth, graphql };
}

/**
 * What one tenant can do to the others: other tenants' verification p99 (/auth and verifyApiKey)
 * without and with one account flooding the API with the most expensive operations the limits
 * admit, over HTTP and graphql-ws. The flood runs in a worker thread; its requests are counted by
 * how they were answered (admitted, refused with a code, timed out). On two cores the load
 * generators share the machine with the service, so part of any slowdown is theirs, not keyhub's.
 */
export async function noisyNeighbour(options: {
  progress: Progress;
  port: number;
  victimSecrets: readonly string[];
  gatewayToken: string;
  attackerToken: string;
  attackerKeyId: string;
  seconds: number;
}): Promise<NoisyNeighbourFigures> {
  const { progress, port, victimSecrets, gatewayToken } = options;
  const seconds = Math.max(MIN_SECONDS, options.seconds);
  const quiet = await progress.timed('other tenants without a flood', seconds, () => victims(port, victimSecrets, gatewayToken, seconds));
  const orders: FloodOrders = { port, attackerToken: options.attackerToken, keyId: options.attackerKeyId, seconds: seconds + 1, httpConnections: 16, wsClients: 8 };
  const worker = new Worker(join(__dirname, '..', 'flood.js'), { workerData: orders });
  const flood = new Promise<FloodFigures>((resolve, reject) => {
    worker.once('message', (figures: FloodFigures) => resolve(figures));
    worker.once('error', reject);
  });
  await new Promise((resolve) => setTimeout(resolve, 500)); // the flood ramps up first
  const flooded = await progress.timed('other tenants during one account\'s flood', seconds, () => victims(port, victimSecrets, gatewayToken, seconds));
  const figures = await flood;
  await worker.terminate();
  return {
    quiet,
    flooded,
    ratios: { forwardAuth: ratio(flooded.forwardAuth.p99Ms, quiet.forwardAuth.p99Ms), graphql: ratio(flooded.graphql.p99Ms, quiet.graphql.p99Ms) },
    flood: figures,
  };
}
