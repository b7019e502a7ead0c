import type { ApiKeyCommands } from '../application/apiKeyCommands';
import type { ApiKeyQueries } from '../application/apiKeyQueries';
import type { Caller } from '../application/caller';
import { hasRole } from '../application/caller';
import type { KeyVerifier } from '../application/keyVerifier';
import type { LeakReportLimiter } from '../application/leakReportLimiter';
import type { LiveFeeds } from '../application/liveFeeds';
import { DomainError } from '../domain/errors';

export interface Services {
  commands: ApiKeyCommands;
  queries: ApiKeyQueries;
  verifier: KeyVerifier;
  liveFeeds: LiveFeeds;
  leakReports: LeakReportLimiter;
}

/** A graphql-ws connection, for the feeds to end it when its client falls too far behind. */
export interface Connection {
  cutOffSlowConsumer(): void;
}

/**
 * What every resolver gets. `caller` is the authenticated caller: reading it without one throws
 * UNAUTHENTICATED, so every operation requires a login except those that never read it
 * (reportLeakedKey). The transports also refuse unauthenticated requests before any resolver runs,
 * unless the request holds only such operations (see anonymousOperations.ts).
 */
export interface GraphQLContext {
  readonly caller: Caller;
  readonly services: Services;
  /** The client's address (as the transport sees it, or as a trusted proxy reports it). */
  readonly clientAddress?: string | null;
  /** The WebSocket connection, for subscriptions; null over HTTP. */
  readonly connection?: Connection | null;
  /** Correlates the events and log lines of one request, with or without a caller. */
  readonly requestId?: string;
}

export function createContext(
  caller: Caller | null,
  services: Services,
  transport: { clientAddress: string | null; connection: Connection | null; requestId: string },
): GraphQLContext {
  return {
    get caller(): Caller {
      if (!caller) throw new DomainError('UNAUTHENTICATED', 'an Authorization: Bearer <JWT> header is required');
      return caller;
    },
    services,
    clientAddress: transport.clientAddress,
    connection: transport.connection,
    requestId: transport.requestId,
  };
}

export function requireRole(context: GraphQLContext, role: string): void {
  if (!hasRole(context.caller, role)) throw new DomainError('FORBIDDEN', `this operation needs the ${role} role`);
}
