import type { AuditKey } from '../domain/audit/hashChain';
import { chainLinks } from '../domain/audit/hashChain';
import type { EventData, JSONObject, RecordedEvent } from '../ports/eventStore';
import { jsonEvent } from '../ports/eventStore';

/** Stream names: one stream per key, one per account (its key slots and limit), one for coalesced uses. */
export const STREAM_PREFIX = { apiKey: 'apiKey-', account: 'account-', usage: 'apiKeyUsage' } as const;
export const apiKeyStream = (keyId: string): string => `${STREAM_PREFIX.apiKey}${keyId}`;
export const accountStream = (accountId: string): string => `${STREAM_PREFIX.account}${accountId}`;
export const USAGE_STREAM = STREAM_PREFIX.usage;
/** Every stream the read model and the live feeds follow. */
export const KEYHUB_STREAM_PREFIXES = [STREAM_PREFIX.apiKey, STREAM_PREFIX.account, STREAM_PREFIX.usage];

export const keyIdOfStream = (streamId: string): string | null =>
  streamId.startsWith(STREAM_PREFIX.apiKey) ? streamId.slice(STREAM_PREFIX.apiKey.length) : null;

export const EVENT_SCHEMA_VERSION = 1;

/** Who caused an event and in answer to what: travels in the event's metadata, never in its data. */
export interface EventMetadata extends JSONObject {
  actor: string;
  correlationId: string;
  causationId: string;
  schemaVersion: number;
}

/** Metadata of events written by a request that carried an Idempotency-Key (idempotency.ts): hashes only. */
export interface IdempotentEventMetadata extends EventMetadata {
  idempotencyKey: string;
  requestHash: string;
}

export interface DomainEventShape {
  readonly type: string;
  readonly data: object;
}

export const toEventData = (event: DomainEventShape, metadata: EventMetadata): EventData =>
  jsonEvent({ type: event.type, data: event.data as JSONObject, metadata });

/** Where an event's hash chain link travels: in its metadata, beside who caused it. */
export const CHAIN_LINK_FIELD = 'chainLink';

export const chainLinkOf = (recorded: { metadata?: JSONObject | undefined }): string | undefined => {
  const link = recorded.metadata?.[CHAIN_LINK_FIELD];
  return typeof link === 'string' ? link : undefined;
};

/** Events to append after a stream's last event (whose link is `previousLink`; null for a new stream), each with its chain link (keyed with `key` when given). */
export function toChainedEventData(events: readonly DomainEventShape[], metadata: EventMetadata, previousLink: string | null, key: AuditKey | null = null): EventData[] {
  const links = chainLinks(previousLink, events.map((event) => ({ type: event.type, data: event.data, actor: metadata.actor })), key);
  return events.map((event, index) => toEventData(event, { ...metadata, [CHAIN_LINK_FIELD]: links[index] as string }));
}

export const toDomainEvent = <E extends DomainEventShape>(recorded: RecordedEvent): E => ({ type: recorded.type, data: recorded.data }) as unknown as E;

/** The actor of a recorded event; `system` for events written without one. */
export const actorOf = (recorded: { metadata?: JSONObject | undefined }): string => {
  const actor = recorded.metadata?.['actor'];
  return typeof actor === 'string' ? actor : 'system';
};
