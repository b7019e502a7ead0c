import type { ApiKeyCommands } from '../application/apiKeyCommands';
import type { ApiKeyQueries } from '../application/apiKeyQueries';
import type { Caller, Principal } from '../application/caller';
import { hasRole } from '../application/caller';
import type { KeyVerifier } from '../application/keyVerifier';
import type { ScopeCatalog } from '../domain/rules/scope';
import type { LeakReportIntake } from '../application/leakReportIntake';
import type { LiveFeeds } from '../application/liveFeedSubscriptions';
import type { TokenUsageIntake } from '../application/tokenUsageIntake';
import type { WebhookService } from '../application/webhooks/webhookService';
import { DomainError } from '../domain/errors';

export interface Services {
  commands: ApiKeyCommands;
  queries: ApiKeyQueries;
  verifier: KeyVerifier;
  liveFeeds: LiveFeeds;
  leakReports: LeakReportIntake;
  tokenUsage: TokenUsageIntake;
  /** The operator's catalog of models and services (SCOPE_CATALOG_FILE). */
  scopeCatalog: ScopeCatalog;
  webhooks: WebhookService;
}

/** A graphql-ws connection, for the feeds to end it when its client falls too far behind. */
export interface Connection {
  cutOffSlowConsumer(): void;
}

/**
 * What every resolver gets. `caller` is the authenticated caller acting on its account: reading it
 * without a login throws UNAUTHENTICATED, so every operation requires a login except those that
 * never read it (reportLeakedKey); reading it for a gateway token without an account throws
 * FORBIDDEN, so such a token reaches nothing account-scoped. `principal` is whoever logged in, with
 * or without an account: for role checks and operations that act on no account (verifyApiKey).
 * The transports also refuse unauthenticated requests before any resolver runs, unless the
 * request holds only anonymous operations (see anonymousOperations.ts).
 */
export interface GraphQLContext {
  readonly caller: Caller;
  readonly principal: Principal;
  readonly services: Services;
  /** The client's address (as the transport sees it, or as a trusted proxy reports it). */
  readonly clientAddress?: string | null;
  /** The WebSocket connection, for subscriptions; null over HTTP. */
  readonly connection?: Connection | null;
  /** Correlates the events and log lines of one request, with or without a caller. */
  readonly requestId?: string;
}

/**
 * A class, so that `caller` is a getter on the prototype: Apollo copies the context's own
 * properties per request (Object.assign), which would call an own getter and fail every
 * anonymous request before it starts.
 */
class RequestContext implements GraphQLContext {
  constructor(
    private readonly authenticated: Principal | null,
    readonly services: Services,
    readonly clientAddress: string | null,
    readonly connection: Connection | null,
    readonly requestId: string,
  ) {}

  get principal(): Principal {
    if (!this.authenticated) throw new DomainError('UNAUTHENTICATED', 'an Authorization: Bearer <JWT> header is required');
    return this.authenticated;
  }

  get caller(): Caller {
    const principal = this.principal;
    if (principal.accountId === null) {
      throw new DomainError('FORBIDDEN', 'this operation acts on an account, and the token carries no account claim (a gateway token without one may only verify keys)');
    }
    return principal as Caller;
  }
}

export const createContext = (
  caller: Principal | null,
  services: Services,
  transport: { clientAddress: string | null; connection: Connection | null; requestId: string },
): GraphQLContext => new RequestContext(caller, services, transport.clientAddress, transport.connection, transport.requestId);

export function requireRole(context: GraphQLContext, role: string): void {
  if (!hasRole(context.principal, role)) throw new DomainError('FORBIDDEN', `this operation needs the ${role} role`);
}
