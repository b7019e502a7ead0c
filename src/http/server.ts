import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import express from 'express';
import type { GraphQLSchema } from 'graphql';
import { GraphQLError } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import type { Principal } from '../application/caller';
import { IDEMPOTENCY_KEY_HEADER, parseIdempotencyKey } from '../application/idempotency';
import type { JwtAuthenticator } from '../auth';
import { DomainError } from '../domain/errors';
import { isAnonymousRequest } from '../graphql/anonymousOperations';
import type { GraphQLContext, Services } from '../graphql/context';
import { createContext } from '../graphql/context';
import { formatError, logUnexpectedErrors } from '../graphql/errors';
import type { Logger } from '../logger';
import { clientAddressOf } from './clientAddress';
import { GRAPHQL_PATH, graphqlHttpHandler, isGraphQLRequest } from './graphqlHttp';
import { CLOSE_SLOW_CONSUMER, SLOW_CONSUMER_REASON, closeWhenTokenExpires, subscriptionLimitErrors } from './liveConnections';

export interface HttpDependencies {
  schema: GraphQLSchema;
  services: Services;
  authenticator: JwtAuthenticator;
  logger: Logger;
  /** True once the read model has caught up with the log and the engines answer. */
  isReady: () => boolean;
  /** Why not (or what is degraded), shown on /readyz. */
  readinessProblems?: () => readonly object[];
  /** Extra routes (e.g. forward-auth) mounted before /graphql. */
  routes?: (app: express.Express) => void;
  /** Express's "trust proxy" setting: which proxies' X-Forwarded-For gives the client address. */
  trustProxy?: string | undefined;
  /** graphql-ws: ping interval (a pong must come within it), and subscriptions per connection. */
  webSocket?: { keepAliveMs: number; maxSubscriptions: number };
}

export interface HttpApp {
  server: Server;
  listen(port: number, host: string): Promise<string>;
  /** Stops accepting, drains HTTP requests and WebSocket connections. */
  stop(): Promise<void>;
}

const requestIdOf = (header: string | string[] | undefined): string =>
  typeof header === 'string' && /^[\w.:-]{1,128}$/.test(header) ? header : randomUUID();

/** One HTTP server: POST /graphql (Apollo), graphql-ws on the same path, /healthz and /readyz. */
export async function createHttpApp(deps: HttpDependencies): Promise<HttpApp> {
  const { schema, services, authenticator, logger } = deps;
  const app = express();
  app.disable('x-powered-by');
  const webSocket = deps.webSocket ?? { keepAliveMs: 12_000, maxSubscriptions: 20 };
  // HTTP requests to /graphql go to Apollo without express around them (see graphqlHttp.ts); the rest to express.
  let graphqlHttp: ((req: IncomingMessage, res: ServerResponse) => Promise<void>) | null = null;
  const server = createServer((req, res) => (graphqlHttp && isGraphQLRequest(req) ? void graphqlHttp(req, res) : app(req, res)));

  const wsServer = new WebSocketServer({ server, path: GRAPHQL_PATH });
  const wsCleanup = useServer<{ authorization?: unknown }, { caller?: Principal }>(
    {
      schema,
      onConnect: async (ctx) => {
        const authorization = ctx.connectionParams?.authorization;
        try {
          ctx.extra.caller = await authenticator.authenticate(typeof authorization === 'string' ? authorization : null, randomUUID());
        } catch {
          return false; // closes with 4403 Forbidden
        }
        closeWhenTokenExpires(ctx.extra.socket, ctx.extra.caller.expiresAtMs);
        return true;
      },
      onSubscribe: (ctx) => subscriptionLimitErrors(Object.keys(ctx.subscriptions).length, webSocket.maxSubscriptions),
      // The same error boundary as over HTTP: domain errors keep their code and field, the rest is masked.
      onNext: (_ctx, _id, _payload, _args, result) =>
        result.errors ? { ...result, errors: result.errors.map((error) => formatError(error.toJSON(), error)) } : undefined,
      // A feed that fails after it started (e.g. a resume cursor too far back) ends with an error message: the same boundary.
      onError: (_ctx, _id, _payload, errors) => errors.map((error) => formatError(error.toJSON(), error.originalError ?? error)),
      context: (ctx): GraphQLContext =>
        createContext(ctx.extra.caller ?? null, services, {
          clientAddress: clientAddress(ctx.extra.request), // as over HTTP: through TRUST_PROXY's proxies
          requestId: ctx.extra.caller?.requestId ?? randomUUID(),
          connection: { cutOffSlowConsumer: () => ctx.extra.socket.close(CLOSE_SLOW_CONSUMER, SLOW_CONSUMER_REASON) },
        }),
    },
    wsServer,
    // graphql-ws pings at this interval and drops a connection whose pong does not come within it.
    webSocket.keepAliveMs,
  );

  const apollo = new ApolloServer<GraphQLContext>({
    schema,
    formatError,
    includeStacktraceInErrorResponses: false,
    // main.ts owns shutdown (drain, flush uses, close the store); Apollo's own signal handlers would race it.
    stopOnTerminationSignals: false,
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer: server }),
      // No field sets cache hints; computing a cache policy for every resolved field is pure overhead.
      ApolloServerPluginCacheControlDisabled(),
      logUnexpectedErrors(logger),
      { serverWillStart: async () => ({ drainServer: async () => void (await wsCleanup.dispose()) }) },
    ],
  });
  await apollo.start();

  const clientAddress = clientAddressOf(deps.trustProxy);
  graphqlHttp = graphqlHttpHandler(apollo, {
    isReady: deps.isReady,
    onError: (error) => logger.error({ err: error }, 'unexpected error in the GraphQL HTTP handler'),
    context: async (req, res, body) => {
      const requestId = requestIdOf(req.headers['x-request-id']);
      res.setHeader('x-request-id', requestId);
      const transport = { clientAddress: clientAddress(req), connection: null, requestId };
      // Only a request for anonymous fields alone (reportLeakedKey) may come without a token; all else is refused here, as always.
      if (!req.headers.authorization && isAnonymousRequest(body)) return createContext(null, services, transport);
      let caller: Principal;
      try {
        caller = await authenticator.authenticate(req.headers.authorization, requestId);
      } catch (error) {
        const message = error instanceof DomainError ? error.message : 'authentication failed';
        throw new GraphQLError(message, { extensions: { code: 'UNAUTHENTICATED', http: { status: 401 } } });
      }
      // Idempotency-Key (Stripe's convention): the command side makes a retried mutation change nothing twice.
      let idempotencyKey: string | null;
      try {
        idempotencyKey = parseIdempotencyKey(req.headers[IDEMPOTENCY_KEY_HEADER]);
      } catch (error) {
        const { message, field } = error as DomainError;
        throw new GraphQLError(message, { extensions: { code: 'BAD_USER_INPUT', field, http: { status: 400 } } });
      }
      return createContext(idempotencyKey ? { ...caller, idempotencyKey } : caller, services, transport);
    },
  });

  app.get('/healthz', (_req, res) => void res.json({ status: 'ok' }));
  app.get('/readyz', (_req, res) => void res.status(deps.isReady() ? 200 : 503).json({ ready: deps.isReady(), problems: deps.readinessProblems?.() ?? [] }));
  deps.routes?.(app);
  // Express parses no bodies (GraphQL is served before it); anything a route throws is masked, never a stack page.
  app.use((error: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    logger.error({ err: error }, 'unexpected error in the HTTP layer');
    res.status(500).json({ errors: [{ message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } }] });
  });

  return {
    server,
    listen: (port, host) =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          const address = server.address();
          const actualPort = typeof address === 'object' && address ? address.port : port;
          resolve(`http://${host === '0.0.0.0' || host === '::' ? 'localhost' : host}:${actualPort}/graphql`);
        });
      }),
    stop: async () => {
      await apollo.stop();
      await new Promise<void>((resolve) => wsServer.close(() => resolve()));
    },
  };
}
