import WebSocket from 'ws';
import { gql, tokenFor, wsClient } from '../support/graphqlClient';
import { QUOTA } from '../support/operations';
import { startInProcessKeyhub } from './inProcessKeyhub';

type Keyhub = Awaited<ReturnType<typeof startInProcessKeyhub>>;

/** A raw graphql-ws socket (as a hostile client would open one), from `forwardedFor` when the server trusts loopback proxies. */
function rawSocket(keyhub: Keyhub, forwardedFor?: string): WebSocket {
  return new WebSocket(keyhub.wsUrl, 'graphql-transport-ws', forwardedFor ? { headers: { 'x-forwarded-for': forwardedFor } } : {});
}

/** Whether the handshake was accepted (the socket opened) or refused (its HTTP status and JSON body). */
function handshake(socket: WebSocket): Promise<{ opened: true } | { opened: false; status: number; body: any }> {
  return new Promise((resolve) => {
    socket.once('open', () => resolve({ opened: true }));
    socket.once('unexpected-response', (_req, res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk.toString()));
      res.on('end', () => resolve({ opened: false, status: res.statusCode ?? 0, body: text ? JSON.parse(text) : null }));
    });
    socket.on('error', () => undefined);
  });
}

const closed = (socket: WebSocket): Promise<{ code: number; reason: string }> =>
  new Promise((resolve) => socket.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));

describe('graphql-ws limits', () => {
  let keyhub: Keyhub;
  let token: string;
  const sockets: WebSocket[] = [];
  const open = (forwardedFor?: string) => {
    const socket = rawSocket(keyhub, forwardedFor);
    sockets.push(socket);
    return socket;
  };

  beforeAll(async () => {
    keyhub = await startInProcessKeyhub({ WS_MAX_CONNECTIONS: '3', WS_MAX_CONNECTIONS_PER_ADDRESS: '2', TRUST_PROXY: 'loopback' });
    token = await tokenFor({ sub: 'alice', account: 'acct-ws-limits' });
  });
  afterEach(async () => {
    await Promise.all(sockets.splice(0).map((socket) => (socket.readyState === WebSocket.CLOSED ? undefined : (socket.terminate(), closed(socket)))));
  });
  afterAll(async () => keyhub.stop());

  it('closes a connection whose frame exceeds 256 KiB (1009), before authentication', async () => {
    const socket = open();
    expect(await handshake(socket)).toEqual({ opened: true });
    const whenClosed = closed(socket);
    socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${'x'.repeat(1024 * 1024)}` } }));
    expect((await whenClosed).code).toBe(1009);
  });

  it('refuses an authorization parameter longer than 4 KiB (4403) and accepts a normal one', async () => {
    const socket = open();
    await handshake(socket);
    const whenClosed = closed(socket);
    socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}${'x'.repeat(5000)}` } }));
    expect((await whenClosed).code).toBe(4403);

    const good = open();
    await handshake(good);
    const acked = new Promise((resolve) => good.once('message', (data) => resolve(JSON.parse(data.toString()))));
    good.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } }));
    expect(await acked).toEqual({ type: 'connection_ack' });
  });

  it('refuses connections over the per-address limit (429) and over the total (503), and admits again once one closes', async () => {
    const first = open('198.51.100.1');
    const second = open('198.51.100.1');
    expect(await handshake(first)).toEqual({ opened: true });
    expect(await handshake(second)).toEqual({ opened: true });
    expect(await handshake(open('198.51.100.1'))).toMatchObject({ opened: false, status: 429, body: { errors: [{ extensions: { code: 'RATE_LIMITED' } }] } });

    expect(await handshake(open('198.51.100.2'))).toEqual({ opened: true });
    expect(await handshake(open('198.51.100.3'))).toMatchObject({ opened: false, status: 503, body: { errors: [{ extensions: { code: 'SERVICE_UNAVAILABLE' } }] } });

    const whenClosed = closed(first);
    first.close();
    await whenClosed;
    // The server sees the close a moment after the client: retry until the place is free.
    let again = await handshake(open('198.51.100.3'));
    for (let attempt = 0; !again.opened && attempt < 50; attempt += 1) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      again = await handshake(open('198.51.100.3'));
    }
    expect(again).toEqual({ opened: true });
  });
});

describe('In production (NODE_ENV=production)', () => {
  let keyhub: Keyhub;
  let token: string;
  beforeAll(async () => {
    keyhub = await startInProcessKeyhub({ NODE_ENV: 'production', FORWARD_AUTH_OPEN: 'true' });
    token = await tokenFor({ sub: 'alice', account: 'acct-production' });
  });
  afterAll(async () => keyhub.stop());

  const overWs = async (query: string) => {
    const client = wsClient(keyhub.wsUrl, token);
    try {
      return await new Promise<any>((resolve) => {
        client.subscribe({ query }, { next: (result) => resolve(result), error: (errors) => resolve({ errors }), complete: () => undefined });
      });
    } finally {
      await client.dispose();
    }
  };

  it('refuses introspection over HTTP and graphql-ws', async () => {
    const query = '{ __schema { types { name } } }';
    for (const refused of [await gql(keyhub.url, token, query), await overWs(query)]) {
      expect(refused.errors?.[0]).toMatchObject({ extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } });
      expect(refused.errors?.[0]?.message).toMatch(/introspection/i);
    }
    expect((await gql(keyhub.url, token, QUOTA)).data?.accountQuota).toEqual({ limit: 50, used: 0 });
  });

  it('gives no field suggestions over HTTP and graphql-ws', async () => {
    const query = '{ accountQuota { limt } }';
    for (const refused of [await gql(keyhub.url, token, query), await overWs(query)]) {
      expect(refused.errors?.[0]).toMatchObject({ message: 'Cannot query field "limt" on type "Quota".', extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } });
    }
  });
});

describe('Outside production', () => {
  it('answers introspection and suggests fields', async () => {
    const keyhub = await startInProcessKeyhub();
    try {
      const token = await tokenFor({ sub: 'alice', account: 'acct-dev' });
      expect((await gql(keyhub.url, token, '{ __schema { queryType { name } } }')).data).toEqual({ __schema: { queryType: { name: 'Query' } } });
      expect((await gql(keyhub.url, token, '{ accountQuota { limt } }')).errors?.[0]?.message).toContain('Did you mean "limit"?');
    } finally {
      await keyhub.stop();
    }
  });
});
