import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dirname, extname, join, relative, sep } from 'node:path';
import { gzipSync } from 'node:zlib';

/**
 * Serves the built console (console/ -> dist/console by `npm run build`): GET / is its index.html,
 * /assets/* its content-hashed files. Everything is read into memory once at start (a few hundred
 * kB), so a request never touches the disk and no path from a request ever reaches the file system.
 */
export type ConsoleAssetsHandler = ((req: IncomingMessage, res: ServerResponse) => boolean) & {
  /** Answers the build's index.html (or 503 when not built), whatever the request's path. */
  index: (req: IncomingMessage, res: ServerResponse) => void;
};

export interface StaticBuildOptions {
  /** The page's Content-Security-Policy (default CONSOLE_CSP). */
  csp?: string;
  /** Where the build is mounted (its Vite `base` without the trailing slash), e.g. /graphiql; default: /. */
  prefix?: string;
}

/** Only our own origin: no inline script or style, no CDN, no framing by other sites. */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'", // CSP 3: 'self' includes ws:/wss: to the same host (the graphql-ws feed)
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

// Vite names what it emits into assets/ after its content; such a file never changes.
const IMMUTABLE = 'public, max-age=31536000, immutable';
const REVALIDATE = 'no-cache';
const MAX_FILES = 500;
const MAX_TOTAL_BYTES = 20 * 1024 * 1024;

interface Asset {
  body: Buffer;
  gzipped: Buffer | null;
  contentType: string;
  cacheControl: string;
  etag: string;
}

const securityHeaders = (csp: string): Record<string, string> => ({
  'content-security-policy': csp,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
});

function listFiles(dir: string): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...listFiles(path));
    else if (entry.isFile()) files.push(path);
  }
  return files;
}

function loadAssets(dir: string): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  const files = listFiles(dir);
  if (files.length > MAX_FILES) throw new Error(`the console build in ${dir} has ${files.length} files (at most ${MAX_FILES})`);
  let total = 0;
  for (const file of files) {
    const contentType = CONTENT_TYPES[extname(file)];
    if (!contentType) continue; // source maps and anything unexpected are not served
    const body = readFileSync(file);
    total += body.length;
    if (total > MAX_TOTAL_BYTES) throw new Error(`the console build in ${dir} exceeds ${MAX_TOTAL_BYTES} bytes`);
    const urlPath = `/${relative(dir, file).split(sep).join('/')}`;
    const compressible = /^(text\/|application\/json|image\/svg)/.test(contentType) && body.length > 1024;
    assets.set(urlPath, {
      body,
      gzipped: compressible ? gzipSync(body, { level: 9 }) : null,
      contentType,
      cacheControl: urlPath.startsWith('/assets/') ? IMMUTABLE : REVALIDATE,
      etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`,
    });
  }
  return assets;
}

const acceptsGzip = (req: IncomingMessage): boolean => /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));

function send(req: IncomingMessage, res: ServerResponse, asset: Asset, security: Record<string, string>): void {
  const headers: Record<string, string | number> = {
    ...security,
    'content-type': asset.contentType,
    'cache-control': asset.cacheControl,
    etag: asset.etag,
    vary: 'accept-encoding',
  };
  if (req.headers['if-none-match'] === asset.etag) {
    res.writeHead(304, headers).end();
    return;
  }
  const gzip = asset.gzipped !== null && acceptsGzip(req);
  const body = gzip ? (asset.gzipped as Buffer) : asset.body;
  if (gzip) headers['content-encoding'] = 'gzip';
  headers['content-length'] = body.length;
  res.writeHead(200, headers);
  res.end(req.method === 'HEAD' ? undefined : body);
}

function notBuilt(res: ServerResponse, dir: string, security: Record<string, string>): void {
  res
    .writeHead(503, { ...security, 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' })
    .end(`The console is not built (nothing in ${dir}). Run \`npm run build\` (npm start does it), then reload.\n`);
}

/**
 * A node:http handler: answers GET/HEAD of `/`, `/index.html` and the files of the build, 404 for
 * a missing `/assets/*`, and returns false for every other request (the caller routes those on).
 */
export function createConsoleAssets(dir: string, options: StaticBuildOptions = {}): ConsoleAssetsHandler {
  const assets = existsSync(join(dir, 'index.html')) && statSync(dir).isDirectory() ? loadAssets(dir) : null;
  const security = securityHeaders(options.csp ?? CONSOLE_CSP);
  const prefix = options.prefix ?? '';
  const index = (req: IncomingMessage, res: ServerResponse): void => {
    const page = assets?.get('/index.html');
    if (!page) notBuilt(res, dir, security);
    else send(req, res, page, security);
  };
  const handler = (req: IncomingMessage, res: ServerResponse): boolean => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    const fullPath = (req.url ?? '/').split('?', 1)[0] as string;
    if (prefix && !fullPath.startsWith(`${prefix}/`)) return false;
    const path = fullPath.slice(prefix.length);
    if (path === '/' || path === '/index.html') {
      index(req, res);
      return true;
    }
    const asset = assets?.get(path);
    if (asset) {
      send(req, res, asset, security);
      return true;
    }
    if (path.startsWith('/assets/')) {
      res.writeHead(404, { ...security, 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' }).end('Not found\n');
      return true;
    }
    return false;
  };
  return Object.assign(handler, { index });
}

/** Where `npm run build` puts the console (or another build, e.g. graphiql): <project root>/dist/<build>, found from here in dist/ or src/. */
export function builtConsoleDir(from: string = __dirname, build = 'console'): string {
  let dir = from;
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) return join(from, build);
    dir = up;
  }
  return join(dir, 'dist', build);
}
