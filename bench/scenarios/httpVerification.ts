import type { LoadFigures } from '../load';
import { forwardAuthRequest, isValidVerdict, load, verifyGraphqlRequest } from '../load';
import type { Progress } from '../progress';

export interface HttpVerificationFigures {
  /** The bare node:http verifier, GET /auth: the peer of forward auth. */
  baseline: LoadFigures[];
  /** The bare JSON endpoint, POST /graphql with the same body: the peer of verifyApiKey over GraphQL. */
  bareJson: LoadFigures[];
  /** A minimal Apollo server with one resolver, the same request: the floor of Apollo itself. */
  minimalApollo: LoadFigures[];
  graphql: LoadFigures[];
  forwardAuth: LoadFigures[];
}

const PEERS = ['baseline', 'bareJson', 'minimalApollo', 'graphql', 'forwardAuth'] as const;

const mean = (runs: LoadFigures[], pick: (run: LoadFigures) => number) => runs.reduce((sum, run) => sum + pick(run), 0) / Math.max(1, runs.length);

/** Averages of several runs (requests/s, p50, p99; failures summed). */
export const summarise = (runs: LoadFigures[]): LoadFigures => ({
  requestsPerSecond: mean(runs, (run) => run.requestsPerSecond),
  p50Ms: mean(runs, (run) => run.p50Ms),
  p99Ms: mean(runs, (run) => run.p99Ms),
  requests: runs.reduce((sum, run) => sum + run.requests, 0),
  failures: runs.reduce((sum, run) => sum + run.failures, 0),
});

/**
 * keyhub's verifyApiKey over GraphQL and forward auth, and their peers (the bare verifier, the bare
 * JSON endpoint, the minimal Apollo server), 64 connections each, measured in alternation (bare
 * verifier, bare JSON, minimal Apollo, GraphQL, forward auth, bare verifier, ...) so that drift of
 * the shared machine affects all alike. Each server is warmed up first.
 */
export async function httpVerification(options: {
  progress: Progress;
  servicePort: number;
  baselinePort: number;
  minimalApolloPort: number;
  secrets: readonly string[];
  gatewayToken: string;
  rounds: number;
  seconds: number;
  connections: number;
}): Promise<HttpVerificationFigures> {
  const { progress, servicePort, baselinePort, minimalApolloPort, secrets, gatewayToken, seconds, connections } = options;
  const auth = (port: number) => ({ port, method: 'GET' as const, path: '/auth', request: forwardAuthRequest(secrets) });
  const verify = (port: number) => ({ port, method: 'POST' as const, path: '/graphql', request: verifyGraphqlRequest(secrets, gatewayToken), accept: isValidVerdict });
  const targets = { baseline: auth(baselinePort), bareJson: verify(baselinePort), minimalApollo: verify(minimalApolloPort), graphql: verify(servicePort), forwardAuth: auth(servicePort) };
  const warmup = Math.max(0.5, Math.min(2, seconds / 3));
  for (const name of PEERS) await progress.timed(`warm-up ${name}`, warmup, () => load({ ...targets[name], connections, durationSeconds: warmup }));
  const figures: HttpVerificationFigures = { baseline: [], bareJson: [], minimalApollo: [], graphql: [], forwardAuth: [] };
  for (let round = 1; round <= options.rounds; round += 1) {
    for (const name of PEERS) {
      const result = await progress.timed(`round ${round}/${options.rounds} ${name}`, seconds, () => load({ ...targets[name], connections, durationSeconds: seconds }));
      figures[name].push(result);
    }
  }
  return figures;
}
