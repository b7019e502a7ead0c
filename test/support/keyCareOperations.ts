import { KEY_FIELDS } from './operations';

/** The operations beyond the contract (rotation, expiry, leak reports, audit, resumable feeds), as the tests send them. */
export const ROTATE = `mutation($id: ID!, $grace: Int!, $v: Int) {
  rotateApiKey(id: $id, gracePeriodSeconds: $grace, expectedVersion: $v) { secret previousSecretValidUntil apiKey { ${KEY_FIELDS} } } }`;
export const UPDATE_EXPIRY = `mutation($id: ID!, $expiresAt: DateTime, $v: Int) { updateExpiry(id: $id, expiresAt: $expiresAt, expectedVersion: $v) { ${KEY_FIELDS} } }`;
export const REPORT_LEAK = `mutation($secret: String!) { reportLeakedKey(secret: $secret) { received message } }`;
export const VERIFY_HISTORY = `query($id: ID!) { verifyHistory(id: $id) { keyId intact eventCount headLink firstBrokenVersion firstBrokenEventId problem } }`;
export const VERIFY_WITH_DEADLINE = `query($key: String!, $model: String, $clientIp: String) { verifyApiKey(key: $key, model: $model, clientIp: $clientIp) { valid reason keyId rotationDeadline } }`;
export const HISTORY_WITH_CHAIN = `query($id: ID!) { apiKeyHistory(id: $id) { id type version occurredAt actor data chainLink cursor } }`;

export const API_KEY_EVENTS_AFTER = `subscription($after: String) { apiKeyEvents(after: $after) { id keyId type version data cursor } }`;
export const KEY_STATUS_CHANGED_AFTER = `subscription($id: ID, $after: String) { keyStatusChanged(id: $id, after: $after) { keyId status reason version cursor } }`;
