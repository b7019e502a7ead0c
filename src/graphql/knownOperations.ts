import { performance } from 'node:perf_hooks';
import type { DocumentNode, ExecutionResult, GraphQLFormattedError, GraphQLSchema, OperationDefinitionNode, ValidationRule } from 'graphql';
import { BREAK, GraphQLError, Kind, getOperationAST, parse, specifiedRules, validate, visit } from 'graphql';
import { getVariableValues } from 'graphql/execution/values';
import type { CompiledQuery } from 'graphql-jit';
import { compileQuery, isCompiledQuery } from 'graphql-jit';
import { OPERATION_LIMITS, operationCostError } from './operationLimits';

/** Root fields a known operation may select: only these skip Apollo's pipeline (gateways call them at the request rate). */
const FAST_ROOT_FIELD_NAMES: readonly string[] = ['verifyApiKey'];
const FAST_ROOT_FIELDS: ReadonlySet<string> = new Set(FAST_ROOT_FIELD_NAMES);
/** Distinct documents remembered (each a compiled function); beyond it the memory starts over, so a stream of unique queries costs a bounded amount. */
const MAX_REMEMBERED = 64;
/** Longer documents are never known operations: they go through Apollo, which bounds them itself. */
const MAX_QUERY_LENGTH = 4_096;

interface Known {
  compiled: CompiledQuery;
  operation: OperationDefinitionNode;
}

/** The request as the known-operation path answers it: status, headers and body exactly as Apollo would. */
export interface KnownOperationResponse {
  status: number | undefined;
  headers: Map<string, string>;
  body: string;
}

export interface KnownOperationOptions {
  schema: GraphQLSchema;
  /** The same validation rules Apollo runs (operationRules). */
  rules: ValidationRule[];
  /** The same error boundary Apollo runs (errorFormatter). */
  formatError: (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError;
  /** What Apollo's didEncounterErrors hooks do with execution errors (logUnexpectedErrors). */
  onErrors?: (errors: readonly GraphQLError[], context: object) => void;  /** What the operations' metrics note of every answered operation (as Apollo's plugin does for the rest). */
  onAnswered?: (operation: OperationDefinitionNode, errors: readonly GraphQLFormattedError[] | undefined, seconds: number) => void;
}

/**
 * Known operations: a document made only of verifyApiKey fields (aliases and variables allowed; no
 * fragments, no directives), once parsed, validated with Apollo's rules and cost-checked, is
 * compiled with graphql-jit and run directly, skipping Apollo's per-request pipeline (hashing the
 * query for its document cache, plugin hooks, graphql-js's interpreter). Measured: Apollo's pipeline
 * alone caps a one-resolver server at about a quarter of a bare JSON endpoint. Everything else, and
 * every request whose answer the path could not give exactly as Apollo does (variables that do not
 * coerce, any other Accept or content type, extensions such as persisted queries), goes through Apollo.
 * The same document always passes the same validation and cost check, so checking it once is the same
 * as checking it on every request; with no directives the cost does not depend on the variables.
 */
export class KnownOperations {
  private readonly known = new Map<string, Known | null>();

  constructor(private readonly options: KnownOperationOptions) {}

  /** The operation, when this POST body is one the path may answer; null sends it through Apollo. */
  match(body: unknown, headers: { accept?: string | undefined; 'content-type'?: string | undefined }): { known: Known; variables: Record<string, unknown> } | null {
    if (!isPlainJsonRequest(headers) || typeof body !== 'object' || body === null || Array.isArray(body)) return null;
    const { query, variables, operationName, ...rest } = body as Record<string, unknown>;
    if (Object.keys(rest).length > 0 || typeof query !== 'string' || query.length > MAX_QUERY_LENGTH) return null;
    // Any other operation is parsed by Apollo alone, never twice.
    if (!FAST_ROOT_FIELD_NAMES.some((field) => query.includes(field))) return null;
    if (variables !== undefined && variables !== null && (typeof variables !== 'object' || Array.isArray(variables))) return null;
    if (operationName !== undefined && operationName !== null && typeof operationName !== 'string') return null;
    const cacheKey = `${operationName ?? ''}\u0000${query}`;
    let known = this.known.get(cacheKey);
    if (known === undefined) {
      known = this.prepare(query, operationName ?? undefined);
      if (this.known.size >= MAX_REMEMBERED) this.known.clear();
      this.known.set(cacheKey, known);
    }
    if (!known) return null;
    // Variables that do not coerce: Apollo answers them (BAD_USER_INPUT, 400), before anything runs.
    const coerced = getVariableValues(this.options.schema, known.operation.variableDefinitions ?? [], (variables ?? {}) as Record<string, unknown>, { maxErrors: 50 });
    if (coerced.errors) return null;
    return { known, variables: (variables ?? {}) as Record<string, unknown> };
  }

  /** Runs a matched operation with the request's context and answers as Apollo does. */
  async execute(matched: { known: Known; variables: Record<string, unknown> }, context: object): Promise<KnownOperationResponse> {
    const started = performance.now();
    const result = (await matched.known.compiled.query(undefined, context, matched.variables)) as ExecutionResult;
    const headers = new Map<string, string>();
    let status: number | undefined;
    let errors: GraphQLFormattedError[] | undefined;
    if (result.errors && result.errors.length > 0) {
      const located = result.errors.map(asGraphqlJsError);
      this.options.onErrors?.(located, context);
      errors = located.map((error, i) => {
        // As Apollo's error normalisation: a code always, `extensions.http` taken into the response's status and headers.
        const { http, ...extensions } = { ...error.extensions, code: error.extensions['code'] ?? 'INTERNAL_SERVER_ERROR' } as Record<string, unknown> & { http?: { status?: number; headers?: Map<string, string> } };
        if (http) {
          if (http.status) status = http.status;
          for (const [name, value] of http.headers ?? []) headers.set(name, value);
        }
        const locations = (result.errors?.[i] as { locations?: GraphQLFormattedError['locations'] }).locations;
        const formatted: GraphQLFormattedError = { message: error.message, ...(locations ? { locations } : {}), ...(error.path ? { path: error.path } : {}), extensions };
        try {
          return this.options.formatError(formatted, error);
        } catch {
          return { message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } };
        }
      });
    }
    this.options.onAnswered?.(matched.known.operation, errors, (performance.now() - started) / 1000);
    headers.set('content-type', 'application/json; charset=utf-8');
    // Apollo's order (errors, data, extensions) and its serialisation (JSON and a newline).
    return { status, headers, body: `${JSON.stringify({ errors, data: result.data })}\n` };
  }

  private prepare(query: string, operationName: string | undefined): Known | null {
    const { schema, rules } = this.options;
    let document: DocumentNode;
    try {
      document = parse(query, { maxTokens: OPERATION_LIMITS.maxTokens });
    } catch {
      return null;
    }
    if (document.definitions.length !== 1 || hasDirectives(document)) return null;
    const operation = getOperationAST(document, operationName);
    if (!operation || operation.operation !== 'query') return null;
    if (!operation.selectionSet.selections.every((selection) => selection.kind === Kind.FIELD && FAST_ROOT_FIELDS.has(selection.name.value))) return null;
    if (validate(schema, document, [...specifiedRules, ...rules]).length > 0) return null;
    if (operationCostError(schema, document, undefined, operationName) !== null) return null;
    const compiled = compileQuery(schema, document, operationName);
    return isCompiledQuery(compiled) ? { compiled, operation } : null;
  }
}

/** Only requests whose answer Apollo would send as application/json: JSON in, and no Accept or one that takes JSON first. */
function isPlainJsonRequest(headers: { accept?: string | undefined; 'content-type'?: string | undefined }): boolean {
  const contentType = headers['content-type']?.split(';', 1)[0]?.trim().toLowerCase();
  const accept = headers.accept?.trim().toLowerCase();
  return contentType === 'application/json' && (accept === undefined || accept === '' || accept === '*/*' || accept === 'application/json');
}

const hasDirectives = (document: DocumentNode): boolean => {
  let found = false;
  visit(document, {
    Directive() {
      found = true;
      return BREAK;
    },
  });
  return found;
};

/** graphql-jit's error as the graphql-js GraphQLError Apollo's formatError and hooks receive (the resolver's error as originalError). */
function asGraphqlJsError(error: GraphQLError): GraphQLError {
  const original = error.originalError;
  const path = error.path as ReadonlyArray<string | number> | undefined;
  return new GraphQLError(error.message, { ...(path ? { path } : {}), ...(original ? { originalError: original } : {}), ...(error.extensions ? { extensions: error.extensions } : {}) });
}
