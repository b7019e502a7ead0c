import type { ApolloServerPlugin } from '@apollo/server';
import { maxAliasesRule } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import type { DocumentNode, GraphQLSchema, ValidationRule } from 'graphql';
import { GraphQLError, NoSchemaIntrospectionCustomRule, parse, specifiedRules, validate } from 'graphql';
import type { ComplexityEstimator } from 'graphql-query-complexity';
import { getComplexity, simpleEstimator } from 'graphql-query-complexity';
import { PublicError } from './errors';

/**
 * What one GraphQL operation may cost, over HTTP and graphql-ws alike. The console's largest page
 * (a key list with its quota, one key's history) costs about 150 and uses no aliases; a request
 * over any limit is refused before anything runs, with QUERY_TOO_COMPLEX naming the limit.
 */
export const OPERATION_LIMITS = {
  /** Lexical tokens of the document: bounds parsing and validation of a hostile query. */
  maxTokens: 5000,
  /** Aliased fields in the operation (each alias can repeat a field with other arguments). */
  maxAliases: 15,
  /** Nesting of selections. */
  maxDepth: 10,
  /** The cost model below: every field 1, plus the extra of the expensive ones. */
  maxCost: 500,
  /** createApiKey / rotateApiKey per operation: each returns a secret only when the whole response does. */
  maxSecretIssuing: 1,
} as const;

/** Root fields that read many documents or a whole stream, and what each costs beyond an ordinary field. */
const EXPENSIVE_QUERY_FIELDS: Readonly<Record<string, number>> = {
  apiKeys: 50, // a filtered, sorted page of the account's keys, and its count
  apiKeyHistory: 50, // a key's whole stream
  verifyHistory: 100, // a key's whole stream, hashed event by event
};
/** `apiKey(asOf:)` rebuilds the key from its stream. */
const AS_OF_COST = 50;
const SECRET_ISSUING_MUTATIONS = new Set(['createApiKey', 'rotateApiKey']);

const tooComplex = (message: string): PublicError => new PublicError('QUERY_TOO_COMPLEX', message);

/** graphql-armor's rules report through this: a coded error naming the limit, and validation goes on. */
const armorReport = { exposeLimits: true, propagateOnRejection: false, onReject: [(context: { reportError(error: GraphQLError): void } | null, error: GraphQLError) => context?.reportError(tooComplex(error.message.replace(/^Syntax Error: /, '')))] };

/** The validation rules on top of graphql-js's own: aliases, depth, and in production no introspection. */
export function operationRules(options: { production: boolean }): ValidationRule[] {
  return [
    maxAliasesRule({ n: OPERATION_LIMITS.maxAliases, ...armorReport }) as unknown as ValidationRule,
    maxDepthRule({ n: OPERATION_LIMITS.maxDepth, ...armorReport }) as unknown as ValidationRule,
    ...(options.production ? [NoSchemaIntrospectionCustomRule] : []),
  ];
}

const costEstimator: ComplexityEstimator = ({ type, field, args, childComplexity }) => {
  if (type.name !== 'Query') return undefined; // the next estimator: 1 + children
  const extra = (EXPENSIVE_QUERY_FIELDS[field.name] ?? 0) + (field.name === 'apiKey' && args['asOf'] != null ? AS_OF_COST : 0);
  return extra === 0 ? undefined : 1 + extra + childComplexity;
};

const secretIssuingCounter: ComplexityEstimator = ({ type, field, childComplexity }) => (type.name === 'Mutation' && SECRET_ISSUING_MUTATIONS.has(field.name) ? 1 : 0) + childComplexity;

/**
 * The limits that need the operation's variables (an @include(if: $x) may drop a field): the cost,
 * and at most one secret-issuing mutation (two aliased createApiKey with one failing would null
 * `data`, and the other key's secret would never reach anyone). Fragments count where spread.
 */
export function operationCostError(schema: GraphQLSchema, document: DocumentNode, variables: Record<string, unknown> | undefined, operationName: string | undefined): PublicError | null {
  const measure = (estimators: ComplexityEstimator[]): number | null => {
    try {
      return getComplexity({ schema, query: document, variables: variables ?? {}, ...(operationName ? { operationName } : {}), estimators });
    } catch {
      return null; // variables that do not fit the operation: execution refuses them before any resolver runs
    }
  };
  const secretIssuing = measure([secretIssuingCounter]);
  if (secretIssuing !== null && secretIssuing > OPERATION_LIMITS.maxSecretIssuing) {
    return tooComplex(`at most ${OPERATION_LIMITS.maxSecretIssuing} createApiKey or rotateApiKey per operation (found ${secretIssuing}); send one per request`);
  }
  const cost = measure([costEstimator, simpleEstimator({ defaultComplexity: 1 })]);
  if (cost !== null && cost > OPERATION_LIMITS.maxCost) {
    return tooComplex(`operation cost ${cost} exceeds the limit of ${OPERATION_LIMITS.maxCost} (a list, history or asOf field costs about 50, verifyHistory 100, any other field 1)`);
  }
  return null;
}

/** For Apollo: the cost check once the operation is known, before it runs. */
export function operationCostPlugin(): ApolloServerPlugin {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ schema, document, request }) {
          const error = operationCostError(schema, document, request.variables, request.operationName);
          if (error) throw error;
        },
      };
    },
  };
}

/**
 * For graphql-ws: the same parsing limit, rules and cost check as over HTTP, before anything runs;
 * the document to execute, or the coded errors to answer.
 */
export function checkOperation(
  schema: GraphQLSchema,
  rules: ValidationRule[],
  payload: { query: string; variables?: Record<string, unknown> | null; operationName?: string | null },
): { document: DocumentNode } | { errors: GraphQLError[] } {
  let document: DocumentNode;
  try {
    document = parse(payload.query, { maxTokens: OPERATION_LIMITS.maxTokens });
  } catch (error) {
    return { errors: [new PublicError('GRAPHQL_PARSE_FAILED', error instanceof Error ? error.message : 'the query does not parse')] };
  }
  const invalid = validate(schema, document, [...specifiedRules, ...rules]);
  if (invalid.length > 0) return { errors: invalid.map((error) => (error instanceof PublicError || error.originalError instanceof PublicError ? error : new PublicError('GRAPHQL_VALIDATION_FAILED', error.message))) };
  const costly = operationCostError(schema, document, payload.variables ?? undefined, payload.operationName ?? undefined);
  return costly ? { errors: [costly] } : { document };
}
