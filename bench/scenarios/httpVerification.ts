import type { LoadFigures } from '../load';
import { forwardAuthRequest, isValidVerdict, load, verifyGraphqlRequest } from '../load';
import type { Progress } from '../progress';

export interface HttpVerificationFigures {
  baseline: LoadFigures[];
  graphql: LoadFigures[];
  forwardAuth: LoadFigures[];
}

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
 * The baseline, verifyApiKey over GraphQL and forward auth, 64 connections each, measured in
 * alternation (baseline, GraphQL, forward auth, baseline, ...) so that drift of the machine
 * affects all three alike. Each server is warmed up first.
 */
export async function httpVerification(options: {
  progress: Progress;
  servicePort: number;
  baselinePort: number;
  secrets: readonly string[];
  gatewayToken: string;
  rounds: number;
  seconds: number;
  connections: number;
}): Promise<HttpVerificationFigures> {
  const { progress, servicePort, baselinePort, secrets, gatewayToken, seconds, connections } = options;
  const runs = {
    baseline: () => load({ port: baselinePort, connections, durationSeconds: seconds, method: 'GET', path: '/auth', request: forwardAuthRequest(secrets) }),
    graphql: () =>
      load({ port: servicePort, connections, durationSeconds: seconds, method: 'POST', path: '/graphql', request: verifyGraphqlRequest(secrets, gatewayToken), accept: isValidVerdict }),
    forwardAuth: () => load({ port: servicePort, connections, durationSeconds: seconds, method: 'GET', path: '/auth', request: forwardAuthRequest(secrets) }),
  };
  const warmup = Math.max(0.5, Math.min(2, seconds / 3));
  for (const [name, target] of [
    ['baseline', { port: baselinePort, method: 'GET' as const, path: '/auth', request: forwardAuthRequest(secrets) }],
    ['GraphQL', { port: servicePort, method: 'POST' as const, path: '/graphql', request: verifyGraphqlRequest(secrets, gatewayToken) }],
    ['forward auth', { port: servicePort, method: 'GET' as const, path: '/auth', request: forwardAuthRequest(secrets) }],
  ] as const) {
    await progress.timed(`warm-up ${name}`, warmup, () => load({ ...target, connections, durationSeconds: warmup }));
  }
  const figures: HttpVerificationFigures = { baseline: [], graphql: [], forwardAuth: [] };
  for (let round = 1; round <= options.rounds; round += 1) {
    for (const name of ['baseline', 'graphql', 'forwardAuth'] as const) {
      const result = await progress.timed(`round ${round}/${options.rounds} ${name}`, seconds, runs[name]);
      figures[name].push(result);
    }
  }
  return figures;
}
