/** The GraphQL operations the bench sends (the contract's names; only the fields the bench reads). */
export const CREATE = `mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { secret apiKey { id } } }`;
export const SET_STATUS = `mutation($id: ID!, $status: ApiKeyStatus!) { setKeyStatus(id: $id, status: $status) { id status } }`;
export const DELETE = `mutation($id: ID!) { deleteApiKey(id: $id) { id } }`;
export const LIST_PAGE = `query($after: String) { apiKeys(first: 20, after: $after) { totalCount pageInfo { hasNextPage endCursor } nodes { id name maskedKey status lastUsedAt } } }`;
export const KEY_STATUS_CHANGED = `subscription { keyStatusChanged { keyId status } }`;

export interface GraphQLAnswer<T> {
  data?: T;
  errors?: Array<{ message: string }>;
}

/**
 * One operation over HTTP; throws on a GraphQL error so a scenario cannot count a failure as a
 * success. RATE_LIMITED (the per-account fairness limit) is waited out and retried, as a client
 * following `retryAfterSeconds` would: the bench measures the service, not its refusals.
 */
export async function graphql<T>(port: number, token: string, query: string, variables: Record<string, unknown> = {}): Promise<T> {
  for (let attempt = 0; ; attempt += 1) {
    const response = await fetch(`http://127.0.0.1:${port}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query, variables }),
    });
    const answer = (await response.json()) as GraphQLAnswer<T> & { errors?: Array<{ extensions?: { code?: string; retryAfterSeconds?: number } }> };
    const limited = answer.errors?.[0]?.extensions;
    if (limited?.code === 'RATE_LIMITED' && attempt < 5) {
      await new Promise((resolve) => setTimeout(resolve, (limited.retryAfterSeconds ?? 1) * 1000));
      continue;
    }
    if (answer.errors?.length || !answer.data) throw new Error(`GraphQL error: ${JSON.stringify(answer.errors)}`);
    return answer.data;
  }
}
