import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { createServer, get } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { CONSOLE_CSP, createConsoleAssets } from '../../src/http/consoleAssets';

const INDEX = '<!doctype html><title>keyhub</title><script type="module" src="/assets/index-AbC123.js"></script>';
const SCRIPT = `console.log(${JSON.stringify('x'.repeat(4000))});`;

function buildDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'keyhub-console-'));
  mkdirSync(join(dir, 'assets'));
  writeFileSync(join(dir, 'index.html'), INDEX);
  writeFileSync(join(dir, 'assets', 'index-AbC123.js'), SCRIPT);
  writeFileSync(join(dir, 'assets', 'index-AbC123.js.map'), '{}');
  writeFileSync(join(dir, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
  return dir;
}

/** The handler in front of a fallback that answers 418, as server.ts puts it in front of the rest. */
async function serve(dir: string): Promise<{ url: string; server: Server }> {
  const assets = createConsoleAssets(dir);
  const server = createServer((req, res) => {
    if (!assets(req, res)) res.writeHead(418).end('fallback');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

describe('Console assets', () => {
  let url: string;
  let server: Server;
  beforeAll(async () => ({ url, server } = await serve(buildDir())));
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('serves index.html at / to be revalidated every time, with a strict CSP', async () => {
    const response = await fetch(`${url}/`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(response.headers.get('cache-control')).toBe('no-cache');
    expect(response.headers.get('content-security-policy')).toBe(CONSOLE_CSP);
    expect(CONSOLE_CSP).toMatch(/default-src 'none'/);
    expect(CONSOLE_CSP).toMatch(/script-src 'self'(;|$)/); // no inline script, no CDN
    expect(CONSOLE_CSP).not.toMatch(/unsafe-inline|unsafe-eval|https?:/);
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(await response.text()).toBe(INDEX);
  });

  it('answers a revalidation with 304 when index.html has not changed', async () => {
    const first = await fetch(`${url}/`);
    const again = await fetch(`${url}/`, { headers: { 'if-none-match': first.headers.get('etag') as string } });
    expect(again.status).toBe(304);
    const stale = await fetch(`${url}/`, { headers: { 'if-none-match': '"something-else"' } });
    expect(stale.status).toBe(200);
  });

  it('serves hashed assets as immutable, gzipped when the client accepts it', async () => {
    const plain = await fetch(`${url}/assets/index-AbC123.js`, { headers: { 'accept-encoding': 'identity' } });
    expect(plain.status).toBe(200);
    expect(plain.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(plain.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(plain.headers.get('content-encoding')).toBeNull();
    expect(await plain.text()).toBe(SCRIPT);

    const raw = await new Promise<{ headers: Record<string, unknown>; body: Buffer }>((resolve, reject) => {
      const request = get(`${url}/assets/index-AbC123.js`, { headers: { 'accept-encoding': 'gzip' } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ headers: res.headers as Record<string, unknown>, body: Buffer.concat(chunks) }));
      });
      request.on('error', reject);
    });
    expect(raw.headers['content-encoding']).toBe('gzip');
    expect(raw.body.length).toBeLessThan(SCRIPT.length);
    expect(gunzipSync(raw.body).toString()).toBe(SCRIPT);
  });

  it('answers HEAD without a body', async () => {
    const response = await fetch(`${url}/`, { method: 'HEAD' });
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('');
  });

  it('serves other files of the build to be revalidated (not immutable: their names carry no hash)', async () => {
    const response = await fetch(`${url}/favicon.svg`);
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-cache');
  });

  it('says 404 for a missing asset and never serves source maps or paths outside the build', async () => {
    expect((await fetch(`${url}/assets/index-Gone99.js`)).status).toBe(404);
    expect((await fetch(`${url}/assets/index-AbC123.js.map`)).status).toBe(404);
    expect((await fetch(`${url}/assets/..%2f..%2fetc%2fpasswd`)).status).toBe(404);
  });

  it('leaves every other request to the rest of the server', async () => {
    for (const path of ['/graphql', '/healthz', '/auth', '/favicon.ico', '/index.htm']) {
      expect((await fetch(`${url}${path}`)).status).toBe(418);
    }
    expect((await fetch(`${url}/`, { method: 'POST', body: '{}' })).status).toBe(418);
  });

  it('without a build, / says how to build the console instead of failing', async () => {
    const empty = await serve(mkdtempSync(join(tmpdir(), 'keyhub-console-none-')));
    try {
      const response = await fetch(`${empty.url}/`);
      expect(response.status).toBe(503);
      expect(await response.text()).toMatch(/npm run build/);
      expect((await fetch(`${empty.url}/healthz`)).status).toBe(418);
    } finally {
      await new Promise<void>((resolve) => empty.server.close(() => resolve()));
    }
  });
});
