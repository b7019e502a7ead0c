import type { AccountEvent } from '../domain/account/account';
import { accountDecider, isAccountEvent, policyAsOf } from '../domain/account/account';
import type { AccountPolicy } from '../domain/account/policy';
import { accountStream } from '../eventLog/streams';
import { aggregateStream } from './commandHandler';
import type { ApiKeyEvent } from '../domain/apiKey/events';
import type { AuditKeyring } from '../domain/audit/hashChain';
import { UNKEYED } from '../domain/audit/hashChain';
import { isApiKeyEvent } from '../domain/apiKey/events';
import type { ApiKeyState } from '../domain/apiKey/state';
import { evolve, initialState } from '../domain/apiKey/state';
import { badInput, notFound } from '../domain/errors';
import type { ApiKeyListFilter, ApiKeyOrder } from '../readModel/keyList';
import { afterCursorFilter, encodeCursor, listFilter, listSort } from '../readModel/keyList';
import type { AccountDocument, ApiKeyDocument } from '../readModel/documents';
import { COLLECTIONS } from '../readModel/documents';
import type { KeyLastUse } from '../readModel/keyLookups';
import { keyLastUseIn } from '../readModel/keyLookups';
import type { HistoryVerificationView } from './auditTrail';
import { readKeyEvents, verifyKeyHistory } from './auditTrail';
import type { Caller } from './caller';
import type { Database } from '../ports/collection';
import type { EventStore, RecordedEvent } from '../ports/eventStore';
import { StreamNotFoundError } from '../ports/eventStore';
import { toDomainEvent } from '../eventLog/streams';
import type { ApiKeyEventView } from '../readModel/eventView';
import { eventView } from '../readModel/eventView';
import type { UsageGranularity } from '../domain/usageWindows';
import type { UsageBucketView } from './usageQueries';
import { keyUsage } from './usageQueries';
import type { ApiKeyView, QuotaView } from './views';
import { viewFromDocument, viewFromSnapshot } from './views';

export const PAGE_SIZE_MAX = 100;

/** An account's policy, from its stream (the write side's own state: what key commands are checked against). */
export async function accountPolicyIn(store: EventStore, accountId: string): Promise<AccountPolicy> {
  return (await aggregateStream(store, accountStream(accountId), accountDecider)).state.policy;
}

/**
 * An account's policy as it stood at `asOf`, folded from its stream's events up to that instant
 * (not from a snapshot: that is the latest state). Reading stops at the first event after it; only
 * the policy events are kept (a policy changes rarely; slot events come with every key).
 */
export async function accountPolicyAsOf(store: EventStore, accountId: string, asOf: Date): Promise<AccountPolicy> {
  const policyEvents: AccountEvent[] = [];
  try {
    for await (const resolved of store.readStream(accountStream(accountId))) {
      if (!resolved.event || !isAccountEvent(resolved.event)) continue;
      const event = toDomainEvent<AccountEvent>(resolved.event);
      if (Date.parse(event.data.occurredAt) > asOf.getTime()) break;
      if (event.type === 'AccountPolicySet') policyEvents.push(event);
    }
  } catch (error) {
    if (!(error instanceof StreamNotFoundError)) throw error;
  }
  return policyAsOf(policyEvents, asOf.getTime());
}

export interface ApiKeyPage {
  nodes: ApiKeyView[];
  totalCount: number;
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
}

/** The read side: lists and current keys from the read model; history and past states from the log. */
export class ApiKeyQueries {
  private readonly lastUse: KeyLastUse;

  constructor(
    private readonly readModel: Database,
    private readonly store: EventStore,
    private readonly defaultKeyLimit: number,
    /** The audit keys keyed chain links are checked with (AUDIT_HMAC_KEY and retired ones). */
    private readonly auditKeyring: AuditKeyring = UNKEYED,
  ) {
    this.lastUse = keyLastUseIn(readModel);
  }

  /** The account's policy as it stands, or as it stood at `asOf`. */
  accountPolicy(accountId: string, asOf?: Date | null): Promise<AccountPolicy> {
    if (asOf) return accountPolicyAsOf(this.store, accountId, asOf);
    return accountPolicyIn(this.store, accountId);
  }

  async list(caller: Caller, filter: ApiKeyListFilter | null | undefined, order: ApiKeyOrder, first: number, after?: string | null): Promise<ApiKeyPage> {
    if (!Number.isInteger(first) || first < 1 || first > PAGE_SIZE_MAX) throw badInput('first', `first must be from 1 to ${PAGE_SIZE_MAX}`);
    const keys = this.readModel.collection<ApiKeyDocument>(COLLECTIONS.apiKeys);
    const selected = listFilter(caller.accountId, filter ?? {});
    const page = after ? { $and: [selected, afterCursorFilter(order, after)] } : selected;
    const [documents, totalCount] = await Promise.all([
      keys.find(page, { sort: listSort(order), limit: first + 1 }).toArray(),
      keys.countDocuments(selected),
    ]);
    const nodes = documents.slice(0, first);
    const last = nodes[nodes.length - 1];
    return {
      nodes: nodes.map(viewFromDocument),
      totalCount,
      pageInfo: { hasNextPage: documents.length > first, endCursor: last ? encodeCursor(order, last) : null },
    };
  }

  /** The key as it stands, or as it stood at `asOf` (rebuilt from its history); null when not the caller's or deleted. */
  async get(caller: Caller, id: string, asOf?: Date | null): Promise<ApiKeyView | null> {
    if (asOf) return this.getAsOf(caller, id, asOf);
    const document = await this.readModel.collection<ApiKeyDocument>(COLLECTIONS.apiKeys).findOne({ _id: id, accountId: caller.accountId, deletedAt: null });
    return document ? viewFromDocument(document) : null;
  }

  /** Every lifecycle event of a key of the caller's account, oldest first; deleted keys included. */
  async history(caller: Caller, id: string): Promise<ApiKeyEventView[]> {
    const recorded = await this.readKeyStream(id);
    const first = recorded[0];
    if (!first || first.data['accountId'] !== caller.accountId) throw notFound();
    return recorded.filter(isApiKeyEvent).map((event) => eventView({ ...event, revision: event.revision }));
  }

  /** Usage of a key of the caller's account over time (see usageQueries.ts). */
  usage(caller: Caller, id: string, from: Date, to: Date, granularity: UsageGranularity): Promise<UsageBucketView[]> {
    return keyUsage(this.readModel, caller, id, from, to, granularity);
  }

  async quota(caller: Caller): Promise<QuotaView> {
    return this.quotaOf(caller.accountId);
  }

  async quotaOf(accountId: string): Promise<QuotaView> {
    const [account, used] = await Promise.all([
      this.readModel.collection<AccountDocument>(COLLECTIONS.accounts).findOne({ _id: accountId }),
      this.readModel.collection<ApiKeyDocument>(COLLECTIONS.apiKeys).countDocuments({ accountId, deletedAt: null }),
    ]);
    return { limit: account?.limit ?? this.defaultKeyLimit, used };
  }

  /**
   * Past states come from the key's own events. Uses are not lifecycle events, so a past state
   * shows lastUsedAt only when the key's latest use happened before that instant.
   */
  private async getAsOf(caller: Caller, id: string, asOf: Date): Promise<ApiKeyView | null> {
    let state: ApiKeyState = initialState();
    for (const recorded of await this.readKeyStream(id)) {
      const event = toDomainEvent<ApiKeyEvent>(recorded);
      if (Date.parse(event.data.occurredAt) > asOf.getTime()) break;
      state = evolve(state, event);
    }
    if (state.status !== 'ACTIVE' || state.key.accountId !== caller.accountId) return null;
    const latest = await this.lastUse.lastUsedAt(id);
    const lastUsedAt = latest && latest.getTime() <= asOf.getTime() ? latest : null;
    return viewFromSnapshot(state.key, lastUsedAt);
  }

  /** Recomputes the hash chain of a key of the caller's account: was any of its stored events edited? */
  async verifyHistory(caller: Caller, id: string): Promise<HistoryVerificationView> {
    const recorded = await this.readKeyStream(id);
    if (recorded[0]?.data['accountId'] !== caller.accountId) throw notFound();
    return verifyKeyHistory(id, recorded, this.auditKeyring);
  }

  private readKeyStream(id: string): Promise<RecordedEvent[]> {
    return readKeyEvents(this.store, id);
  }
}
