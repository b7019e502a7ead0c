import { isAnonymousRequest } from '../../src/graphql/anonymousOperations';

describe('Requests that may run without a login', () => {
  it('should be a mutation of reportLeakedKey alone (with __typename at most)', () => {
    expect(isAnonymousRequest({ query: 'mutation { reportLeakedKey(secret: "x") { received } }' })).toBe(true);
    expect(isAnonymousRequest({ query: 'mutation R($s: String!) { __typename reportLeakedKey(secret: $s) { received } }', operationName: 'R' })).toBe(true);
  });

  it('should not be anything else', () => {
    for (const body of [
      { query: '{ accountQuota { limit } }' },
      { query: 'query { __typename }' },
      { query: 'mutation { __typename }' },
      { query: 'mutation { reportLeakedKey(secret: "x") { received } deleteApiKey(id: "k") { id } }' },
      { query: 'mutation { ...F } fragment F on Mutation { reportLeakedKey(secret: "x") { received } }' },
      { query: 'mutation A { reportLeakedKey(secret: "x") { received } } mutation B { deleteApiKey(id: "k") { id } }', operationName: 'B' },
      { query: 'mutation A { reportLeakedKey(secret: "x") { received } } mutation B { deleteApiKey(id: "k") { id } }' },
      { query: 'mutation { reportLeakedKey(' },
      { query: 42 },
      [{ query: 'mutation { reportLeakedKey(secret: "x") { received } }' }],
      undefined,
    ]) {
      expect(isAnonymousRequest(body)).toBe(false);
    }
  });
});
