import type { Server } from 'node:http';
import { createServer } from 'node:http';
import type { KeyhubMetrics } from '../observability/metrics';
import { PublicError } from '../graphql/errors';
import { tokenMatcher } from './forwardAuth';
import { Router, sendError } from './router';

export const METRICS_PATH = '/metrics';

const bearerOf = (authorization: string | undefined): string | undefined =>
  authorization && /^bearer /i.test(authorization) ? authorization.slice(7).trim() : undefined;

/**
 * GET /metrics in Prometheus's text format. With a token, only a scrape that presents it
 * (`Authorization: Bearer <METRICS_TOKEN>`, Prometheus's `authorization` setting) is answered.
 */
export function mountMetrics(router: Router, metrics: KeyhubMetrics, token: string | undefined): void {
  const allowed = token ? tokenMatcher(token) : () => true;
  router.route({ path: METRICS_PATH, methods: ['GET'] }, async (req, res) => {
    if (!allowed(bearerOf(req.headers.authorization))) {
      return sendError(res, new PublicError('UNAUTHENTICATED', 'GET /metrics needs Authorization: Bearer <METRICS_TOKEN>'), { headers: { 'www-authenticate': 'Bearer realm="keyhub-metrics"' } });
    }
    const text = await metrics.text();
    res.writeHead(200, { 'content-type': metrics.contentType, 'cache-control': 'no-store' }).end(text);
  });
}

/** A listener of its own for /metrics alone (METRICS_PORT), e.g. reachable from the monitoring network only. */
export async function listenForMetrics(metrics: KeyhubMetrics, token: string | undefined, port: number, host: string, onError: (error: unknown) => void): Promise<{ server: Server; url: string }> {
  const router = new Router(onError);
  mountMetrics(router, metrics, token);
  const server = createServer(router.handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address();
  const actualPort = typeof address === 'object' && address ? address.port : port;
  return { server, url: `http://${host}:${actualPort}${METRICS_PATH}` };
}
