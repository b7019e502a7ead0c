/**
 * The product's error taxonomy. Domain code throws these; exactly one boundary
 * (src/graphql/errors.ts) maps them to GraphQL `extensions.code`.
 */
export const DOMAIN_ERROR_CODES = [
  'BAD_USER_INPUT',
  'NOT_FOUND',
  'CONFLICT',
  'QUOTA_EXCEEDED',
  'FORBIDDEN',
  'UNAUTHENTICATED',
  'RATE_LIMITED',
  // Retryable: the request was valid and nothing was changed, but it could not be served now.
  'SERVICE_UNAVAILABLE',
] as const;
export type DomainErrorCode = (typeof DOMAIN_ERROR_CODES)[number];

export class DomainError extends Error {
  constructor(
    readonly code: DomainErrorCode,
    message: string,
    /** The offending input field, for BAD_USER_INPUT (e.g. `name`, `scope.models`). */
    readonly field?: string,
    /** More for the client, in `extensions` (e.g. the `keyId` an idempotent replay refers to). */
    readonly details?: Readonly<Record<string, string>>,
    /** For RATE_LIMITED: when the caller may try again. */
    readonly retry?: { afterSeconds: number },
  ) {
    super(message);
    this.name = 'DomainError';
  }
}

export const badInput = (field: string, message: string): DomainError => new DomainError('BAD_USER_INPUT', message, field);
export const notFound = (what = 'API key'): DomainError => new DomainError('NOT_FOUND', `${what} not found`);
export const conflict = (expected: number, actual: number): DomainError =>
  new DomainError('CONFLICT', `expectedVersion ${expected} does not match the current version ${actual}`);

/** Exhaustiveness guard for switches over unions. */
export function assertNever(value: never): never {
  throw new Error(`Unexpected value: ${JSON.stringify(value)}`);
}
