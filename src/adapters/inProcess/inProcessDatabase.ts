import { Query, update as applyUpdate } from 'mingo';
import { compare as mingoCompare } from 'mingo/util';
import type {
  AnyBulkWriteOperation,
  BulkWriteResult,
  Collection,
  Database,
  Document,
  Filter,
  FindCursor,
  FindOptions,
  IndexOptions,
  Sort,
  UpdateFilter,
  UpdateResult,
} from '../../ports/collection';
import { DUPLICATE_KEY } from '../../ports/collection';
import type { SimpleMatcher } from './simpleDocuments';
import { applySimpleUpdate, compareSimple, compileSimpleFilter, copyValue, simpleUpsertDocument, storedValue } from './simpleDocuments';

/** Raised like the driver's MongoServerError for a duplicate key. */
export class DuplicateKeyError extends Error {
  readonly code = DUPLICATE_KEY;
  constructor(collection: string, index: string, key: unknown) {
    super(`E11000 duplicate key error collection: ${collection} index: ${index} dup key: ${JSON.stringify(key)}`);
    this.name = 'MongoServerError';
  }
}

interface Index {
  readonly name: string;
  readonly fields: readonly string[];
  readonly unique: boolean;
  /** First field's value → ids of the documents holding it: answers equality on the index's leading field. */
  readonly byLeadingValue: IdsByValue;
}

/**
 * Value of a leading field → ids of the documents holding it. A value held by one document (a
 * unique field, or the common case) stores the id itself rather than a Set: at a million
 * documents, a Set per value would cost ~300 bytes each.
 */
class IdsByValue {
  private readonly ids = new Map<unknown, unknown>();

  get(value: unknown): readonly unknown[] {
    const held = this.ids.get(value);
    return held === undefined ? [] : held instanceof Set ? [...held] : [held];
  }

  add(value: unknown, id: unknown): void {
    const held = this.ids.get(value);
    if (held === undefined) this.ids.set(value, id);
    else if (held instanceof Set) held.add(id);
    else if (held !== id) this.ids.set(value, new Set([held, id]));
  }

  remove(value: unknown, id: unknown): void {
    const held = this.ids.get(value);
    if (held === id) this.ids.delete(value);
    else if (held instanceof Set) {
      held.delete(id);
      if (held.size === 1) this.ids.set(value, held.values().next().value);
    }
  }

  clear(): void {
    this.ids.clear();
  }
}

/**
 * A deep copy of a document (JSON values and Dates), as a round trip over the wire would make.
 * Not `structuredClone`: it builds Dates of another realm under jest's sandbox, which mingo then
 * fails to compare with the caller's Dates; and it is several times slower.
 */
const copyDocument = copyValue;

const isPlainValue = (value: unknown): boolean => value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean';
const getPath = (doc: Document, path: string): unknown =>
  !path.includes('.') ? doc[path] : path.split('.').reduce<unknown>((value, part) => (value && typeof value === 'object' ? (value as Document)[part] : undefined), doc);

/**
 * An in-process collection that executes MongoDB filter, update and sort documents with mingo,
 * so projections and queries issue the same documents here as against MongoDB. Indexes are kept
 * as hash maps on their leading field: equality lookups on `_id` or an indexed field do not scan.
 * Documents are copied in and out, as they would be over the wire.
 */
export class InProcessCollection<T extends Document = Document> implements Collection<T> {
  private readonly documents = new Map<unknown, T>();
  private readonly indexes: Index[] = [];
  /** One value map per leading field, shared by the indexes that lead with it. */
  private readonly leading = new Map<string, IdsByValue>();

  constructor(readonly collectionName: string) {}

  async findOne(filter: Filter, options: FindOptions = {}): Promise<T | null> {
    if (!options.sort) {
      const found = this.firstMatch(filter);
      return found ? this.project(found, options) : null;
    }
    const [first] = await this.find(filter, { ...options, limit: 1 }).toArray();
    return first ?? null;
  }

  find(filter: Filter, options: FindOptions = {}): FindCursor<T> {
    return {
      toArray: async () => {
        const matches = this.matching(filter);
        if (options.sort && Object.keys(options.sort).length > 0) {
          const skip = options.skip ?? 0;
          const ordered = options.limit ? firstInOrder(matches, options.sort, skip + options.limit) : [...matches].sort(comparatorOf(options.sort));
          return ordered.slice(skip, options.limit ? skip + options.limit : undefined).map((doc) => this.project(doc, options));
        }
        let cursor = new Query({}, {}).find<T>([...matches]);
        if (options.skip) cursor = cursor.skip(options.skip);
        if (options.limit) cursor = cursor.limit(options.limit);
        return cursor.all().map((doc) => this.project(doc, options));
      },
    };
  }

  async countDocuments(filter: Filter = {}): Promise<number> {
    if (Object.keys(filter).length === 0) return this.documents.size;
    let count = 0;
    for (const _ of this.matching(filter)) count += 1;
    return count;
  }

  async updateOne(filter: Filter, update: UpdateFilter, options: { upsert?: boolean } = {}): Promise<UpdateResult> {
    return this.updateOneSync(filter, update, options.upsert ?? false);
  }

  async deleteMany(filter: Filter): Promise<{ deletedCount: number }> {
    const doomed = [...this.candidates(filter)].filter(matcherOf(filter));
    for (const doc of doomed) {
      for (const [field, ids] of this.leading) ids.remove(getPath(doc, field) ?? null, doc['_id']);
      this.documents.delete(doc['_id']);
    }
    return { deletedCount: doomed.length };
  }

  async bulkWrite(operations: AnyBulkWriteOperation[]): Promise<BulkWriteResult> {
    const result: BulkWriteResult = { matchedCount: 0, modifiedCount: 0, upsertedCount: 0, deletedCount: 0 };
    // Ordered, like the driver's default: the first failure stops the batch.
    for (const operation of operations) {
      if ('updateOne' in operation) {
        const { filter, update, upsert } = operation.updateOne;
        const outcome = this.updateOneSync(filter, update, upsert ?? false);
        result.matchedCount += outcome.matchedCount;
        result.modifiedCount += outcome.modifiedCount;
        result.upsertedCount += outcome.upsertedCount;
      } else {
        const { filter, update } = operation.updateMany;
        for (const doc of [...this.matching(filter)]) {
          const outcome = this.updateOneSync({ _id: doc['_id'] }, update, false);
          result.matchedCount += outcome.matchedCount;
          result.modifiedCount += outcome.modifiedCount;
        }
      }
    }
    return result;
  }

  async createIndex(keys: { [field: string]: 1 | -1 }, options: IndexOptions = {}): Promise<string> {
    const fields = Object.keys(keys);
    const name = options.name ?? Object.entries(keys).map(([field, direction]) => `${field}_${direction}`).join('_');
    if (this.indexes.some((index) => index.name === name)) return name;
    const leadingField = fields[0] as string;
    const shared = this.leading.get(leadingField);
    const index: Index = { name, fields, unique: options.unique ?? false, byLeadingValue: shared ?? new IdsByValue() };
    if (!shared) this.leading.set(leadingField, index.byLeadingValue);
    for (const doc of this.documents.values()) {
      this.checkUnique(index, doc, undefined);
      if (!shared) index.byLeadingValue.add(getPath(doc, leadingField) ?? null, doc['_id']);
    }
    this.indexes.push(index);
    return name;
  }

  /** The stored documents, for a snapshot of the read model (readModelSnapshot.ts): never to be mutated. */
  storedDocuments(): IterableIterator<T> {
    return this.documents.values();
  }

  /**
   * Adds documents read back from a snapshot, as stored (their objects interned like written ones),
   * and indexes them. For a collection being loaded, before anything reads it.
   */
  loadStoredDocuments(documents: readonly T[]): void {
    // A batch read back in one piece shares the objects that were shared when written (v8's
    // serialisation keeps references): each is interned once, not once per document.
    const interned = new Map<object, unknown>();
    for (const doc of documents) {
      for (const field of Object.keys(doc)) {
        const value = doc[field];
        if (value === null || typeof value !== 'object' || value instanceof Date) continue;
        let stored = interned.get(value);
        if (stored === undefined) interned.set(value, (stored = storedValue(value)));
        (doc as Document)[field] = stored;
      }
      this.store(doc, undefined);
    }
  }

  /** Drops every document (indexes stay defined, as after `deleteMany({})`). */
  clear(): void {
    this.documents.clear();
    for (const index of this.indexes) index.byLeadingValue.clear();
  }

  private updateOneSync(filter: Filter, update: UpdateFilter, upsert: boolean): UpdateResult {
    const { $setOnInsert, ...modifier } = update as { $setOnInsert?: Document } & Document;
    const found = this.firstMatch(filter);
    const simple = found ? applySimpleUpdate(found, modifier) : null;
    if (found && simple) {
      if (simple.changed) this.store(simple.next, found);
      return { matchedCount: 1, modifiedCount: simple.changed ? 1 : 0, upsertedCount: 0 };
    }
    if (found) {
      const next = copyDocument(found);
      const changed = applyUpdate(next, modifier as never, undefined, undefined, { cloneMode: 'deep' });
      if (changed.length > 0) this.store(next, found);
      return { matchedCount: 1, modifiedCount: changed.length > 0 ? 1 : 0, upsertedCount: 0 };
    }
    if (!upsert) return { matchedCount: 0, modifiedCount: 0, upsertedCount: 0 };
    // As MongoDB does: the new document starts from the filter's equality conditions.
    const simpleInsert = simpleUpsertDocument(equalityFields(filter), update);
    if (simpleInsert) {
      this.store(simpleInsert as T, undefined);
      return { matchedCount: 0, modifiedCount: 0, upsertedCount: 1 };
    }
    const inserted = equalityFields(filter) as T;
    applyUpdate(inserted as Document, { ...modifier, $set: { ...($setOnInsert ?? {}), ...((modifier['$set'] as Document) ?? {}) } } as never, undefined, undefined, { cloneMode: 'deep' });
    this.store(inserted, undefined);
    return { matchedCount: 0, modifiedCount: 0, upsertedCount: 1 };
  }

  /**
   * Watches every document a filter is tested against (what MongoDB's explain calls documents
   * examined): how tests prove that a query stays within an index's documents. One watcher at a time.
   */
  watchExamined(watcher: ((doc: T) => void) | null): void {
    this.examined = watcher;
  }

  private examined: ((doc: T) => void) | null = null;

  /** The documents matching a filter, tested only among its candidates. */
  private *matching(filter: Filter): Iterable<T> {
    const matches = matcherOf(filter);
    const examined = this.examined;
    for (const doc of this.candidates(filter)) {
      if (examined) examined(doc);
      if (matches(doc)) yield doc;
    }
  }

  /**
   * Documents worth testing against a filter: by `_id` or an indexed field's equality when the
   * filter has one (at its top level or in a top-level `$and`, as the key list's filters put it), else all.
   */
  private candidates(filter: Filter): Iterable<T> {
    const id = filter['_id'];
    if (isPlainValue(id)) {
      // The projections' common filter, checked before anything is allocated.
      const doc = this.documents.get(id);
      return doc ? [doc] : [];
    }
    const equalities = equalityConditions(filter);
    if (equalities.has('_id')) {
      const doc = this.documents.get(equalities.get('_id'));
      return doc ? [doc] : [];
    }
    for (const index of this.indexes) {
      const leading = index.fields[0] as string;
      if (equalities.has(leading)) {
        return index.byLeadingValue.get(equalities.get(leading)).map((docId) => this.documents.get(docId) as T);
      }
    }
    return this.documents.values();
  }

  private firstMatch(filter: Filter): T | undefined {
    if (isIdOnly(filter)) return this.documents.get(filter['_id']); // the projections' most common filter: no matcher needed
    const matches = matcherOf(filter);
    for (const doc of this.candidates(filter)) {
      this.examined?.(doc);
      if (matches(doc)) return doc;
    }
    return undefined;
  }

  private store(next: T, previous: T | undefined): void {
    if (next['_id'] === undefined) throw new Error(`${this.collectionName}: documents need an _id`);
    if (!previous && this.documents.has(next['_id'])) throw new DuplicateKeyError(this.collectionName, '_id_', { _id: next['_id'] });
    for (const index of this.indexes) this.checkUnique(index, next, previous);
    this.documents.set(next['_id'], next);
    for (const [field, ids] of this.leading) {
      const value = getPath(next, field) ?? null;
      if (previous) {
        const before = getPath(previous, field) ?? null;
        if (before === value) continue; // the common update: no index entry moves
        ids.remove(before, previous['_id']);
      }
      ids.add(value, next['_id']);
    }
  }

  private checkUnique(index: Index, doc: T, previous: T | undefined): void {
    if (!index.unique) return;
    const key = index.fields.map((field) => getPath(doc, field));
    for (const otherId of index.byLeadingValue.get(key[0] ?? null)) {
      if (otherId === previous?.['_id'] || otherId === doc['_id']) continue;
      const other = this.documents.get(otherId) as T;
      if (index.fields.every((field, i) => getPath(other, field) === key[i])) {
        throw new DuplicateKeyError(this.collectionName, index.name, Object.fromEntries(index.fields.map((field, i) => [field, key[i]])));
      }
    }
  }

  private project(doc: T, options: FindOptions): T {
    const copy = copyDocument(doc);
    if (!options.projection) return copy;
    const include = Object.entries(options.projection).filter(([, on]) => on === 1).map(([field]) => field);
    if (include.length > 0) return Object.fromEntries(Object.entries(copy).filter(([field]) => field === '_id' || include.includes(field))) as T;
    const exclude = Object.keys(options.projection);
    return Object.fromEntries(Object.entries(copy).filter(([field]) => !exclude.includes(field))) as T;
  }
}

/**
 * The `field: scalar` conditions every match must meet: the filter's top-level ones and those of
 * its top-level `$and` (recursively). A field with two different values keeps the first: any
 * candidate set it selects still holds every match, since the matcher tests the whole filter.
 */
function equalityConditions(filter: Filter, found = new Map<string, unknown>()): Map<string, unknown> {
  for (const field of Object.keys(filter)) {
    const value = filter[field];
    if (field === '$and' && Array.isArray(value)) {
      for (const branch of value) if (branch && typeof branch === 'object' && !Array.isArray(branch)) equalityConditions(branch as Filter, found);
    } else if (!field.startsWith('$') && !field.includes('.') && isPlainValue(value) && !found.has(field)) {
      found.set(field, value);
    }
  }
  return found;
}

/** Compares documents by a sort document, as MongoDB orders them (mingo's compare where types mix). */
function comparatorOf(sort: Sort): (a: Document, b: Document) => number {
  const keys = Object.entries(sort);
  return (a, b) => {
    for (const [field, direction] of keys) {
      const x = getPath(a, field);
      const y = getPath(b, field);
      const order = compareSimple(x, y) ?? mingoCompare(x, y);
      if (order !== 0) return order < 0 ? -direction : direction;
    }
    return 0;
  };
}

/**
 * The first `count` documents in sort order, without sorting them all: a bounded sorted buffer
 * that a document enters only when it sorts before the buffer's last (O(n log count)). Stable:
 * among equals, the earlier document comes first, as a stable sort would put it.
 */
function firstInOrder<T extends Document>(documents: Iterable<T>, sort: Sort, count: number): T[] {
  const compare = comparatorOf(sort);
  const best: T[] = [];
  for (const doc of documents) {
    if (best.length === count && compare(doc, best[count - 1] as T) >= 0) continue;
    let low = 0;
    let high = best.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (compare(doc, best[middle] as T) < 0) high = middle;
      else low = middle + 1;
    }
    best.splice(low, 0, doc);
    if (best.length > count) best.pop();
  }
  return best;
}

/** `{ _id: <scalar> }` and nothing else. */
function isIdOnly(filter: Filter): boolean {
  let fields = 0;
  for (const field in filter) if (++fields > 1 || field !== '_id') return false;
  return fields === 1 && isPlainValue(filter['_id']);
}

/**
 * A filter's test: the fast path where it can decide (see simpleDocuments), mingo otherwise.
 * mingo's Query is only built when needed: building one costs more than most tests.
 */
function matcherOf(filter: Filter): (doc: Document) => boolean {
  const simple: SimpleMatcher | null = compileSimpleFilter(filter);
  let query: Query | null = null;
  const viaMingo = (doc: Document) => (query ??= new Query(filter, {})).test(doc);
  if (!simple) return viaMingo;
  return (doc) => simple(doc) ?? viaMingo(doc);
}

/** The top-level `field: value` conditions of a filter, which an upsert copies into the new document. */
function equalityFields(filter: Filter): Document {
  return Object.fromEntries(
    Object.entries(filter).filter(([field, value]) => !field.startsWith('$') && !field.includes('.') && (isPlainValue(value) || value instanceof Date)),
  );
}

/** The in-process read model: collections that live as long as the process (rebuilt from the log at start). */
export class InProcessDatabase implements Database {
  private readonly collections = new Map<string, InProcessCollection<Document>>();

  /** The collections that exist (that something wrote or read). */
  collectionNames(): string[] {
    return [...this.collections.keys()];
  }

  /** The in-process collection itself, with what only this adapter offers (snapshots, examined documents). */
  inProcessCollection<T extends Document = Document>(name: string): InProcessCollection<T> {
    return this.collection<T>(name) as unknown as InProcessCollection<T>;
  }

  collection<T extends Document = Document>(name: string): Collection<T> {
    let collection = this.collections.get(name);
    if (!collection) this.collections.set(name, (collection = new InProcessCollection(name)));
    return collection as unknown as Collection<T>;
  }

  async dropDatabase(): Promise<boolean> {
    for (const collection of this.collections.values()) collection.clear();
    return true;
  }
}
