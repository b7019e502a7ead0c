import type { ApiKeySnapshot } from '../domain/apiKey/state';
import type { KeyLimits } from '../domain/rules/limits';
import { limitsOrNone } from '../domain/rules/limits';
import type { KeyMetadata } from '../domain/rules/metadata';
import type { AccessScope } from '../domain/rules/scope';
import type { ApiKeyDocument } from '../readModel/documents';

/** A key as the API returns it, whether read from the read model or rebuilt from events. */
export interface ApiKeyView {
  id: string;
  accountId: string;
  name: string;
  description: string | null;
  region: string;
  maskedKey: string;
  status: 'ENABLED' | 'DISABLED';
  scope: AccessScope;
  ipAllowlist: readonly string[];
  createdAt: Date;
  updatedAt: Date;
  lastUsedAt: Date | null;
  expiresAt: Date | null;
  limits: KeyLimits;
  metadata: KeyMetadata | null;
  version: number;
}

export const viewFromDocument = (doc: ApiKeyDocument): ApiKeyView => ({
  id: doc._id,
  accountId: doc.accountId,
  name: doc.name,
  description: doc.description,
  region: doc.region,
  maskedKey: doc.maskedKey,
  status: doc.status,
  scope: doc.scope,
  ipAllowlist: doc.ipAllowlist,
  createdAt: doc.createdAt,
  updatedAt: doc.updatedAt,
  lastUsedAt: doc.lastUsedAt,
  expiresAt: doc.expiresAt,
  limits: limitsOrNone(doc.limits),
  metadata: doc.metadata ?? null,
  version: doc.version,
});

export const viewFromSnapshot = (key: ApiKeySnapshot, lastUsedAt: Date | null): ApiKeyView => ({
  id: key.id,
  accountId: key.accountId,
  name: key.name,
  description: key.description,
  region: key.region,
  maskedKey: key.maskedKey,
  status: key.status,
  scope: key.scope,
  ipAllowlist: key.ipAllowlist,
  createdAt: new Date(key.createdAt),
  updatedAt: new Date(key.updatedAt),
  lastUsedAt,
  expiresAt: key.expiresAt === null ? null : new Date(key.expiresAt),
  limits: key.limits,
  metadata: key.metadata,
  version: key.version,
});

export interface QuotaView {
  limit: number;
  used: number;
}
