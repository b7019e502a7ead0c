import type { JSONObject } from '../../src/ports/eventStore';
import { apiKeyStream } from '../../src/eventLog/streams';
import type { ApiKeyCreated } from '../../src/domain/apiKey/events';
import type { ProjectedEvent } from '../../src/readModel/projectedEvent';

let position = 0;

/** An event as the projection runner hands it over, at the next position of an imaginary log. */
export function projectedEvent(streamId: string, revision: number, type: string, data: object): ProjectedEvent {
  position += 1;
  return {
    id: `evt-${position}`,
    type,
    data: data as JSONObject,
    metadata: { actor: 'alice' },
    streamId,
    revision,
    position: { commit: BigInt(position), prepare: BigInt(position) },
  };
}

/** A lifecycle event of one key, with the key, account and instant every such event carries. */
export const projectedKeyEvent = (key: { keyId: string; accountId: string }, revision: number, type: string, data: object, occurredAt: string): ProjectedEvent =>
  projectedEvent(apiKeyStream(key.keyId), revision, type, { ...key, occurredAt, ...data });

/** The data of a key's creation, with defaults for every field a test does not care about. */
export const apiKeyCreatedData = (data: Partial<ApiKeyCreated['data']> & Pick<ApiKeyCreated['data'], 'keyId' | 'accountId' | 'occurredAt'>): ApiKeyCreated['data'] => ({
  name: 'prod backend',
  description: null,
  region: 'us-east-1',
  secretHash: `hash-${data.keyId}`,
  maskedKey: 'sk-ab***wxyz',
  scope: { mode: 'ALL', models: [], services: [] },
  ipAllowlist: [],
  expiresAt: null,
  termsAccepted: true,
  ...data,
});

export const apiKeyCreated = (data: Parameters<typeof apiKeyCreatedData>[0]): ApiKeyCreated => ({ type: 'ApiKeyCreated', data: apiKeyCreatedData(data) });
