import type { Keyhub } from '../../src/compositionRoot';
import { GRAPHIQL_CSP } from '../../src/http/graphiqlPage';
import { startInProcessKeyhub } from './inProcessKeyhub';

// GraphiQL at GET /graphql for a browser (built by `npm run build` into dist/graphiql), beside the API on the same path.
type Started = Keyhub & { baseUrl: string };
const browserGet = (keyhub: Started, path: string) => fetch(`${keyhub.baseUrl}${path}`, { headers: { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' } });

describe('GraphiQL at GET /graphql', () => {
  describe('outside production (the default)', () => {
    let keyhub: Started;
    beforeAll(async () => {
      keyhub = await startInProcessKeyhub();
    });
    afterAll(() => keyhub.stop());

    it('answers a browser with GraphiQL from keyhub\'s own files, under its own Content-Security-Policy', async () => {
      const page = await browserGet(keyhub, '/graphql');
      expect(page.status).toBe(200);
      expect(page.headers.get('content-type')).toMatch(/^text\/html/);
      expect(page.headers.get('content-security-policy')).toBe(GRAPHIQL_CSP);
      expect(page.headers.get('cache-control')).toBe('no-cache');
      const html = await page.text();
      const script = /src="(\/graphiql\/assets\/[^"]+\.js)"/.exec(html)?.[1];
      expect(script).toBeDefined();
      expect(html).not.toMatch(/https?:\/\//); // nothing from elsewhere
      const file = await fetch(`${keyhub.baseUrl}${script}`);
      expect(file.status).toBe(200);
      expect(file.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      expect((await fetch(`${keyhub.baseUrl}/graphiql/assets/missing.js`)).status).toBe(404);
    });

    it('leaves the API alone: POST, a GET that carries a query, and a client that does not ask for HTML', async () => {
      const post = await fetch(`${keyhub.baseUrl}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'text/html, application/json' }, body: JSON.stringify({ query: '{ __typename }' }) });
      expect(post.headers.get('content-type')).toMatch(/^application\/(graphql-response\+)?json/);
      expect(((await post.json()) as { errors: Array<{ extensions: { code: string } }> }).errors[0]?.extensions.code).toBe('UNAUTHENTICATED'); // the API's answer
      const getQuery = await browserGet(keyhub, '/graphql?query=%7B__typename%7D');
      expect(getQuery.headers.get('content-type')).not.toMatch(/^text\/html/);
      const plain = await fetch(`${keyhub.baseUrl}/graphql`, { headers: { accept: 'application/json' } });
      expect(plain.headers.get('content-type')).not.toMatch(/^text\/html/);
    });
  });

  describe('in production', () => {
    it('is off unless GRAPHIQL=true', async () => {
      const off = await startInProcessKeyhub({ NODE_ENV: 'production', FORWARD_AUTH_OPEN: 'true' });
      try {
        // Not Apollo's landing page either (it loads from Apollo's CDN).
        const page = await browserGet(off, '/graphql');
        expect(page.headers.get('content-type')).not.toMatch(/^text\/html/);
        expect((await browserGet(off, '/graphiql/')).status).toBe(404);
      } finally {
        await off.stop();
      }
      const on = await startInProcessKeyhub({ NODE_ENV: 'production', FORWARD_AUTH_OPEN: 'true', GRAPHIQL: 'true' });
      try {
        const page = await browserGet(on, '/graphql');
        expect(page.status).toBe(200);
        expect(page.headers.get('content-type')).toMatch(/^text\/html/);
      } finally {
        await on.stop();
      }
    });
  });
});
