import { GraphQLScalarType } from 'graphql';
import { DateTimeISOResolver, JSONResolver } from 'graphql-scalars';

/** The contract's DateTime: ISO-8601 in UTC with milliseconds (graphql-scalars' DateTimeISO under the contract's name). */
export const DateTimeScalar = new GraphQLScalarType({
  ...DateTimeISOResolver.toConfig(),
  name: 'DateTime',
  description: 'An instant in UTC, ISO-8601 with milliseconds, e.g. 2026-11-25T08:00:00.000Z',
});

export const JSONScalar = new GraphQLScalarType({ ...JSONResolver.toConfig(), name: 'JSON', description: 'Any JSON value' });
