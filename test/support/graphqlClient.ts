import { SignJWT } from 'jose';
import type { Client } from 'graphql-ws';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { TEST_JWT_SECRET } from './keyhubProcess';

export interface Identity {
  sub: string;
  account: string;
  roles?: string[];
}

export async function tokenFor(identity: Identity, secret = TEST_JWT_SECRET, expiresIn = '1h'): Promise<string> {
  return new SignJWT({ account: identity.account, roles: identity.roles ?? [] })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(identity.sub)
    .setIssuedAt()
    .setExpirationTime(expiresIn)
    .sign(new TextEncoder().encode(secret));
}

export interface GraphQLResponse<T = any> {
  status: number;
  data?: T;
  errors?: Array<{ message: string; extensions?: { code?: string; field?: string; [key: string]: unknown } }>;
}

/** POSTs one operation with a bearer token (or none). */
export async function gql<T = any>(url: string, token: string | null, query: string, variables: Record<string, unknown> = {}): Promise<GraphQLResponse<T>> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as Omit<GraphQLResponse<T>, 'status'>;
  return { status: response.status, ...body };
}

/** A client bound to one identity: `call` returns data and throws on GraphQL errors; `raw` returns the whole response. */
export async function clientFor(url: string, identity: Identity, secret = TEST_JWT_SECRET) {
  const token = await tokenFor(identity, secret);
  return {
    token,
    identity,
    raw: <T = any>(query: string, variables?: Record<string, unknown>) => gql<T>(url, token, query, variables),
    call: async <T = any>(query: string, variables?: Record<string, unknown>): Promise<T> => {
      const response = await gql<T>(url, token, query, variables);
      if (response.errors?.length) throw new Error(`GraphQL errors: ${JSON.stringify(response.errors)}`);
      return response.data as T;
    },
  };
}

/** The first error's code and field of a response, for terse assertions. */
export const errorOf = (response: GraphQLResponse): { code?: string; field?: string } => ({
  code: response.errors?.[0]?.extensions?.code,
  field: response.errors?.[0]?.extensions?.field,
});

export function wsClient(wsUrl: string, token: string | null, extra: Partial<Parameters<typeof createClient>[0]> = {}): Client {
  return createClient({
    url: wsUrl,
    webSocketImpl: WebSocket,
    connectionParams: token ? { authorization: `Bearer ${token}` } : {},
    retryAttempts: 0,
    lazy: true,
    ...extra,
  });
}

/**
 * Subscribes and queues every message, so a test can await them one by one. `ready` resolves
 * once the server has acknowledged the connection and registered the subscription.
 */
export function subscribe<T = any>(client: Client, query: string, variables: Record<string, unknown> = {}) {
  const received: T[] = [];
  const waiting: Array<(value: T) => void> = [];
  let error: unknown = null;
  const dispose = client.subscribe<T>(
    { query, variables },
    {
      next: (message) => {
        const value = message.data as T;
        const waiter = waiting.shift();
        if (waiter) waiter(value);
        else received.push(value);
      },
      error: (err) => (error = err),
      complete: () => undefined,
    },
  );
  return {
    received,
    get error() {
      return error;
    },
    next(timeoutMs = 5000): Promise<T> {
      const queued = received.shift();
      if (queued !== undefined) return Promise.resolve(queued);
      return new Promise<T>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no subscription message in time')), timeoutMs);
        waiting.push((value) => {
          clearTimeout(timer);
          resolve(value);
        });
      });
    },
    dispose,
  };
}

/** Resolves once a graphql-ws client is connected (the server accepted its token). */
export const connected = (client: Client): Promise<void> =>
  new Promise((resolve, reject) => {
    const offConnected = client.on('connected', () => (offConnected(), offClosed(), resolve()));
    const offClosed = client.on('closed', (event) => (offConnected(), offClosed(), reject(event)));
  });
