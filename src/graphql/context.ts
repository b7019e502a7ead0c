import type { ApiKeyCommands } from '../application/apiKeyCommands';
import type { ApiKeyQueries } from '../application/apiKeyQueries';
import type { Caller } from '../application/caller';
import { hasRole } from '../application/caller';
import type { KeyVerifier } from '../application/keyVerifier';
import { DomainError } from '../domain/errors';

export interface Services {
  commands: ApiKeyCommands;
  queries: ApiKeyQueries;
  verifier: KeyVerifier;
}

/** Every operation runs with an authenticated caller: HTTP and WebSocket both authenticate before building it. */
export interface GraphQLContext {
  caller: Caller;
  services: Services;
}

export function requireRole(context: GraphQLContext, role: string): void {
  if (!hasRole(context.caller, role)) throw new DomainError('FORBIDDEN', `this operation needs the ${role} role`);
}
