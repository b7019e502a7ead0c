import type { Server } from 'node:http';
import { createServer } from 'node:http';
import { Writable } from 'node:stream';
import pino from 'pino';
import WebSocket from 'ws';
import { apiKeyStream } from '../../src/eventLog/streams';
import { loadConfig } from '../../src/config';
import { Router } from '../../src/http/router';
import { Lifecycle } from '../../src/lifecycle';
import { TEST_JWT_SECRET } from '../support/keyhubProcess';
import { tokenFor } from '../support/graphqlClient';
import { CREATE, QUOTA } from '../support/operations';
import { startInProcessKeyhub } from './inProcessKeyhub';

describe('The HTTP front door', () => {
  let keyhub: Awaited<ReturnType<typeof startInProcessKeyhub>>;
  beforeAll(async () => {
    keyhub = await startInProcessKeyhub();
  });
  afterAll(async () => keyhub.stop());

  it('answers /healthz, and /readyz with the lifecycle state', async () => {
    expect(await (await fetch(`${keyhub.baseUrl}/healthz`)).json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${keyhub.baseUrl}/readyz?verbose`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ ready: true, status: 'ready', problems: [] });
  });

  it('answers unknown paths 404 with a coded JSON error, never cached, and / with the console', async () => {
    const page = await fetch(`${keyhub.baseUrl}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    for (const path of ['/nope', '/graphql/extra', '/healthzz']) {
      const response = await fetch(`${keyhub.baseUrl}${path}`);
      expect(response.status).toBe(404);
      expect(response.headers.get('cache-control')).toBe('no-store');
      expect(((await response.json()) as { errors: Array<{ extensions: { code: string } }> }).errors[0]?.extensions.code).toBe('NOT_FOUND');
    }
  });

  it('answers a method a route does not take with 405 and Allow', async () => {
    const response = await fetch(`${keyhub.baseUrl}/healthz`, { method: 'POST' });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('GET, HEAD');
    expect(((await response.json()) as { errors: Array<{ extensions: { code: string } }> }).errors[0]?.extensions.code).toBe('BAD_REQUEST');
  });

  const post = async (body: string, headers: Record<string, string> = {}) =>
    fetch(keyhub.url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });

  it('marks every /graphql answer no-store: data, errors, refusals', async () => {
    const token = await tokenFor({ sub: 'alice', account: 'acct-cache' });
    const answers = [
      await post(JSON.stringify({ query: QUOTA }), { authorization: `Bearer ${token}` }),
      await post(JSON.stringify({ query: '{ apiKey(id: "x") { nope } }' }), { authorization: `Bearer ${token}` }),
      await post(JSON.stringify({ query: QUOTA })),
      await post('{"query": ', { authorization: `Bearer ${token}` }),
      await post('x'.repeat(300 * 1024), { authorization: `Bearer ${token}` }),
      await fetch(`${keyhub.url}?query=${encodeURIComponent(QUOTA)}`, { headers: { authorization: `Bearer ${token}`, 'apollo-require-preflight': 'true' } }),
    ];
    expect(answers.map((answer) => answer.status)).toEqual([200, 400, 401, 400, 413, 200]);
    for (const answer of answers) expect(answer.headers.get('cache-control')).toBe('no-store');
  });

  it('marks a client-chosen X-Request-Id as the client\'s before it reaches the events, and replaces an unusable one', async () => {
    const token = await tokenFor({ sub: 'alice', account: 'acct-request-id' });
    const create = JSON.stringify({ query: CREATE, variables: { input: { name: 'traced', acceptTerms: true } } });
    const traced = await post(create, { authorization: `Bearer ${token}`, 'x-request-id': 'system:usage' });
    expect(traced.headers.get('x-request-id')).toBe('client:system:usage');
    const keyId = ((await traced.json()) as any).data.createApiKey.apiKey.id as string;
    const metadata = [];
    for await (const { event } of keyhub.engines.store.readStream(apiKeyStream(keyId))) metadata.push(event?.metadata);
    expect(metadata).toEqual([expect.objectContaining({ correlationId: 'client:system:usage', causationId: 'client:system:usage' })]);
    const replaced = await post(JSON.stringify({ query: QUOTA }), { authorization: `Bearer ${token}`, 'x-request-id': 'has spaces and ünicode' });
    expect(replaced.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('refuses a WebSocket handshake on any path but /graphql', async () => {
    const socket = new WebSocket(`${keyhub.wsUrl.replace(/\/graphql$/, '/elsewhere')}`, 'graphql-transport-ws');
    const status = await new Promise<number | undefined>((resolve) => {
      socket.on('unexpected-response', (_req, res) => resolve(res.statusCode));
      socket.on('open', () => resolve(101));
      socket.on('error', () => undefined);
    });
    socket.terminate();
    expect(status).toBe(404);
  });
});

describe('The router', () => {
  let server: Server;
  let base: string;
  const lines: string[] = [];
  beforeAll(async () => {
    const logger = pino({ level: 'error' }, new Writable({ write: (chunk, _encoding, done) => (lines.push(chunk.toString()), done()) }));
    const router = new Router((error) => logger.error({ err: error }, 'unexpected error in the HTTP layer'))
      .route({ path: '/throws' }, () => {
        throw new Error('secret detail at /srv/keyhub');
      })
      .route({ path: '/rejects' }, async () => Promise.reject(new Error('later detail')))
      .route({ path: '/static', match: 'prefix' }, (req, res) => void res.end(`static ${req.url}`))
      .route({ path: '/', match: 'prefix' }, (_req, res) => void res.end('console'));
    server = createServer(router.handle);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(async () => new Promise((resolve) => server.close(resolve)));

  it('answers what a handler throws or rejects with as a masked 500, logs it, and goes on serving', async () => {
    for (const path of ['/throws', '/rejects']) {
      const response = await fetch(`${base}${path}`);
      expect(response.status).toBe(500);
      const text = await response.text();
      expect(JSON.parse(text)).toEqual({ errors: [{ message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } }] });
      expect(text).not.toContain('detail');
    }
    expect(lines.map((line) => JSON.parse(line).err.message)).toEqual(['secret detail at /srv/keyhub', 'later detail']);
    expect(await (await fetch(`${base}/static/app.js?v=1`)).text()).toBe('static /static/app.js?v=1');
  });

  it('lets a route at / take what no earlier route took (a console and its assets)', async () => {
    expect(await (await fetch(`${base}/`)).text()).toBe('console');
    expect(await (await fetch(`${base}/keys/123`)).text()).toBe('console');
    expect(await (await fetch(`${base}/staticx`)).text()).toBe('console');
  });
});

describe('The lifecycle', () => {
  it('is one state: starting, unavailable with a reason, ready, unavailable again when health is lost, stopping', () => {
    let healthy = true;
    const lifecycle = new Lifecycle(() => (healthy ? null : 'lost the log'));
    expect(lifecycle.current).toEqual({ status: 'starting' });
    expect(lifecycle.serving).toBe(false);
    lifecycle.unavailable('cannot reach the engines (ECONNREFUSED)');
    expect(lifecycle.current).toEqual({ status: 'unavailable', reason: 'cannot reach the engines (ECONNREFUSED)' });
    lifecycle.ready();
    expect(lifecycle.current).toEqual({ status: 'ready' });
    expect(lifecycle.serving).toBe(true);
    healthy = false;
    expect(lifecycle.current).toEqual({ status: 'unavailable', reason: 'lost the log' });
    expect(lifecycle.serving).toBe(false);
    healthy = true;
    lifecycle.stopping();
    lifecycle.ready();
    expect(lifecycle.current).toEqual({ status: 'stopping' });
    expect(lifecycle.serving).toBe(true);
  });
});

describe('The listening address', () => {
  const base = { JWT_SECRET: TEST_JWT_SECRET };
  it('is 127.0.0.1 outside production unless HOST is set, 0.0.0.0 in production', () => {
    expect(loadConfig(base).HOST).toBe('127.0.0.1');
    expect(loadConfig({ ...base, NODE_ENV: 'production', FORWARD_AUTH_OPEN: 'true' }).HOST).toBe('0.0.0.0');
    expect(loadConfig({ ...base, HOST: '0.0.0.0' }).HOST).toBe('0.0.0.0');
    expect(loadConfig({ ...base, NODE_ENV: 'production', FORWARD_AUTH_OPEN: 'true', HOST: '10.1.2.3' }).HOST).toBe('10.1.2.3');
  });
});
