import autocannon from 'autocannon';
import { LOAD_REQUEST } from './seed';

export interface LoadFigures {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  /** Responses other than expected: non-2xx statuses, GraphQL errors, invalid verdicts, socket errors, timeouts. */
  failures: number;
}

export const VERIFY_QUERY = `query($key: String!, $clientIp: String, $model: String, $service: String) {
  verifyApiKey(key: $key, clientIp: $clientIp, model: $model, service: $service) { valid reason keyId accountId } }`;

interface Target {
  port: number;
  connections: number;
  durationSeconds: number;
  method: 'GET' | 'POST';
  path: string;
  /** Builds request i's headers and body. */
  request: (i: number) => { headers: Record<string, string>; body?: string };
  /** True when a 2xx body is the expected answer. */
  accept?: (body: string) => boolean;
}

/** One bounded autocannon run against 127.0.0.1. */
export async function load(target: Target): Promise<LoadFigures> {
  let counter = 0;
  let rejected = 0;
  const result = await autocannon({
    url: `http://127.0.0.1:${target.port}`,
    connections: target.connections,
    duration: target.durationSeconds,
    timeout: 10,
    requests: [
      {
        method: target.method,
        path: target.path,
        setupRequest: (request) => {
          const { headers, body } = target.request(counter++);
          return { ...request, headers: { ...request.headers, ...headers }, ...(body === undefined ? {} : { body }) };
        },
        ...(target.accept
          ? {
              onResponse: (status: number, body: string) => {
                if (status >= 200 && status < 300 && !(target.accept as (b: string) => boolean)(body)) rejected += 1;
              },
            }
          : {}),
      },
    ],
  });
  return {
    requestsPerSecond: result.requests.average,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    requests: result.requests.total,
    failures: result.non2xx + result.errors + result.timeouts + rejected,
  };
}

/** GET /auth with a seeded key: the forward-auth endpoint and the baseline answer the same request. */
export const forwardAuthRequest = (secrets: readonly string[]) => (i: number) => ({
  headers: {
    authorization: `Bearer ${secrets[i % secrets.length]}`,
    'x-forwarded-for': LOAD_REQUEST.clientIp,
    'x-model': LOAD_REQUEST.model,
    'x-service': LOAD_REQUEST.service,
  },
});

export const verifyGraphqlRequest = (secrets: readonly string[], gatewayToken: string) => (i: number) => ({
  headers: { 'content-type': 'application/json', authorization: `Bearer ${gatewayToken}` },
  body: JSON.stringify({ query: VERIFY_QUERY, variables: { key: secrets[i % secrets.length], ...LOAD_REQUEST } }),
});

export const isValidVerdict = (body: string): boolean => body.includes('"valid":true');
