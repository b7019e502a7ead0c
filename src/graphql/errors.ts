import type { GraphQLFormattedError } from 'graphql';
import { GraphQLError } from 'graphql';
import { unwrapResolverError } from '@apollo/server/errors';
import { ReadModelUnavailableError } from '../ports/collection';
import { EventStoreUnavailableError } from '../ports/eventStore';
import { DomainError } from '../domain/errors';
import type { Logger } from '../logger';
import type { ApolloServerPlugin } from '@apollo/server';
import type { GraphQLContext } from './context';

/** Codes clients may see; anything else is masked. */
const PUBLIC_CODES = new Set([
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'BAD_USER_INPUT',
  'NOT_FOUND',
  'CONFLICT',
  'QUOTA_EXCEEDED',
  'RATE_LIMITED',
  'SERVICE_UNAVAILABLE',
  // Apollo's own, for requests that are not valid GraphQL
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_REQUEST',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
  'OPERATION_RESOLUTION_FAILURE',
]);

export const toGraphQLError = (error: DomainError): GraphQLError =>
  new GraphQLError(error.message, { extensions: { code: error.code, ...(error.field ? { field: error.field } : {}) } });

/** Whether a client may see this error as it is: a domain error, or one of the public codes. */
function isPublic(original: unknown, formattedCode: unknown): boolean {
  return original instanceof DomainError || (typeof formattedCode === 'string' && PUBLIC_CODES.has(formattedCode));
}

/**
 * An error graphql-js raised about the request itself: no resolver threw it (so it wraps nothing and
 * has no path) and nobody coded it (Apollo fills in INTERNAL_SERVER_ERROR before formatError runs).
 */
const isRequestError = (error: unknown, formatted: GraphQLFormattedError): boolean =>
  error instanceof GraphQLError &&
  error.originalError == null &&
  error.path === undefined &&
  [undefined, 'INTERNAL_SERVER_ERROR'].includes(formatted.extensions?.['code'] as string | undefined);

/**
 * The one boundary where errors become what clients see: domain errors keep their code (and
 * field); errors a client caused keep Apollo's code; everything else reaches the client as a bare
 * INTERNAL_SERVER_ERROR, with no message, stack or internals (the plugin below logs it).
 */
export function formatError(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError {
  const original = unwrapResolverError(error);
  if (original instanceof DomainError) {
    return {
      message: original.message,
      ...(formatted.locations ? { locations: formatted.locations } : {}),
      ...(formatted.path ? { path: formatted.path } : {}),
      extensions: { ...original.details, code: original.code, ...(original.field ? { field: original.field } : {}) },
    };
  }
  if (original instanceof EventStoreUnavailableError || original instanceof ReadModelUnavailableError) {
    // Retryable: an append is atomic, so an event store that failed wrote all of the change or none of it.
    const engine = original instanceof EventStoreUnavailableError ? 'the event store' : 'the read model';
    return { message: `${engine} is unavailable; retry shortly`, ...(formatted.path ? { path: formatted.path } : {}), extensions: { code: 'SERVICE_UNAVAILABLE' } };
  }
  if (isRequestError(error, formatted)) {
    // graphql-js's own word on the request (e.g. "Too many errors processing variables"), which Apollo leaves uncoded.
    return { ...formatted, extensions: { code: 'BAD_REQUEST' } };
  }
  if (isPublic(original, formatted.extensions?.['code'])) {
    const { stacktrace: _stacktrace, ...extensions } = formatted.extensions ?? {};
    return { ...formatted, extensions };
  }
  return { message: 'Internal server error', ...(formatted.path ? { path: formatted.path } : {}), extensions: { code: 'INTERNAL_SERVER_ERROR' } };
}

/** Logs every error that formatError masks, with the request id the client got in `x-request-id`. */
export function logUnexpectedErrors(logger: Logger): ApolloServerPlugin<GraphQLContext> {
  return {
    async requestDidStart() {
      return {
        async didEncounterErrors({ contextValue, errors }) {
          for (const error of errors) {
            const original = unwrapResolverError(error);
            if (isPublic(original, error.extensions?.['code'])) continue;
            logger.error({ err: original, path: error.path, requestId: contextValue?.caller?.requestId }, 'unexpected error while serving a request');
          }
        },
      };
    },
  };
}
