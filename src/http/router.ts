import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { PublicCode } from '../graphql/errors';
import { HTTP_STATUS_OF, PublicError, formatError } from '../graphql/errors';

export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;
export type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

/**
 * Where a route answers: `exact` the path alone (any query string), `prefix` the path and everything
 * under it (`/auth`, `/auth/…`); a prefix of `/` takes whatever no earlier route took (a console's
 * static files). Routes are tried in the order they were added.
 */
export interface RouteOptions {
  path: string;
  match?: 'exact' | 'prefix';
  /** Methods the route answers (HEAD comes with GET); others get 405. Unset: every method. */
  methods?: string[];
}

interface Route<Handler> {
  matches: (pathname: string) => boolean;
  methods: Set<string> | null;
  handler: Handler;
}

const pathnameOf = (url: string | undefined): string => {
  const raw = url ?? '/';
  const query = raw.indexOf('?');
  return query === -1 ? raw : raw.slice(0, query);
};

const matcher = ({ path, match = 'exact' }: RouteOptions): ((pathname: string) => boolean) => {
  if (match === 'exact') return (pathname) => pathname === path;
  if (path === '/') return () => true;
  return (pathname) => pathname === path || (pathname.startsWith(path) && pathname[path.length] === '/');
};

/** Writes a public error as every HTTP answer of keyhub does: `{ errors: [{ message, extensions: { code } }] }`, never cached. */
export function sendError(res: ServerResponse, error: unknown, options: { headers?: Record<string, string>; status?: number } = {}): void {
  const formatted = formatError(error instanceof PublicError ? error.toJSON() : { message: '' }, error);
  const status = options.status ?? HTTP_STATUS_OF[formatted.extensions?.['code'] as PublicCode] ?? 500;
  const retryAfter = formatted.extensions?.['retryAfterSeconds'];
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    ...(typeof retryAfter === 'number' ? { 'retry-after': String(retryAfter) } : {}),
    ...options.headers,
  });
  res.end(JSON.stringify({ errors: [formatted] }));
}

/** Answers a JSON body, never cached. */
export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' }).end(JSON.stringify(body));
}

/**
 * keyhub's one HTTP front door on node:http: routes by path for requests and for WebSocket
 * upgrades, a 404 for the rest, and one error boundary: whatever a handler throws or rejects with
 * is logged and answered through the same mapper as GraphQL errors (masked unless public), and
 * never ends the process.
 */
export class Router {
  private readonly routes: Array<Route<RequestHandler>> = [];
  private readonly upgrades: Array<Route<UpgradeHandler>> = [];

  constructor(private readonly onError: (error: unknown) => void) {}

  route(options: RouteOptions, handler: RequestHandler): this {
    const methods = options.methods ? new Set(options.methods.flatMap((method) => (method === 'GET' ? ['GET', 'HEAD'] : [method]))) : null;
    this.routes.push({ matches: matcher(options), methods, handler });
    return this;
  }

  upgrade(options: RouteOptions, handler: UpgradeHandler): this {
    this.upgrades.push({ matches: matcher(options), methods: null, handler });
    return this;
  }

  /** For `http.createServer`. */
  readonly handle = (req: IncomingMessage, res: ServerResponse): void => {
    const pathname = pathnameOf(req.url);
    const route = this.routes.find((candidate) => candidate.matches(pathname));
    if (!route) return this.refuse(req, res, new PublicError('NOT_FOUND', `no route for ${req.method ?? 'GET'} ${pathname.slice(0, 200)}`));
    if (route.methods && !route.methods.has(req.method ?? 'GET')) {
      return this.refuse(req, res, new PublicError('BAD_REQUEST', `${req.method ?? ''} is not allowed here`), { headers: { allow: [...route.methods].join(', ') }, status: 405 });
    }
    const fail = (error: unknown): void => {
      this.onError(error);
      if (res.headersSent) res.destroy();
      else sendError(res, error);
    };
    try {
      const answered = route.handler(req, res);
      if (answered) answered.catch(fail);
    } catch (error) {
      fail(error);
    }
  };

  /** For the server's `upgrade` event: a WebSocket handshake on a path nobody serves is answered 404 and closed. */
  readonly handleUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const route = this.upgrades.find((candidate) => candidate.matches(pathnameOf(req.url)));
    if (!route) return refuseUpgrade(socket, 404, 'Not Found');
    try {
      route.handler(req, socket, head);
    } catch (error) {
      this.onError(error);
      refuseUpgrade(socket, 500, 'Internal Server Error');
    }
  };

  private refuse(req: IncomingMessage, res: ServerResponse, error: PublicError, options: { headers?: Record<string, string>; status?: number } = {}): void {
    req.resume();
    sendError(res, error, options);
  }
}

/** Answers a WebSocket handshake that will not be accepted with a plain HTTP status, then closes the socket. */
export function refuseUpgrade(socket: Duplex, status: number, reason: string, headers: Record<string, string> = {}): void {
  if (!socket.writable) return void socket.destroy();
  const lines = [`HTTP/1.1 ${status} ${reason}`, 'connection: close', 'content-length: 0', ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`)];
  socket.end(`${lines.join('\r\n')}\r\n\r\n`);
}
