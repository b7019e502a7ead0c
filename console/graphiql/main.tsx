import { createGraphiQLFetcher } from '@graphiql/toolkit';
import { GraphiQL } from 'graphiql';
import 'graphiql/style.css';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import './graphiql.css';

/**
 * GraphiQL for developers at GET /graphql (keyhub serves it from its own build: no CDN, works
 * offline). Queries and mutations go over HTTP, subscriptions over graphql-ws on the same path;
 * the headers editor's `authorization` is sent with both (graphql-ws gets it as connectionParams).
 */
const endpoint = new URL('/graphql', window.location.href);
const socket = new URL(endpoint);
socket.protocol = endpoint.protocol === 'https:' ? 'wss:' : 'ws:';

const fetcher = createGraphiQLFetcher({ url: endpoint.href, subscriptionUrl: socket.href });

// The console's sign-in (same origin, this tab) fills the header in, so a signed-in developer can start at once.
const token = (() => {
  try {
    return sessionStorage.getItem('keyhub.token');
  } catch {
    return null;
  }
})();
const defaultHeaders = JSON.stringify({ authorization: `Bearer ${token ?? '<a JWT: sub, account, roles>'}` }, null, 2);

// A shared link may carry a query in its fragment (never sent to the server): /graphql#query=…
const linkedQuery = new URLSearchParams(window.location.hash.slice(1)).get('query');

const defaultQuery = `# keyhub's GraphQL API. Put your JWT in the headers below (the console's sign-in fills it in).
# Subscriptions (apiKeyEvents, keyStatusChanged) run over graphql-ws on this same endpoint.
query Keys {
  apiKeys(first: 10) {
    totalCount
    nodes { id name status maskedKey lastUsedAt }
  }
  accountQuota { used limit }
}
`;

createRoot(document.getElementById('graphiql') as HTMLElement).render(
  <StrictMode>
    <GraphiQL fetcher={fetcher} defaultHeaders={defaultHeaders} defaultQuery={defaultQuery} shouldPersistHeaders={false} {...(linkedQuery ? { query: linkedQuery } : {})} />
  </StrictMode>,
);
