/**
 * The noisy neighbour's side of the noisy-neighbour scenario, in a worker thread of its own so
 * that its load generation does not share an event loop with the victims' measurements. One
 * account sends the most expensive operations it can, as fast as it can, over HTTP (autocannon)
 * and over graphql-ws (subscriptions resumed from the oldest cursor, over and over), and counts
 * how each was answered: admitted, refused with a code, or not answered in time.
 */
import { parentPort, workerData } from 'node:worker_threads';
import autocannon from 'autocannon';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

export interface FloodOrders {
  port: number;
  attackerToken: string;
  /** A key of the attacker's account, for history operations. */
  keyId: string;
  seconds: number;
  httpConnections: number;
  wsClients: number;
}

export interface FloodFigures {
  http: { requests: number; admitted: number; refused: Record<string, number>; timeouts: number; otherFailures: number };
  ws: { subscriptions: number; admitted: number; refused: Record<string, number>; closedByServer: number };
}

/** Aliased filtered lists, history and its verification, a key as of the past: what a tenant's query can cost most. */
export function expensiveOperations(keyId: string, aliases: number): string[] {
  const lists = Array.from({ length: aliases }, (_, i) => `l${i}: apiKeys(first: 100, orderBy: LAST_USED_DESC, filter: { search: "k", status: ENABLED }) { totalCount nodes { id name lastUsedAt } }`).join(' ');
  return [
    `{ ${lists} }`,
    `{ h: apiKeyHistory(id: "${keyId}") { type version } v: verifyHistory(id: "${keyId}") { intact } }`,
    `{ a: apiKey(id: "${keyId}", asOf: "2026-01-01T00:00:00Z") { id name } ${lists} }`,
  ];
}

const codesOf = (body: string): string[] => {
  try {
    const parsed = JSON.parse(body) as { errors?: Array<{ extensions?: { code?: string } }> };
    return (parsed.errors ?? []).map((error) => error.extensions?.code ?? 'NO_CODE');
  } catch {
    return ['NOT_JSON'];
  }
};

async function httpFlood(orders: FloodOrders): Promise<FloodFigures['http']> {
  const operations = expensiveOperations(orders.keyId, 12);
  const refused: Record<string, number> = {};
  let admitted = 0;
  let counter = 0;
  const result = await autocannon({
    url: `http://127.0.0.1:${orders.port}`,
    connections: orders.httpConnections,
    duration: orders.seconds,
    timeout: 5,
    requests: [
      {
        method: 'POST',
        path: '/graphql',
        setupRequest: (request) => ({
          ...request,
          headers: { ...request.headers, 'content-type': 'application/json', authorization: `Bearer ${orders.attackerToken}` },
          body: JSON.stringify({ query: operations[counter++ % operations.length] }),
        }),
        onResponse: (_status: number, body: string) => {
          const codes = codesOf(body);
          if (codes.length === 0) admitted += 1;
          else {
            const code = codes[0] as string;
            refused[code] = (refused[code] ?? 0) + 1;
          }
        },
      },
    ],
  });
  return { requests: counter, admitted, refused, timeouts: result.timeouts, otherFailures: result.errors - result.timeouts };
}

async function wsFlood(orders: FloodOrders): Promise<FloodFigures['ws']> {
  const figures: FloodFigures['ws'] = { subscriptions: 0, admitted: 0, refused: {}, closedByServer: 0 };
  const until = Date.now() + orders.seconds * 1000;
  const client = () =>
    createClient({ url: `ws://127.0.0.1:${orders.port}/graphql`, webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${orders.attackerToken}` }, retryAttempts: 0, lazy: true });
  const worker = async () => {
    let ws = client();
    ws.on('closed', () => void (figures.closedByServer += 1));
    while (Date.now() < until) {
      figures.subscriptions += 1;
      // The oldest cursor: a replay of the whole log (as far as the server lets a cursor reach), then live.
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => (dispose(), resolve()), 500);
        const dispose = ws.subscribe(
          { query: 'subscription { apiKeyEvents(after: "1-1") { id cursor } }' },
          {
            next: () => {
              figures.admitted += 1;
              clearTimeout(timer);
              dispose();
              resolve();
            },
            error: (error) => {
              const code = Array.isArray(error) ? ((error[0] as { extensions?: { code?: string } })?.extensions?.code ?? 'NO_CODE') : 'CLOSED';
              figures.refused[code] = (figures.refused[code] ?? 0) + 1;
              clearTimeout(timer);
              if (code === 'CLOSED') {
                void ws.dispose();
                ws = client();
              }
              resolve();
            },
            complete: () => (clearTimeout(timer), resolve()),
          },
        );
      });
    }
    await ws.dispose();
  };
  await Promise.all(Array.from({ length: orders.wsClients }, worker));
  return figures;
}

if (parentPort && workerData) {
  const orders = workerData as FloodOrders;
  void Promise.all([httpFlood(orders), wsFlood(orders)]).then(([http, ws]) => parentPort?.postMessage({ http, ws } satisfies FloodFigures));
}
