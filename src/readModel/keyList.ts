import type { Filter, Sort } from '../ports/collection';
import { badInput } from '../domain/errors';
import type { ApiKeyDocument } from './documents';

/**
 * The filter, sort and keyset-cursor documents of the key list. The same documents run on
 * MongoDB and in process. Cursors are opaque to clients: base64url JSON of the order, the sort
 * value and the id of the last key of a page.
 */
export const API_KEY_ORDERS = ['CREATED_AT_DESC', 'CREATED_AT_ASC', 'LAST_USED_DESC', 'NAME_ASC'] as const;
export type ApiKeyOrder = (typeof API_KEY_ORDERS)[number];

export interface ApiKeyListFilter {
  status?: 'ENABLED' | 'DISABLED' | null;
  region?: string | null;
  search?: string | null;
  unusedSince?: Date | null;
}

const ORDERS: Record<ApiKeyOrder, { field: 'createdAt' | 'lastUsedAt' | 'nameSort'; direction: 1 | -1 }> = {
  CREATED_AT_DESC: { field: 'createdAt', direction: -1 },
  CREATED_AT_ASC: { field: 'createdAt', direction: 1 },
  LAST_USED_DESC: { field: 'lastUsedAt', direction: -1 },
  NAME_ASC: { field: 'nameSort', direction: 1 },
};

const escapeRegex = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The keys of an account that a filter selects (what totalCount counts). */
export function listFilter(accountId: string, filter: ApiKeyListFilter = {}): Filter {
  const conditions: Filter[] = [{ accountId, deletedAt: null }];
  if (filter.status) conditions.push({ status: filter.status });
  if (filter.region) conditions.push({ region: filter.region });
  const search = filter.search?.trim();
  if (search) {
    const pattern = { $regex: escapeRegex(search), $options: 'i' };
    conditions.push({ $or: [{ name: pattern }, { description: pattern }] });
  }
  if (filter.unusedSince) conditions.push({ $or: [{ lastUsedAt: null }, { lastUsedAt: { $lt: filter.unusedSince } }] });
  return conditions.length === 1 ? (conditions[0] as Filter) : { $and: conditions };
}

/** Sort by the order's field, then by id so that the order is total and cursors are exact. */
export function listSort(order: ApiKeyOrder): Sort {
  const { field, direction } = ORDERS[order];
  return { [field]: direction, _id: direction };
}

interface CursorPayload {
  o: ApiKeyOrder;
  v: string | null;
  id: string;
}

export function encodeCursor(order: ApiKeyOrder, document: ApiKeyDocument): string {
  const value = document[ORDERS[order].field];
  const payload: CursorPayload = { o: order, v: value instanceof Date ? value.toISOString() : (value as string | null), id: document._id };
  return Buffer.from(JSON.stringify(payload)).toString('base64url');
}

/** The condition that selects the keys after the cursor's key in the given order. */
export function afterCursorFilter(order: ApiKeyOrder, cursor: string): Filter {
  const payload = decodeCursor(cursor);
  if (payload.o !== order) throw badInput('after', 'the cursor belongs to another order; start again without `after`');
  const { field, direction } = ORDERS[order];
  const beyond = direction === 1 ? '$gt' : '$lt';
  const value = field === 'nameSort' ? payload.v : payload.v === null ? null : new Date(payload.v);
  if (value === null) {
    // Only LAST_USED_DESC has null values, and they come last: continue among the never-used keys.
    return { [field]: null, _id: { [beyond]: payload.id } };
  }
  const branches: Filter[] = [{ [field]: { [beyond]: value } }, { [field]: value, _id: { [beyond]: payload.id } }];
  if (field === 'lastUsedAt') branches.push({ lastUsedAt: null });
  return { $or: branches };
}

function decodeCursor(cursor: string): CursorPayload {
  try {
    const payload = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as CursorPayload;
    if (typeof payload.id === 'string' && payload.o in ORDERS && (payload.v === null || typeof payload.v === 'string')) return payload;
  } catch {
    // fall through to the error below
  }
  throw badInput('after', 'after is not a cursor this API returned');
}
