import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ConsoleAssetsHandler } from './consoleAssets';
import { builtConsoleDir, createConsoleAssets } from './consoleAssets';

/** Where GraphiQL's files are served (console/graphiql/vite.config.mts's base). */
export const GRAPHIQL_PREFIX = '/graphiql';

/**
 * GraphiQL's own policy: only this origin, like the console's, except that its editor (CodeMirror 5)
 * and its stylesheet's embedded icons and fonts need data: URLs. Still no inline script, no CDN.
 */
export const GRAPHIQL_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'", // HTTP and graphql-ws to /graphql
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * A browser asking for /graphql itself (GET, HTML preferred, no GraphQL query in the URL) gets
 * GraphiQL; every other request, GET queries included, is the API's.
 */
export function wantsGraphiql(req: IncomingMessage): boolean {
  if (req.method !== 'GET' && req.method !== 'HEAD') return false;
  const url = req.url ?? '';
  if (/[?&](query|extensions)=/.test(url)) return false;
  return /\btext\/html\b/.test(String(req.headers.accept ?? ''));
}

export interface GraphiqlPage {
  /** GraphiQL's page, for GET /graphql from a browser. */
  page: (req: IncomingMessage, res: ServerResponse) => void;
  /** Its files under /graphiql/; false for anything else. */
  assets: ConsoleAssetsHandler;
}

export function createGraphiqlPage(dir: string = builtConsoleDir(__dirname, 'graphiql')): GraphiqlPage {
  const assets = createConsoleAssets(dir, { csp: GRAPHIQL_CSP, prefix: GRAPHIQL_PREFIX });
  return { page: assets.index, assets };
}
