import type { KeyLimitsInput } from '../../src/domain/rules/limits';
import { LIMIT_MAX } from '../../src/domain/rules/limits';
import type { LoadFigures } from '../load';
import { forwardAuthRequest, load } from '../load';
import type { Progress } from '../progress';
import { summarise } from './httpVerification';

/** Every limit set, none reachable under load: every verification runs every check and counts. */
export const BENCH_LIMITS: KeyLimitsInput = { requestsPerMinute: LIMIT_MAX, requestsPerDay: LIMIT_MAX, tokensPerMinute: LIMIT_MAX, tokensPerDay: LIMIT_MAX, tokensPerMonth: LIMIT_MAX };

export const TOKEN_BATCH = 100;

const RECORD = 'mutation($entries: [TokenUsageInput!]!) { recordTokenUsage(entries: $entries) }';

export interface LimitsFigures {
  /** GET /auth on the service whose keys have no limits, and on the one whose keys all have every limit, in alternation. */
  withoutLimits: LoadFigures;
  withLimits: LoadFigures;
  ratio: number;
  /** recordTokenUsage over GraphQL, 100 entries a request. */
  graphqlEntriesPerSecond: number;
  graphql: LoadFigures;
  /** POST /usage, 100 entries a request. */
  postEntriesPerSecond: number;
  post: LoadFigures;
}

/**
 * Verification with limits on every key against verification without (two services on the same
 * number of keys, measured in alternation so drift hits both alike), then token reports in
 * batches of 100 for the limited service's keys, through recordTokenUsage and POST /usage.
 */
export async function limitsScenario(options: {
  progress: Progress;
  plainPort: number;
  limitedPort: number;
  plainSecrets: readonly string[];
  limitedSecrets: readonly string[];
  limitedKeyIds: readonly string[];
  gatewayToken: string;
  rounds: number;
  seconds: number;
  connections: number;
}): Promise<LimitsFigures> {
  const { progress, seconds, connections } = options;
  const auth = (port: number, secrets: readonly string[]) => () => load({ port, connections, durationSeconds: seconds, method: 'GET', path: '/auth', request: forwardAuthRequest(secrets) });
  const warmup = Math.max(0.5, Math.min(2, seconds / 3));
  await progress.timed('warm-up /auth with limits', warmup, () => load({ port: options.limitedPort, connections, durationSeconds: warmup, method: 'GET', path: '/auth', request: forwardAuthRequest(options.limitedSecrets) }));
  const plain: LoadFigures[] = [];
  const limited: LoadFigures[] = [];
  for (let round = 1; round <= options.rounds; round += 1) {
    plain.push(await progress.timed(`round ${round}/${options.rounds} /auth without limits`, seconds, auth(options.plainPort, options.plainSecrets)));
    limited.push(await progress.timed(`round ${round}/${options.rounds} /auth with limits`, seconds, auth(options.limitedPort, options.limitedSecrets)));
  }
  const entries = (i: number) =>
    Array.from({ length: TOKEN_BATCH }, (_, n) => ({ keyId: options.limitedKeyIds[(i * TOKEN_BATCH + n) % options.limitedKeyIds.length], model: 'qwen-max', promptTokens: 3, completionTokens: 2 }));
  const graphql = await progress.timed('recordTokenUsage, 100 entries a request', seconds, () =>
    load({
      port: options.limitedPort,
      connections,
      durationSeconds: seconds,
      method: 'POST',
      path: '/graphql',
      request: (i) => ({ headers: { 'content-type': 'application/json', authorization: `Bearer ${options.gatewayToken}` }, body: JSON.stringify({ query: RECORD, variables: { entries: entries(i) } }) }),
      accept: (body) => body.includes(`"recordTokenUsage":${TOKEN_BATCH}`),
    }),
  );
  const post = await progress.timed('POST /usage, 100 entries a request', seconds, () =>
    load({
      port: options.limitedPort,
      connections,
      durationSeconds: seconds,
      method: 'POST',
      path: '/usage',
      request: (i) => ({ headers: { 'content-type': 'application/json' }, body: JSON.stringify({ entries: entries(i) }) }),
      accept: (body) => body.includes(`"recorded":${TOKEN_BATCH}`),
    }),
  );
  const withoutLimits = summarise(plain);
  const withLimits = summarise(limited);
  return {
    withoutLimits,
    withLimits,
    ratio: withLimits.requestsPerSecond / withoutLimits.requestsPerSecond,
    graphqlEntriesPerSecond: graphql.requestsPerSecond * TOKEN_BATCH,
    graphql,
    postEntriesPerSecond: post.requestsPerSecond * TOKEN_BATCH,
    post,
  };
}
