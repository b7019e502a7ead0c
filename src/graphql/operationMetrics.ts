import { performance } from 'node:perf_hooks';
import type { ApolloServerPlugin } from '@apollo/server';
import type { GraphQLFormattedError, OperationDefinitionNode, SelectionSetNode } from 'graphql';
import type { KeyhubMetrics } from '../observability/metrics';

/** The operation's root fields by their schema names (not aliases): a bounded set, unlike client-chosen operation names. */
function rootFieldsOf(selectionSet: SelectionSetNode, into = new Set<string>()): Set<string> {
  for (const selection of selectionSet.selections) {
    if (selection.kind === 'Field') into.add(selection.name.value);
    else if (selection.kind === 'InlineFragment') rootFieldsOf(selection.selectionSet, into);
    else into.add(`...${selection.name.value}`);
  }
  return into;
}

const operationOf = (operation: OperationDefinitionNode | undefined): string =>
  operation ? [...rootFieldsOf(operation.selectionSet)].sort().join('+') : 'none';

/** Notes one answered GraphQL operation: its type, root fields, the first error's code (or OK), and how long it took. */
export type OperationRecorder = (operation: OperationDefinitionNode | undefined, errors: readonly GraphQLFormattedError[] | undefined, seconds: number) => void;

export const operationRecorder =
  (metrics: KeyhubMetrics): OperationRecorder =>
  (operation, errors, seconds) => {
    const type = operation?.operation ?? 'none';
    const code = errors?.length ? String(errors[0]?.extensions?.['code'] ?? 'INTERNAL_SERVER_ERROR') : 'OK';
    metrics.graphqlOperations.inc({ type, operation: metrics.operationLabel(operationOf(operation)), code });
    metrics.graphqlSeconds.observe({ type }, seconds);
  };

/** Counts every GraphQL operation Apollo answers over HTTP (the known-operation path reports to the same recorder). */
export const operationMetricsPlugin = (record: OperationRecorder): ApolloServerPlugin => ({
  async requestDidStart() {
    const started = performance.now();
    return {
      async willSendResponse({ operation, response }) {
        const errors = response.body.kind === 'single' ? response.body.singleResult.errors : response.body.initialResult.errors;
        record(operation ?? undefined, errors, (performance.now() - started) / 1000);
      },
    };
  },
});
