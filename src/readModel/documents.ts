import type { KeyLimits } from '../domain/rules/limits';
import type { KeyMetadata } from '../domain/rules/metadata';
import type { AccessScope } from '../domain/rules/scope';

/**
 * The read model's documents and indexes, the same on MongoDB and in process. Every document
 * carries the stream revision it reflects, and writes are guarded by it, so an event applied twice
 * (a replay, a second writer) leaves the same document and nothing moves backwards.
 */
export const COLLECTIONS = {
  apiKeys: 'apiKeys',
  keyIndex: 'apiKeyIndex',
  accounts: 'accounts',
  checkpoints: 'checkpoints',
  usage: 'apiKeyUsage',
} as const;

/** One per key: the console's list, with masked secret and last use. Deleted keys stay as tombstones (deletedAt set). */
export interface ApiKeyDocument {
  [field: string]: unknown;
  _id: string;
  accountId: string;
  name: string;
  /** Lower-cased name, for the case-insensitive NAME_ASC order. */
  nameSort: string;
  description: string | null;
  region: string;
  maskedKey: string;
  status: 'ENABLED' | 'DISABLED';
  scope: AccessScope;
  ipAllowlist: string[];
  createdAt: Date;
  updatedAt: Date;
  lastUsedAt: Date | null;
  expiresAt: Date | null;
  deletedAt: Date | null;
  /** Absent on documents projected before limits existed: no limits. */
  limits?: KeyLimits;
  metadata?: KeyMetadata | null;
  version: number;
  revision: number;
}

/**
 * One per secret hash: what verification needs, found with a single lookup by `_id`. A rotated key
 * has two or more (its current secret's and the rotated-out ones', the latter with `graceUntil`);
 * every change of the key is applied to all of them.
 */
export interface KeyIndexDocument {
  [field: string]: unknown;
  /** SHA-256 of the secret, hex. */
  _id: string;
  keyId: string;
  accountId: string;
  status: 'ENABLED' | 'DISABLED';
  scope: AccessScope;
  ipAllowlist: string[];
  expiresAt: Date | null;
  /** A deleted key's entry stays as a tombstone so that a late replay cannot revive it. */
  deleted: boolean;
  /** What verification enforces and answers with; absent (none) on entries projected before they existed. */
  limits?: KeyLimits;
  metadata?: KeyMetadata | null;
  /** Set on a rotated-out secret's entry: it verifies until then, and is NOT_FOUND after. Null (or absent) for the current secret. */
  graceUntil?: Date | null;
  revision: number;
}

export interface AccountDocument {
  [field: string]: unknown;
  _id: string;
  /** Null while the account uses the configured default. */
  limit: number | null;
  revision: number;
}

/**
 * Use of one key in one bucket [start, start + granularity): what apiKeyUsage returns. Written with
 * $inc from usage events; `revision` is the usage stream's revision of the last event counted in, so an event
 * applied twice (a replay, a second writer) counts once.
 */
export interface UsageBucketDocument {
  [field: string]: unknown;
  _id: string;
  keyId: string;
  accountId: string;
  granularity: 'MINUTE' | 'HOUR' | 'DAY';
  start: Date;
  requests: number;
  denied: number;
  deniedByReason: { [reason: string]: number };
  promptTokens: number;
  completionTokens: number;
  /** Revision (in the usage stream) of the last usage event counted in. */
  revision: number;
}

/** `<keyId>/<granularity>/<start, epoch ms>`. */
export const usageBucketId = (keyId: string, granularity: string, startMs: number): string => `${keyId}/${granularity}/${startMs}`;

export interface CheckpointDocument {
  [field: string]: unknown;
  _id: string;
  /** Global log position of the last event applied, as decimal strings (BSON has no unsigned 64-bit). */
  commit: string;
  prepare: string;
  /** The position as a string that sorts like it (checkpoint.ts): what the guard against moving back compares. */
  order?: string;
}

/**
 * Every key list query is an equality on accountId and deletedAt, then one order (listSort: the
 * order's field, then _id): one compound index per order answers it from the account's own live
 * keys, in order (CREATED_AT_ASC walks the createdAt index backwards). The status, region, search
 * and unusedSince conditions are tested on the documents that index walk reaches, never on another
 * account's. In process, the indexes' leading field (accountId) selects the account's documents.
 */
export const READ_MODEL_INDEXES: ReadonlyArray<{ collection: string; keys: { [field: string]: 1 | -1 } }> = [
  { collection: COLLECTIONS.apiKeys, keys: { accountId: 1, deletedAt: 1, createdAt: -1, _id: -1 } },
  { collection: COLLECTIONS.apiKeys, keys: { accountId: 1, deletedAt: 1, lastUsedAt: -1, _id: -1 } },
  { collection: COLLECTIONS.apiKeys, keys: { accountId: 1, deletedAt: 1, nameSort: 1, _id: 1 } },
  // Not unique: a rotated key has an entry per live secret hash.
  { collection: COLLECTIONS.keyIndex, keys: { keyId: 1 } },
  { collection: COLLECTIONS.usage, keys: { keyId: 1, granularity: 1, start: 1 } },
  // Retention drops old buckets of one granularity.
  { collection: COLLECTIONS.usage, keys: { granularity: 1, start: 1 } },
];
