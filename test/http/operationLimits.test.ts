import type { Client } from 'graphql-ws';
import { gql, tokenFor, wsClient } from '../support/graphqlClient';
import { CREATE, GET, HISTORY, KEY_FIELDS, LIST, QUOTA } from '../support/operations';
import { startInProcessKeyhub } from './inProcessKeyhub';

type ErrorLike = { message: string; extensions?: { code?: string } };

/** One operation over graphql-ws: its errors (from onSubscribe or execution), or its data. */
async function overWs(client: Client, query: string, variables: Record<string, unknown> = {}): Promise<{ data?: any; errors?: ErrorLike[] }> {
  return new Promise((resolve) => {
    let data: unknown;
    client.subscribe(
      { query, variables },
      {
        next: (result) => (result.errors ? resolve({ errors: result.errors as ErrorLike[] }) : (data = result.data)),
        error: (errors) => resolve({ errors: errors as ErrorLike[] }),
        complete: () => resolve({ data }),
      },
    );
  });
}

const aliased = (count: number, field: string) => `{ ${Array.from({ length: count }, (_, i) => `a${i}: ${field}`).join(' ')} }`;
const twoCreates = `mutation { a: createApiKey(input: { name: "first", acceptTerms: true }) { secret } b: createApiKey(input: { name: "second", acceptTerms: true }) { secret } }`;
const createsInFragment = `mutation { ...Two } fragment Two on Mutation { a: createApiKey(input: { name: "first", acceptTerms: true }) { secret } b: rotateApiKey(id: "x", gracePeriodSeconds: 0) { secret } }`;

describe('What one GraphQL operation may cost, over HTTP and graphql-ws', () => {
  let keyhub: Awaited<ReturnType<typeof startInProcessKeyhub>>;
  let token: string;
  let ws: Client;
  const http = (query: string, variables: Record<string, unknown> = {}) => gql(keyhub.url, token, query, variables);

  beforeAll(async () => {
    keyhub = await startInProcessKeyhub();
    token = await tokenFor({ sub: 'alice', account: 'acct-limits' });
    ws = wsClient(keyhub.wsUrl, token);
  });
  afterAll(async () => {
    await ws.dispose();
    await keyhub.stop();
  });

  it('refuses 500 aliased key lists with QUERY_TOO_COMPLEX naming the limit, over HTTP', async () => {
    const refused = await http(aliased(500, 'apiKeys { totalCount }'));
    expect(refused.status).toBe(400);
    expect(refused.data).toBeUndefined();
    expect(refused.errors?.[0]).toMatchObject({ message: expect.stringContaining('limit of 15'), extensions: { code: 'QUERY_TOO_COMPLEX' } });
  });

  it('refuses the same over graphql-ws, and the connection goes on serving', async () => {
    const refused = await overWs(ws, aliased(500, 'apiKeys { totalCount }'));
    expect(refused.errors?.[0]).toMatchObject({ message: expect.stringContaining('limit of 15'), extensions: { code: 'QUERY_TOO_COMPLEX' } });
    expect((await overWs(ws, QUOTA)).data).toEqual({ accountQuota: { limit: 50, used: 0 } });
  });

  it('refuses expensive fields beyond the cost limit even under the alias limit, over both transports', async () => {
    const costly = aliased(11, 'apiKeys { totalCount }');
    for (const refused of [await http(costly), await overWs(ws, costly)]) {
      expect(refused.errors?.[0]).toMatchObject({ message: expect.stringMatching(/cost \d+ exceeds the limit of 500/), extensions: { code: 'QUERY_TOO_COMPLEX' } });
    }
    const histories = `query($id: ID!) { ${Array.from({ length: 6 }, (_, i) => `h${i}: verifyHistory(id: $id) { intact }`).join(' ')} }`;
    expect((await http(histories, { id: 'k' })).errors?.[0]?.extensions?.code).toBe('QUERY_TOO_COMPLEX');
    const asOf = `query($id: ID!) { ${Array.from({ length: 10 }, (_, i) => `k${i}: apiKey(id: $id, asOf: "2026-01-01T00:00:00.000Z") { id }`).join(' ')} }`;
    expect((await http(asOf, { id: 'k' })).errors?.[0]?.extensions?.code).toBe('QUERY_TOO_COMPLEX');
    const current = `query($id: ID!) { ${Array.from({ length: 10 }, (_, i) => `k${i}: apiKey(id: $id) { id }`).join(' ')} }`;
    expect((await http(current, { id: 'k' })).errors).toBeUndefined();
  });

  it('refuses a document over the token limit before validating it', async () => {
    const refused = await http(`{ accountQuota { ${'limit '.repeat(6000)} } }`);
    expect(refused.status).toBe(400);
    expect(refused.errors?.[0]).toMatchObject({ message: expect.stringContaining('5000 tokens'), extensions: { code: 'GRAPHQL_PARSE_FAILED' } });
    expect((await overWs(ws, `{ accountQuota { ${'limit '.repeat(6000)} } }`)).errors?.[0]?.extensions?.code).toBe('GRAPHQL_PARSE_FAILED');
  });

  it('refuses two secret-issuing mutations in one operation before running either: no key is created', async () => {
    for (const refused of [await http(twoCreates), await http(createsInFragment), await overWs(ws, twoCreates)]) {
      expect(refused.errors?.[0]).toMatchObject({ message: expect.stringContaining('at most 1 createApiKey or rotateApiKey'), extensions: { code: 'QUERY_TOO_COMPLEX' } });
      expect(refused.data).toBeUndefined();
    }
    expect((await http(QUOTA)).data?.accountQuota.used).toBe(0);
    expect((await http(LIST)).data?.apiKeys.totalCount).toBe(0);
  });

  it('accepts what a console sends: one create, a key list page with quota, a key with history and verification, fragments', async () => {
    const created = await http(CREATE, { input: { name: 'console key', acceptTerms: true } });
    expect(created.errors).toBeUndefined();
    const id = created.data.createApiKey.apiKey.id as string;
    const page = await http(
      `query Page($first: Int, $after: String) {
        accountQuota { limit used }
        apiKeys(first: $first, after: $after, orderBy: CREATED_AT_DESC, filter: { status: ENABLED }) { totalCount pageInfo { hasNextPage endCursor } nodes { ...Key } }
      }
      fragment Key on ApiKey { ${KEY_FIELDS} }`,
      { first: 100 },
    );
    expect(page.errors).toBeUndefined();
    expect(page.data.apiKeys.nodes).toHaveLength(1);
    const detail = await http(
      `query Detail($id: ID!) {
        apiKey(id: $id) { ${KEY_FIELDS} }
        then: apiKey(id: $id, asOf: "2099-01-01T00:00:00.000Z") { name }
        apiKeyHistory(id: $id) { id type version occurredAt actor data }
        verifyHistory(id: $id) { intact }
      }`,
      { id },
    );
    expect(detail.errors).toBeUndefined();
    expect(detail.data.verifyHistory.intact).toBe(true);
    for (const [query, variables] of [[GET, { id }], [HISTORY, { id }], [LIST, { first: 100 }]] as const) {
      expect((await overWs(ws, query, variables)).errors).toBeUndefined();
    }
  });
});
