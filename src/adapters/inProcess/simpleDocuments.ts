import type { Document, Filter } from '../../ports/collection';

/**
 * Fast paths for the filter and update shapes the projections and queries issue most (top-level
 * equality, numeric range guards, `$set`, `$setOnInsert`, `$max` of dates or numbers). Each
 * answers only where MongoDB's semantics are plain (both sides scalars of one type); anything
 * else returns undefined/null and the caller falls back to mingo, which stays the reference.
 */

const isDate = (value: unknown): value is Date => value instanceof Date || Object.prototype.toString.call(value) === '[object Date]';
const isScalar = (value: unknown): value is string | number | boolean => typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean';
const isPlainObject = (value: unknown): value is Document => value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype;
const isTopLevelField = (field: string): boolean => !field.startsWith('$') && !field.includes('.');

/** A deep copy of JSON values and Dates, as a round trip over the wire would make (Dates of this realm). */
export function copyValue<V>(value: V): V {
  if (value === null || typeof value !== 'object') return value;
  if (value instanceof Date) return new Date(value.getTime()) as V;
  if (Array.isArray(value)) {
    const copy = new Array(value.length);
    for (let i = 0; i < value.length; i += 1) copy[i] = copyValue(value[i]);
    return copy as V;
  }
  if (Object.getPrototypeOf(value) !== Object.prototype && isDate(value)) return new Date(value.getTime()) as V; // a Date of another realm
  const copy: Document = {};
  for (const key of Object.keys(value)) copy[key] = copyValue((value as Document)[key]);
  return copy as V;
}

const INTERN_MAX_JSON = 512;
const INTERN_MAX_ENTRIES = 50_000;
const interned = new Map<string, unknown>();

function hasOnlyJsonScalars(value: unknown): boolean {
  if (value === null || typeof value !== 'object') return true;
  if (Array.isArray(value)) return value.every(hasOnlyJsonScalars);
  return Object.getPrototypeOf(value) === Object.prototype && Object.values(value).every(hasOnlyJsonScalars);
}

/**
 * The copy of a value that a stored document keeps. Small arrays and objects of plain JSON (an
 * allowlist, a scope: most keys share a few) are interned, frozen, so a million documents do not
 * hold a million copies of `[]`. Safe because stored documents are never mutated (updates build
 * new documents) and reads hand out deep copies.
 */
export function storedValue<V>(value: V): V {
  if (value === null || typeof value !== 'object' || value instanceof Date || !hasOnlyJsonScalars(value)) return copyValue(value);
  const json = JSON.stringify(value);
  if (json.length > INTERN_MAX_JSON) return copyValue(value);
  const known = interned.get(json);
  if (known !== undefined) return known as V;
  const copy = deepFreeze(copyValue(value));
  if (interned.size < INTERN_MAX_ENTRIES) interned.set(json, copy);
  return copy;
}

function deepFreeze<V>(value: V): V {
  if (value !== null && typeof value === 'object') {
    for (const field of Object.values(value)) deepFreeze(field);
    Object.freeze(value);
  }
  return value;
}

/** Equality of JSON values and Dates (Dates by instant, whatever their realm). */
export function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  if (isDate(a) || isDate(b)) return isDate(a) && isDate(b) && a.getTime() === b.getTime();
  if (Array.isArray(a) || Array.isArray(b)) return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((item, i) => sameValue(item, b[i]));
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((key) => sameValue((a as Document)[key], (b as Document)[key]));
}

/** true/false where the fast path can decide; undefined where MongoDB's rules need mingo (arrays, objects, mixed types). */
export type SimpleMatcher = (doc: Document) => boolean | undefined;

const RANGE = new Set(['$lt', '$lte', '$gt', '$gte']);

/** The type a range bound compares within: a range never matches a value of another type (type bracketing). */
const rangeType = (value: unknown): 'number' | 'string' | 'date' | null =>
  typeof value === 'number' ? 'number' : typeof value === 'string' ? 'string' : isDate(value) ? 'date' : null;
const comparable = (value: unknown): number | string => (isDate(value) ? value.getTime() : (value as number | string));

function rangeOf(field: string, bounds: Array<[string, unknown]>): SimpleMatcher | null {
  const type = rangeType(bounds[0]?.[1]);
  if (!type || !bounds.every(([operator, operand]) => RANGE.has(operator) && rangeType(operand) === type)) return null;
  const compiled = bounds.map(([operator, operand]) => [operator, comparable(operand)] as const);
  return (doc) => {
    const value = doc[field];
    if (value === undefined || value === null || typeof value === 'boolean') return false;
    const valueType = rangeType(value);
    if (valueType === null) return typeof value === 'object' && !Array.isArray(value) && !isDate(value) ? false : undefined;
    if (valueType !== type) return false;
    const v = comparable(value);
    for (const [operator, bound] of compiled) {
      const holds = operator === '$lt' ? v < bound : operator === '$lte' ? v <= bound : operator === '$gt' ? v > bound : v >= bound;
      if (!holds) return false;
    }
    return true;
  };
}

function regexOf(field: string, condition: Document): SimpleMatcher | null {
  const keys = Object.keys(condition);
  const options = condition['$options'] ?? '';
  if (typeof condition['$regex'] !== 'string' || typeof options !== 'string' || !/^i?$/.test(options) || !keys.every((key) => key === '$regex' || key === '$options')) return null;
  const pattern = new RegExp(condition['$regex'], options);
  return (doc) => {
    const value = doc[field];
    if (typeof value === 'string') return pattern.test(value);
    return value === undefined || value === null || typeof value === 'number' || typeof value === 'boolean' || isDate(value) ? false : undefined;
  };
}

function conditionOf(field: string, condition: unknown): SimpleMatcher | null {
  if (isScalar(condition)) {
    return (doc) => {
      const value = doc[field];
      return value === undefined || value === null || typeof value !== 'object' ? value === condition : isDate(value) ? false : undefined;
    };
  }
  if (condition === null) {
    return (doc) => {
      const value = doc[field];
      if (value === undefined || value === null) return true;
      return typeof value !== 'object' || isDate(value) ? false : undefined;
    };
  }
  if (isDate(condition)) {
    const instant = condition.getTime();
    return (doc) => {
      const value = doc[field];
      if (isDate(value)) return value.getTime() === instant;
      return value === undefined || value === null || typeof value !== 'object' ? false : undefined;
    };
  }
  if (isPlainObject(condition)) {
    if ('$regex' in condition) return regexOf(field, condition);
    const bounds = Object.entries(condition);
    return bounds.length === 0 ? null : rangeOf(field, bounds);
  }
  return null;
}

/** `$and` / `$or` of compiled branches: decided when the branches decide it, undefined (mingo) otherwise. */
function logicalOf(operator: string, branches: unknown): SimpleMatcher | null {
  if ((operator !== '$and' && operator !== '$or') || !Array.isArray(branches) || branches.length === 0) return null;
  const compiled: SimpleMatcher[] = [];
  for (const branch of branches) {
    const matcher = isPlainObject(branch) ? compileSimpleFilter(branch) : null;
    if (!matcher) return null;
    compiled.push(matcher);
  }
  const decisive = operator === '$or'; // the branch value that decides the whole
  return (doc) => {
    let undecided = false;
    for (const matcher of compiled) {
      const matched = matcher(doc);
      if (matched === decisive) return decisive;
      if (matched === undefined) undecided = true;
    }
    return undecided ? undefined : !decisive;
  };
}

/**
 * Compiles a filter of top-level equality (scalars, null, Dates), range (numbers, strings or Dates),
 * `$regex` (with option i) conditions, `$and` and `$or`; null for any other shape.
 */
export function compileSimpleFilter(filter: Filter): SimpleMatcher | null {
  const conditions: SimpleMatcher[] = [];
  for (const field of Object.keys(filter)) {
    const condition = field.startsWith('$') ? logicalOf(field, filter[field]) : isTopLevelField(field) ? conditionOf(field, filter[field]) : null;
    if (!condition) return null;
    conditions.push(condition);
  }
  return (doc) => {
    let undecided = false;
    for (const condition of conditions) {
      const matched = condition(doc);
      if (matched === false) return false;
      if (matched === undefined) undecided = true;
    }
    return undecided ? undefined : true;
  };
}

/**
 * Orders two field values as MongoDB sorts them, where that is plain: both missing or null, or
 * both numbers, strings or Dates. Null where types mix (mingo's compare decides those).
 */
export function compareSimple(a: unknown, b: unknown): number | null {
  const aNull = a === undefined || a === null;
  const bNull = b === undefined || b === null;
  if (aNull || bNull) return aNull && bNull && a === b ? 0 : null;
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
  if (typeof a === 'number' && typeof b === 'number') return a < b ? -1 : a > b ? 1 : 0;
  if (isDate(a) && isDate(b)) return a.getTime() - b.getTime();
  return null;
}

/** Compares for `$max`: a number, or null when the values are not both dates or both numbers. */
function compareForMax(current: unknown, candidate: unknown): number | null {
  if (isDate(current) && isDate(candidate)) return candidate.getTime() - current.getTime();
  if (typeof current === 'number' && typeof candidate === 'number') return candidate - current;
  return null;
}

/**
 * Applies `$set` / `$max` / `$inc` (of numbers) of top-level fields to a copy of `doc` (unchanged nested values are
 * shared: stored documents are never mutated, only replaced). Null when the update has another
 * shape; `changed` false when every value was already there (MongoDB's modifiedCount 0).
 */
export function applySimpleUpdate<T extends Document>(doc: T, modifier: Document): { next: T; changed: boolean } | null {
  const writes: Array<[string, unknown]> = [];
  for (const operator of Object.keys(modifier)) {
    const fields = modifier[operator];
    if ((operator !== '$set' && operator !== '$max' && operator !== '$inc') || !isPlainObject(fields)) return null;
    for (const field of Object.keys(fields)) {
      if (!isTopLevelField(field)) return null;
      const value = fields[field];
      if (operator === '$set') {
        if (!sameValue(doc[field], value)) writes.push([field, value]);
        continue;
      }
      const current = doc[field];
      if (operator === '$inc') {
        // Usage buckets: numbers only; anything else (a missing field, a non-number) is mingo's to answer.
        if (typeof current !== 'number' || typeof value !== 'number') return null;
        if (value !== 0) writes.push([field, current + value]);
        continue;
      }
      if (current === undefined || (current === null && value !== null)) {
        writes.push([field, value]); // null and missing order below every date and number
        continue;
      }
      const difference = compareForMax(current, value);
      if (difference === null) return null;
      if (difference > 0) writes.push([field, value]);
    }
  }
  if (writes.length === 0) return { next: doc, changed: false };
  const next = { ...doc };
  for (const [field, value] of writes) (next as Document)[field] = storedValue(value);
  return { next, changed: true };
}

/** The document an upsert inserts from `$setOnInsert` and `$set` of top-level fields; null for any other shape. */
export function simpleUpsertDocument(base: Document, update: Document): Document | null {
  // Built up from an empty literal, so that documents of one shape share one hidden class.
  const inserted: Document = {};
  // Fields holding the same instant (createdAt and updatedAt of a new key) share one stored Date: a Date costs ~90 bytes.
  let lastDate: Date | null = null;
  const store = (value: unknown): unknown => {
    if (!(value instanceof Date) || lastDate === null || lastDate.getTime() !== value.getTime()) {
      const stored = storedValue(value);
      if (stored instanceof Date) lastDate = stored;
      return stored;
    }
    return lastDate;
  };
  for (const field of Object.keys(base)) inserted[field] = store(base[field]);
  for (const operator of Object.keys(update)) {
    const fields = update[operator];
    if ((operator !== '$set' && operator !== '$setOnInsert') || !isPlainObject(fields)) return null;
    for (const field of Object.keys(fields)) {
      if (!isTopLevelField(field)) return null;
      inserted[field] = store(fields[field]);
    }
  }
  return inserted;
}
