import type { IncomingMessage, ServerResponse } from 'node:http';
import { STATUS_CODES } from 'node:http';
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

/** A refusal as every HTTP answer of keyhub gives it: `{ errors: [{ message, extensions: { code } }] }` through the one formatter, never cached. */
function errorAnswer(error: unknown, status?: number): { status: number; headers: Record<string, string>; body: string } {
  const formatted = formatError(error instanceof PublicError ? error.toJSON() : { message: '' }, error);
  const retryAfter = formatted.extensions?.['retryAfterSeconds'];
  return {
    status: status ?? HTTP_STATUS_OF[formatted.extensions?.['code'] as PublicCode] ?? 500,
    headers: {
      'content-type': 'application/json; charset=utf-8',
      'cache-control': 'no-store',
      ...(typeof retryAfter === 'number' ? { 'retry-after': String(retryAfter) } : {}),
    },
    body: JSON.stringify({ errors: [formatted] }),
  };
}

export function sendError(res: ServerResponse, error: unknown, options: { headers?: Record<string, string>; status?: number } = {}): void {
  const answer = errorAnswer(error, options.status);
  res.writeHead(answer.status, { ...answer.headers, ...options.headers }).end(answer.body);
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
    if (!route) return refuseUpgrade(socket, new PublicError('NOT_FOUND', 'no WebSocket endpoint here'));
    try {
      route.handler(req, socket, head);
    } catch (error) {
      this.onError(error);
      refuseUpgrade(socket, error);
    }
  };

  private refuse(req: IncomingMessage, res: ServerResponse, error: PublicError, options: { headers?: Record<string, string>; status?: number } = {}): void {
    req.resume();
    sendError(res, error, options);
  }
}

/** Answers a WebSocket handshake that will not be accepted with the error's status and JSON body (masked unless public), then closes the socket. */
export function refuseUpgrade(socket: Duplex, error: unknown): void {
  if (!socket.writable) return void socket.destroy();
  const answer = errorAnswer(error);
  const head = [`HTTP/1.1 ${answer.status} ${STATUS_CODES[answer.status] ?? ''}`, 'connection: close', `content-length: ${Buffer.byteLength(answer.body)}`, ...Object.entries(answer.headers).map(([name, value]) => `${name}: ${value}`)];
  socket.end(`${head.join('\r\n')}\r\n\r\n${answer.body}`);
}
