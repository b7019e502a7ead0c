import type { CombinedError } from 'urql';

export interface ApiError {
  /** keyhub's extensions.code, or NETWORK when the request did not get an answer. */
  code: string;
  /** For BAD_USER_INPUT: the offending input field, e.g. name or ipAllowlist[2]. */
  field: string | null;
  message: string;
}

export function apiErrorOf(error: CombinedError | undefined | null): ApiError | null {
  if (!error) return null;
  const first = error.graphQLErrors[0];
  if (first) {
    const code = typeof first.extensions?.['code'] === 'string' ? (first.extensions['code'] as string) : 'INTERNAL_SERVER_ERROR';
    const field = typeof first.extensions?.['field'] === 'string' ? (first.extensions['field'] as string) : null;
    return { code, field, message: first.message };
  }
  return { code: 'NETWORK', field: null, message: error.networkError?.message ?? error.message };
}

/** Whether a server field (name, scope.models[1], ipAllowlist[0]) belongs to a form field. */
export const fieldMatches = (serverField: string | null, formField: string): boolean =>
  serverField !== null && (serverField === formField || serverField.startsWith(`${formField}.`) || serverField.startsWith(`${formField}[`));
