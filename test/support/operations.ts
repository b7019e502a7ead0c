/** The contract's operations, as the tests send them. */
export const KEY_FIELDS = 'id accountId name description region maskedKey status scope { mode models services } ipAllowlist createdAt updatedAt lastUsedAt expiresAt version';

export const CREATE = `mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { secret apiKey { ${KEY_FIELDS} } } }`;
export const RENAME = `mutation($id: ID!, $name: String!, $v: Int) { renameApiKey(id: $id, name: $name, expectedVersion: $v) { ${KEY_FIELDS} } }`;
export const DESCRIBE = `mutation($id: ID!, $d: String, $v: Int) { updateDescription(id: $id, description: $d, expectedVersion: $v) { ${KEY_FIELDS} } }`;
export const SET_STATUS = `mutation($id: ID!, $status: ApiKeyStatus!, $v: Int) { setKeyStatus(id: $id, status: $status, expectedVersion: $v) { ${KEY_FIELDS} } }`;
export const UPDATE_SCOPE = `mutation($id: ID!, $scope: AccessScopeInput!, $ips: [String!], $v: Int) {
  updateScope(id: $id, scope: $scope, ipAllowlist: $ips, expectedVersion: $v) { ${KEY_FIELDS} } }`;
export const DELETE = `mutation($id: ID!, $v: Int) { deleteApiKey(id: $id, expectedVersion: $v) { id deletedAt } }`;
export const SET_LIMIT = `mutation($accountId: ID!, $limit: Int!) { setAccountKeyLimit(accountId: $accountId, limit: $limit) { limit used } }`;

export const LIST = `query($filter: ApiKeyFilter, $orderBy: ApiKeyOrder, $first: Int, $after: String) {
  apiKeys(filter: $filter, orderBy: $orderBy, first: $first, after: $after) { totalCount pageInfo { hasNextPage endCursor } nodes { ${KEY_FIELDS} } } }`;
export const GET = `query($id: ID!, $asOf: DateTime) { apiKey(id: $id, asOf: $asOf) { ${KEY_FIELDS} } }`;
export const HISTORY = `query($id: ID!) { apiKeyHistory(id: $id) { id keyId type version occurredAt actor data } }`;
export const QUOTA = `{ accountQuota { limit used } }`;
export const VERIFY = `query($key: String!, $clientIp: String, $model: String, $service: String) {
  verifyApiKey(key: $key, clientIp: $clientIp, model: $model, service: $service) { valid reason keyId accountId scope { mode models services } } }`;

export const KEY_STATUS_CHANGED = `subscription($id: ID) { keyStatusChanged(id: $id) { keyId accountId status occurredAt version } }`;
export const API_KEY_EVENTS = `subscription { apiKeyEvents { id keyId type version occurredAt actor data } }`;
