import { createClient as createWsClient } from 'graphql-ws';
import type { Client as WsClient } from 'graphql-ws';
import { Client, fetchExchange, mapExchange } from 'urql';

export interface ConnectionEvents {
  /** A request or the live connection was refused for its token (expired, invalid). */
  onUnauthenticated(): void;
  /** Whether keyhub can be reached: false on a network failure, true again on the next answer. */
  onReachable(reachable: boolean): void;
  /** Whether the live feed's connection is up. */
  onLive(live: boolean): void;
}

export interface Connection {
  client: Client;
  /** The graphql-ws connection for the live feed (liveFeed.ts). */
  ws: WsClient;
  dispose(): void;
}

// keyhub closes a live connection with 4401 when its token expires, graphql-ws with 4403 when it is refused.
const CLOSE_UNAUTHORIZED = [4401, 4403];
const closeCodeOf = (event: unknown): number | undefined =>
  event && typeof event === 'object' && 'code' in event && typeof event.code === 'number' ? event.code : undefined;

/**
 * One urql client (queries and mutations over HTTP) and one graphql-ws connection (the live feed)
 * to keyhub's public API, both carrying the caller's token.
 */
export function connect(graphqlUrl: string, getToken: () => string | Promise<string>, events: ConnectionEvents): Connection {
  const wsUrl = new URL(graphqlUrl, window.location.href);
  wsUrl.protocol = wsUrl.protocol === 'https:' ? 'wss:' : 'ws:';
  let disposed = false;
  const ws = createWsClient({
    url: wsUrl.toString(),
    connectionParams: async () => ({ authorization: `Bearer ${await getToken()}` }),
    lazy: true,
    retryAttempts: Number.POSITIVE_INFINITY,
    // Retry after any drop (network loss, server restart), except when the token was refused.
    shouldRetry: (event) => !CLOSE_UNAUTHORIZED.includes(closeCodeOf(event) ?? 0),
    retryWait: (retries) => new Promise((resolve) => setTimeout(resolve, Math.min(300 * 2 ** retries, 5000))),
    on: {
      connected: () => {
        events.onReachable(true);
        events.onLive(true);
      },
      closed: (event) => {
        if (disposed) return;
        events.onLive(false);
        if (CLOSE_UNAUTHORIZED.includes(closeCodeOf(event) ?? 0)) events.onUnauthenticated();
        else events.onReachable(false);
      },
    },
  });

  const client = new Client({
    url: graphqlUrl,
    // No client cache: every view asks the server, and live events re-run the queries.
    requestPolicy: 'network-only',
    // POST with a JSON body: Apollo's CSRF prevention refuses simple GET requests without a preflight header.
    preferGetMethod: false,
    exchanges: [
      mapExchange({
        onResult(result) {
          if (disposed) return;
          if (result.error?.graphQLErrors.some((error) => error.extensions?.['code'] === 'UNAUTHENTICATED')) events.onUnauthenticated();
          else events.onReachable(!result.error?.networkError);
        },
        // The token is read for every request, so an embedding page can hand over a fresh one.
        async onOperation(operation) {
          const token = await getToken();
          const base = typeof operation.context.fetchOptions === 'function' ? operation.context.fetchOptions() : (operation.context.fetchOptions ?? {});
          const headers = { ...(base.headers as Record<string, string> | undefined), authorization: `Bearer ${token}` };
          return { ...operation, context: { ...operation.context, fetchOptions: { ...base, headers } } };
        },
      }),
      fetchExchange,
    ],
  });
  return {
    client,
    ws,
    dispose: () => {
      disposed = true;
      void ws.dispose();
    },
  };
}
