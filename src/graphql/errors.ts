import type { GraphQLFormattedError } from 'graphql';
import { GraphQLError } from 'graphql';
import { HeaderMap } from '@apollo/server';
import { ApolloServerErrorCode, unwrapResolverError } from '@apollo/server/errors';
import { ReadModelUnavailableError } from '../ports/collection';
import { EventStoreUnavailableError } from '../ports/eventStore';
import type { DomainErrorCode } from '../domain/errors';
import { DOMAIN_ERROR_CODES, DomainError } from '../domain/errors';
import type { Logger } from '../logger';
import type { ApolloServerPlugin } from '@apollo/server';
import type { GraphQLContext } from './context';

/** The service's own codes beside the domain's: an operation exceeds the limits, a masked failure. */
const SERVICE_CODES = ['QUERY_TOO_COMPLEX', 'INTERNAL_SERVER_ERROR'] as const;
type ServiceCode = (typeof SERVICE_CODES)[number];

/** Every code a client may see: the domain's taxonomy, the service's own, and Apollo's for requests that are not valid GraphQL. */
export type PublicCode = DomainErrorCode | ServiceCode | `${ApolloServerErrorCode}`;
const PUBLIC_CODES: ReadonlySet<string> = new Set<string>([...DOMAIN_ERROR_CODES, ...SERVICE_CODES, ...Object.values(ApolloServerErrorCode)]);
const MASKED_CODE: PublicCode = 'INTERNAL_SERVER_ERROR';

/** The HTTP status of a request refused as a whole with this code (errors inside a GraphQL response keep 200). */
export const HTTP_STATUS_OF: Record<PublicCode, number> = {
  BAD_USER_INPUT: 400,
  BAD_REQUEST: 400,
  QUERY_TOO_COMPLEX: 400,
  GRAPHQL_PARSE_FAILED: 400,
  GRAPHQL_VALIDATION_FAILED: 400,
  OPERATION_RESOLUTION_FAILURE: 400,
  PERSISTED_QUERY_NOT_FOUND: 200,
  PERSISTED_QUERY_NOT_SUPPORTED: 200,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  QUOTA_EXCEEDED: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  RATE_LIMITED: 429,
  INTERNAL_SERVER_ERROR: 500,
  SERVICE_UNAVAILABLE: 503,
};

export interface PublicExtensions {
  /** More for the client (e.g. the `keyId` an idempotent replay refers to); the fields below win. */
  [detail: string]: unknown;
  code: PublicCode;
  /** The offending input field, for BAD_USER_INPUT. */
  field?: string;
  /** With RATE_LIMITED: when to try again. */
  retryAfterSeconds?: number;
}

/**
 * A coded error raised by a transport or a limit rather than the domain (not ready, body too large,
 * no such route, too many subscriptions, an operation over the limits, authentication refused).
 * A GraphQLError, so Apollo and graphql-ws can carry it; `extensions.http` gives Apollo the status
 * when it refuses the whole request.
 */
export class PublicError extends GraphQLError {
  readonly publicExtensions: PublicExtensions;

  constructor(
    code: PublicCode,
    message: string,
    options: { field?: string | undefined; retryAfterSeconds?: number | undefined; details?: Readonly<Record<string, string>> | undefined } = {},
  ) {
    const publicExtensions: PublicExtensions = {
      ...options.details,
      code,
      ...(options.field ? { field: options.field } : {}),
      ...(options.retryAfterSeconds !== undefined ? { retryAfterSeconds: options.retryAfterSeconds } : {}),
    };
    const headers = options.retryAfterSeconds !== undefined ? new HeaderMap([['retry-after', String(options.retryAfterSeconds)]]) : undefined;
    super(message, { extensions: { ...publicExtensions, http: { status: HTTP_STATUS_OF[code], ...(headers ? { headers } : {}) } } });
    this.name = 'PublicError';
    this.publicExtensions = publicExtensions;
  }

  get status(): number {
    return HTTP_STATUS_OF[this.publicExtensions.code];
  }

  /** What graphql-ws sends of it: no `http` (that is for Apollo alone). */
  override toJSON(): GraphQLFormattedError {
    return { ...super.toJSON(), extensions: { ...this.publicExtensions } };
  }
}

/**
 * What a client may know of an error, or null when it must be masked: domain errors keep their code
 * (field, retry hint), an unreachable engine is the retryable SERVICE_UNAVAILABLE, a PublicError is
 * itself (also when Apollo wrapped it).
 */
export function publicErrorOf(error: unknown): PublicError | null {
  const unwrapped = unwrapResolverError(error);
  // Apollo wraps what a validation rule reports, or a plugin throws, in a GraphQLError of its own.
  const original = unwrapped instanceof GraphQLError && !(unwrapped instanceof PublicError) && unwrapped.originalError ? unwrapped.originalError : unwrapped;
  if (original instanceof PublicError) return original;
  if (original instanceof DomainError) return new PublicError(original.code, original.message, { field: original.field, retryAfterSeconds: original.retry?.afterSeconds, details: original.details });
  if (original instanceof EventStoreUnavailableError || original instanceof ReadModelUnavailableError) {
    // Retryable: an append is atomic, so an event store that failed wrote all of the change or none of it.
    const engine = original instanceof EventStoreUnavailableError ? 'the event store' : 'the read model';
    return new PublicError('SERVICE_UNAVAILABLE', `${engine} is unavailable; retry shortly`);
  }
  return null;
}

/** Whether a formatted error is one clients may see as it is (Apollo's own codes for invalid requests). */
const hasPublicCode = (formatted: GraphQLFormattedError): boolean => {
  const code = formatted.extensions?.['code'];
  return typeof code === 'string' && code !== MASKED_CODE && PUBLIC_CODES.has(code);
};

/**
 * An error graphql-js raised about the request itself: no resolver threw it (so it wraps nothing and
 * has no path) and nobody coded it (Apollo fills in INTERNAL_SERVER_ERROR before formatError runs).
 */
const isRequestError = (error: unknown, formatted: GraphQLFormattedError): boolean =>
  error instanceof GraphQLError &&
  error.originalError == null &&
  error.path === undefined &&
  [undefined, 'INTERNAL_SERVER_ERROR'].includes(formatted.extensions?.['code'] as string | undefined);

/** graphql-js's "Did you mean …?" hints name fields and types: in production they are left out (schema discovery without introspection). */
const withoutSuggestions = (message: string): string => message.replace(/ Did you mean [^?]*\?/g, '');

/**
 * The one boundary where errors become what clients see, over HTTP and graphql-ws alike: public
 * errors keep their code (and field); errors a client caused keep Apollo's code; everything else
 * reaches the client as a bare INTERNAL_SERVER_ERROR, with no message, stack or internals (the
 * plugin below logs it).
 */
export function errorFormatter(options: { hideSuggestions: boolean }): (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError {
  const message = options.hideSuggestions ? withoutSuggestions : (text: string) => text;
  const where = (formatted: GraphQLFormattedError) => ({ ...(formatted.locations ? { locations: formatted.locations } : {}), ...(formatted.path ? { path: formatted.path } : {}) });
  return (formatted, error) => {
    const known = publicErrorOf(error);
    if (known) return { message: message(known.message), ...where(formatted), extensions: { ...known.publicExtensions } };
    // graphql-js's own word on the request (e.g. "Too many errors processing variables"), which Apollo leaves uncoded.
    if (isRequestError(error, formatted)) return { ...formatted, message: message(formatted.message), extensions: { code: 'BAD_REQUEST' } };
    if (hasPublicCode(formatted)) {
      const { stacktrace: _stacktrace, http: _http, ...extensions } = formatted.extensions ?? {};
      return { ...formatted, message: message(formatted.message), extensions };
    }
    return { message: 'Internal server error', ...(formatted.path ? { path: formatted.path } : {}), extensions: { code: MASKED_CODE } };
  };
}

export const formatError = errorFormatter({ hideSuggestions: false });

/** An error as `format` lets clients see it, for transports that send GraphQLErrors themselves (graphql-ws's onSubscribe). */
export function formattedAsPublic(format: ReturnType<typeof errorFormatter>, error: GraphQLError): PublicError {
  const formatted = format(error.toJSON(), error);
  const extensions = (formatted.extensions ?? {}) as Partial<PublicExtensions>;
  return new PublicError(extensions.code ?? MASKED_CODE, formatted.message, { field: extensions.field, retryAfterSeconds: extensions.retryAfterSeconds });
}

/** Whether the boundary masks this error (and it must be logged). */
export const isMasked = (error: unknown): boolean => formatError(error instanceof GraphQLError ? error.toJSON() : { message: '' }, error).extensions?.['code'] === MASKED_CODE;

/** Logs the errors among these that the boundary masks (for Apollo's hook and the known-operation path alike). */
export function logMaskedErrors(logger: Logger, errors: readonly GraphQLError[], requestId: string | undefined): void {
  for (const error of errors) {
    if (!isMasked(error)) continue;
    logger.error({ err: unwrapResolverError(error), path: error.path, requestId }, 'unexpected error while serving a request');
  }
}

/** Logs every error that the boundary masks, with the request id the client got in `x-request-id` (anonymous requests included). */
export function logUnexpectedErrors(logger: Logger): ApolloServerPlugin<GraphQLContext> {
  return {
    async requestDidStart() {
      return {
        async didEncounterErrors({ contextValue, errors }) {
          logMaskedErrors(logger, errors, contextValue?.requestId);
        },
      };
    },
  };
}
