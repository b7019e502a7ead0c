import type { ApolloServerPlugin } from '@apollo/server';
import type { DocumentNode, SelectionSetNode } from 'graphql';
import { Kind, getOperationAST } from 'graphql';
import type { GraphQLContext } from './context';
import { ROLE_GATEWAY } from '../application/caller';
import { publicErrorOf } from './errors';

/** Root fields never counted against an account: gateways verify keys of every account, and the anonymous leak report has its own per-address limit. */
const UNCOUNTED_FIELDS = new Set(['verifyApiKey', 'reportLeakedKey', '__typename']);

export interface AccountRequests {
  /** Counts one operation of the account; rejects with RATE_LIMITED beyond its allowance. */
  admit(accountId: string): Promise<void>;
  /** The refusal the account's next operation would get, counting nothing; null while it has allowance. */
  refusalIfSpent(accountId: string): Promise<Error | null>;
  /** Counts an operation refused before it ran. */
  charge(accountId: string): Promise<void>;
}

/**
 * Before anything is parsed: an account that has spent its allowance is refused at once (a gateway's
 * token is not: its verifications are never counted). Throws the limiter's refusal as a public error.
 */
export async function refuseIfSpent(limiter: AccountRequests, principal: { accountId: string | null; roles: readonly string[] }): Promise<void> {
  if (principal.accountId === null || principal.roles.includes(ROLE_GATEWAY)) return;
  const refusal = await limiter.refusalIfSpent(principal.accountId);
  if (refusal) throw publicErrorOf(refusal) ?? refusal;
}

/** Whether the operation counts against its caller's account: unless every root field it selects (through fragments too) is uncounted. */
export function countsAgainstAccount(document: DocumentNode, operationName: string | null | undefined): boolean {
  const operation = getOperationAST(document, operationName);
  if (!operation) return true;
  const fragments = new Map(document.definitions.flatMap((definition) => (definition.kind === Kind.FRAGMENT_DEFINITION ? [[definition.name.value, definition] as const] : [])));
  const seen = new Set<string>();
  const counted = (selectionSet: SelectionSetNode): boolean =>
    selectionSet.selections.some((selection) => {
      if (selection.kind === Kind.FIELD) return !UNCOUNTED_FIELDS.has(selection.name.value);
      if (selection.kind === Kind.INLINE_FRAGMENT) return counted(selection.selectionSet);
      const fragment = fragments.get(selection.name.value);
      if (!fragment || seen.has(fragment.name.value)) return false;
      seen.add(fragment.name.value);
      return counted(fragment.selectionSet);
    });
  return counted(operation.selectionSet);
}

/**
 * Counts an operation against its caller's account, with the limiter's refusal as a public error.
 * A caller without an account (a gateway token) reaches nothing account-scoped, so is not counted.
 */
export async function admitOperation(limiter: AccountRequests, accountId: () => string | null, document: DocumentNode, operationName: string | null | undefined): Promise<void> {
  if (!countsAgainstAccount(document, operationName)) return;
  const account = accountId();
  if (account === null) return;
  try {
    await limiter.admit(account);
  } catch (error) {
    throw publicErrorOf(error) ?? error;
  }
}

/** For Apollo: each operation over HTTP, once it is known and before it runs. */
export function accountRequestLimitPlugin(limiter: AccountRequests): ApolloServerPlugin<GraphQLContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ document, request, contextValue }) {
          await admitOperation(limiter, () => contextValue.principal.accountId, document, request.operationName);
        },
        // Refused before it could run (parse, validation, cost): counted all the same, so a flood of invalid operations spends the allowance.
        async didEncounterErrors({ operation, contextValue }) {
          const accountId = operation ? null : principalAccountOf(contextValue);
          if (accountId !== null) await limiter.charge(accountId);
        },
      };
    },
  };
}

/** The caller's account, when the request had a login with one (an anonymous context throws on reading its principal). */
function principalAccountOf(context: GraphQLContext | undefined): string | null {
  try {
    return context?.principal.accountId ?? null;
  } catch {
    return null;
  }
}
