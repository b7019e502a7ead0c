import type { OperationDefinitionNode } from 'graphql';
import { Kind, parse } from 'graphql';

/** Root fields that run without a login: holding a leaked secret is all a reporter needs. */
export const ANONYMOUS_FIELDS = new Set(['reportLeakedKey']);

/**
 * True when the request would run only anonymous fields (and `__typename`): such a request may
 * come without a token. Anything else, including text that does not parse, is authenticated first,
 * exactly as before anonymous fields existed.
 */
export function isAnonymousRequest(body: unknown): boolean {
  const { query, operationName } = (body ?? {}) as { query?: unknown; operationName?: unknown };
  if (typeof query !== 'string') return false;
  let operations: OperationDefinitionNode[];
  try {
    operations = parse(query).definitions.filter((definition): definition is OperationDefinitionNode => definition.kind === Kind.OPERATION_DEFINITION);
  } catch {
    return false;
  }
  const operation = typeof operationName === 'string' ? operations.find((candidate) => candidate.name?.value === operationName) : operations.length === 1 ? operations[0] : undefined;
  if (!operation || operation.operation !== 'mutation') return false;
  const fields = operation.selectionSet.selections;
  return (
    fields.some((selection) => selection.kind === Kind.FIELD && ANONYMOUS_FIELDS.has(selection.name.value)) &&
    fields.every((selection) => selection.kind === Kind.FIELD && (ANONYMOUS_FIELDS.has(selection.name.value) || selection.name.value === '__typename'))
  );
}
