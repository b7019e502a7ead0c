import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { IncomingMessage } from 'node:http';
import { createServer } from 'node:http';
import type { ApolloServerPlugin } from '@apollo/server';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import type { GraphQLError, GraphQLSchema } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import type { Principal } from '../application/caller';
import { IDEMPOTENCY_KEY_HEADER, parseIdempotencyKey } from '../application/idempotency';
import type { JwtAuthenticator } from '../auth';
import { DomainError } from '../domain/errors';
import { isAnonymousRequest } from '../graphql/anonymousOperations';
import type { GraphQLContext, Services } from '../graphql/context';
import { createContext } from '../graphql/context';
import type { AccountRequests } from '../graphql/accountRequestLimit';
import { accountRequestLimitPlugin, admitOperation, refuseIfSpent } from '../graphql/accountRequestLimit';
import { PublicError, errorFormatter, formattedAsPublic, logMaskedErrors, logUnexpectedErrors } from '../graphql/errors';
import type { KnownOperationOptions } from '../graphql/knownOperations';
import { KnownOperations } from '../graphql/knownOperations';
import { OPERATION_LIMITS, checkOperation, operationCostPlugin, operationRules } from '../graphql/operationLimits';
import type { Lifecycle } from '../lifecycle';
import type { Logger } from '../logger';
import { clientAddressOf } from './clientAddress';
import { GRAPHQL_BODY_LIMIT_BYTES, GRAPHQL_PATH, graphqlHttpHandler } from './graphqlHttp';
import { CLOSE_SLOW_CONSUMER, ConnectionLimits, MAX_AUTHORIZATION_LENGTH, SLOW_CONSUMER_REASON, closeWhenTokenExpires, subscriptionLimitErrors } from './liveConnections';
import { Router, refuseUpgrade, sendError, sendJson } from './router';
import { builtConsoleDir, createConsoleAssets } from './consoleAssets';
import { GRAPHIQL_PREFIX, createGraphiqlPage, wantsGraphiql } from './graphiqlPage';

export interface HttpDependencies {
  schema: GraphQLSchema;
  services: Services;
  authenticator: JwtAuthenticator;
  logger: Logger;
  /** The service's state: /readyz reports it, /graphql serves only while it allows. */
  lifecycle: Lifecycle;
  /** Extra routes (forward auth; later the console, metrics), tried after /graphql, /healthz and /readyz. */
  routes?: (router: Router) => void;
  /** Per-account fairness: every operation but verifyApiKey counts against its caller's account. */
  accountRequests?: AccountRequests;
  /** Production: no introspection, no field suggestions in error messages. */
  production?: boolean;
  /** Why not ready, or what is degraded, shown on /readyz. */
  readinessProblems?: () => readonly object[];
  /** Express's "trust proxy" setting: which proxies' X-Forwarded-For gives the client address. */
  trustProxy?: string | undefined;
  /** graphql-ws: ping interval (a pong must come within it), subscriptions per connection, connections in all and per client address. */
  webSocket?: { keepAliveMs: number; maxSubscriptions: number; maxConnections: number; maxConnectionsPerAddress: number };
  /** The built console served at / (default: dist/console). */
  consoleDir?: string;
  /** More Apollo plugins (operations' metrics). */
  plugins?: ApolloServerPlugin<GraphQLContext>[];
  /** Told of every operation the known-operation path answers (Apollo's plugins do not see them). */
  onKnownOperation?: KnownOperationOptions['onAnswered'];
  /** GraphiQL at GET /graphql from a browser, its files under /graphiql/ (default: off; on unless production, or GRAPHIQL=true). */
  graphiql?: boolean;
  /** Where GraphiQL's build is (default: dist/graphiql). */
  graphiqlDir?: string;
}

export interface HttpApp {
  server: Server;
  listen(port: number, host: string): Promise<string>;
  /** Stops accepting, drains HTTP requests and WebSocket connections. */
  stop(): Promise<void>;
  /** Open graphql-ws connections and their active operations, for the metrics. */
  webSocketStats(): { connections: number; subscriptions: number };
}

/**
 * The request's id, for its events' metadata and log lines: a client may choose one (X-Request-Id,
 * to correlate with its own logs), but it is marked `client:` so it can never pass for one keyhub
 * issued; anything else gets a fresh UUID.
 */
export const requestIdOf = (header: string | string[] | undefined): string =>
  typeof header === 'string' && /^[\w.:-]{1,128}$/.test(header) ? `client:${header}` : randomUUID();

/**
 * One HTTP server, one router: /graphql over HTTP (Apollo) and graphql-ws (upgrades on the same
 * path), /healthz, /readyz, and the routes the composition root adds.
 */
export async function createHttpApp(deps: HttpDependencies): Promise<HttpApp> {
  const { schema, services, authenticator, logger, lifecycle, accountRequests } = deps;
  const webSocket = deps.webSocket ?? { keepAliveMs: 12_000, maxSubscriptions: 20, maxConnections: 10_000, maxConnectionsPerAddress: 100 };
  const production = deps.production === true;
  const formatError = errorFormatter({ hideSuggestions: production });
  const rules = operationRules({ production });
  const router = new Router((error) => logger.error({ err: error }, 'unexpected error in the HTTP layer'));
  const server = createServer(router.handle);
  server.on('upgrade', router.handleUpgrade);

  const clientAddress = clientAddressOf(deps.trustProxy);
  // Frames are bounded like HTTP bodies (ws closes with 1009 beyond), before any authentication.
  const wsServer = new WebSocketServer({ noServer: true, maxPayload: GRAPHQL_BODY_LIMIT_BYTES });
  const connections = new ConnectionLimits(webSocket.maxConnections, webSocket.maxConnectionsPerAddress);
  router.upgrade({ path: GRAPHQL_PATH }, (req, socket, head) => {
    const admitted = connections.admit(clientAddress(req) ?? 'unknown');
    if (admitted instanceof PublicError) return refuseUpgrade(socket, admitted);
    socket.once('close', admitted); // a refused handshake closes the socket too
    wsServer.handleUpgrade(req, socket, head, (ws) => {
      wsServer.emit('connection', ws, req);
      // graphql-ws prints a client's protocol errors (an oversized frame, …) to stderr with a stack: one
      // line per hostile frame would be the client's to write. ws has closed the connection (1009, 1002) itself.
      ws.removeAllListeners('error');
      ws.on('error', (error) => logger.debug({ err: error }, 'WebSocket protocol error from a client; connection closed'));
    });
  });
  const liveSockets = new Set<{ subscriptions: Record<string, unknown> }>();
  const wsCleanup = useServer<{ authorization?: unknown }, { caller?: Principal }>(
    {
      schema,
      onConnect: async (ctx) => {
        const authorization = ctx.connectionParams?.authorization;
        if (typeof authorization !== 'string' || authorization.length > MAX_AUTHORIZATION_LENGTH) return false; // 4403 Forbidden
        try {
          ctx.extra.caller = await authenticator.authenticate(authorization, randomUUID());
        } catch {
          return false; // closes with 4403 Forbidden
        }
        closeWhenTokenExpires(ctx.extra.socket, ctx.extra.caller.expiresAtMs);
        liveSockets.add(ctx);
        ctx.extra.socket.once('close', () => liveSockets.delete(ctx));
        return true;
      },
      // The same limits as over HTTP (Apollo's parse options, validation rules and cost plugin below), before anything runs.
      onSubscribe: async (ctx, _id, payload) => {
        const limited = subscriptionLimitErrors(Object.keys(ctx.subscriptions).length, webSocket.maxSubscriptions);
        if (limited) return limited;
        const caller = ctx.extra.caller;
        if (accountRequests && caller) {
          try {
            await refuseIfSpent(accountRequests, caller);
          } catch (error) {
            return [error instanceof PublicError ? error : formattedAsPublic(formatError, error as GraphQLError)];
          }
        }
        const checked = checkOperation(schema, rules, payload);
        if ('errors' in checked) {
          if (accountRequests && caller?.accountId) await accountRequests.charge(caller.accountId);
          return checked.errors.map((error) => formattedAsPublic(formatError, error));
        }
        if (accountRequests) {
          if (!caller) return [new PublicError('UNAUTHENTICATED', 'the connection is not authenticated')];
          try {
            await admitOperation(accountRequests, () => caller.accountId, checked.document, payload.operationName);
          } catch (error) {
            return [error instanceof PublicError ? error : formattedAsPublic(formatError, error as GraphQLError)];
          }
        }
        return { schema, document: checked.document, variableValues: payload.variables, operationName: payload.operationName };
      },
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
    // Introspection is refused by `rules` in production, over HTTP and graphql-ws alike.
    introspection: true,
    parseOptions: { maxTokens: OPERATION_LIMITS.maxTokens },
    validationRules: rules,
    // main.ts owns shutdown (drain, flush uses, close the store); Apollo's own signal handlers would race it.
    stopOnTerminationSignals: false,
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer: server }),
      // No field sets cache hints; computing a cache policy for every resolved field is pure overhead.
      ApolloServerPluginCacheControlDisabled(),
      // Apollo's own landing pages load from Apollo's CDN; a browser gets keyhub's GraphiQL instead (when on).
      ApolloServerPluginLandingPageDisabled(),
      logUnexpectedErrors(logger),
      operationCostPlugin(),
      ...(accountRequests ? [accountRequestLimitPlugin(accountRequests)] : []),
      ...(deps.plugins ?? []),
      { serverWillStart: async () => ({ drainServer: async () => void (await wsCleanup.dispose()) }) },
    ],
  });
  await apollo.start();

  /** Principals the early refusal already authenticated, by request. */
  const authenticatedEarly = new WeakMap<IncomingMessage, Principal>();
  const graphqlHttp = graphqlHttpHandler(apollo, {
    serving: () => lifecycle.serving,
    // An account over its allowance costs a token check (remembered) and a counter, not a body read, a parse and Apollo's pipeline.
    ...(accountRequests
      ? {
          refuseEarly: async (req: IncomingMessage) => {
            if (!req.headers.authorization) return null;
            const principal = await authenticator.authenticate(req.headers.authorization, '').catch(() => null);
            if (!principal) return null; // the context answers the refusal as always
            authenticatedEarly.set(req, principal); // the context takes it from here: one token check per request
            return refuseIfSpent(accountRequests, principal).then(
              () => null,
              (error: unknown) => (error instanceof PublicError ? error : null),
            );
          },
        }
      : {}),
    // verifyApiKey, compiled, outside Apollo's per-request pipeline, answered exactly as Apollo answers it.
    knownOperations: new KnownOperations({
      schema,
      rules,
      formatError,
      onErrors: (errors, context) => logMaskedErrors(logger, errors, (context as GraphQLContext).requestId),
      ...(deps.onKnownOperation ? { onAnswered: deps.onKnownOperation } : {}),
    }),
    context: async (req, res, body) => {
      const requestId = requestIdOf(req.headers['x-request-id']);
      res.setHeader('x-request-id', requestId);
      const transport = { clientAddress: clientAddress(req), connection: null, requestId };
      // Only a request for anonymous fields alone (reportLeakedKey) may come without a token; all else is refused here, as always.
      if (!req.headers.authorization && isAnonymousRequest(body)) return createContext(null, services, transport);
      let caller: Principal;
      try {
        const early = authenticatedEarly.get(req);
        caller = early ? { ...early, requestId } : await authenticator.authenticate(req.headers.authorization, requestId);
      } catch (error) {
        throw new PublicError('UNAUTHENTICATED', error instanceof DomainError ? error.message : 'authentication failed');
      }
      if (accountRequests) await refuseIfSpent(accountRequests, caller);
      // Idempotency-Key (Stripe's convention): the command side makes a retried mutation change nothing twice.
      let idempotencyKey: string | null;
      try {
        idempotencyKey = parseIdempotencyKey(req.headers[IDEMPOTENCY_KEY_HEADER]);
      } catch (error) {
        const { message, field } = error as DomainError;
        throw new PublicError('BAD_USER_INPUT', message, { field });
      }
      return createContext(idempotencyKey ? { ...caller, idempotencyKey } : caller, services, transport);
    },
  });

  // GraphiQL answers only a browser's plain GET of /graphql; POST, GET queries and the WebSocket upgrade stay the API's.
  const graphiql = deps.graphiql ? createGraphiqlPage(deps.graphiqlDir) : null;
  if (graphiql) router.route({ path: GRAPHIQL_PREFIX, match: 'prefix', methods: ['GET'] }, (req, res) => {
    if (!graphiql.assets(req, res)) sendError(res, new PublicError('NOT_FOUND', 'no such GraphiQL file'));
  });
  router
    .route({ path: GRAPHQL_PATH }, graphiql ? (req, res) => (wantsGraphiql(req) ? graphiql.page(req, res) : graphqlHttp(req, res)) : graphqlHttp)
    .route({ path: '/healthz', methods: ['GET'] }, (_req, res) => sendJson(res, 200, { status: 'ok' }))
    .route({ path: '/readyz', methods: ['GET'] }, (_req, res) => {
      const state = lifecycle.current;
      sendJson(res, state.status === 'ready' ? 200 : 503, { ready: state.status === 'ready', ...state, problems: deps.readinessProblems?.() ?? [] });
    });
  deps.routes?.(router);
  // Last, at /: the console's page and hashed assets; a path that is neither is the router's 404.
  const consoleAssets = createConsoleAssets(deps.consoleDir ?? builtConsoleDir());
  router.route({ path: '/', match: 'prefix' }, (req, res) => {
    if (!consoleAssets(req, res)) sendError(res, new PublicError('NOT_FOUND', `no route for ${req.method ?? 'GET'} ${(req.url ?? '/').split('?', 1)[0]?.slice(0, 200)}`));
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
    webSocketStats: () => {
      let subscriptions = 0;
      for (const socket of liveSockets) subscriptions += Object.keys(socket.subscriptions).length;
      return { connections: wsServer.clients.size, subscriptions };
    },
  };
}
