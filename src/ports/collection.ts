/**
 * The read-model port: the subset of the `mongodb` driver's `Db` and `Collection` API that the
 * projections and queries use, with the same method names, argument shapes and results. A
 * `mongodb` Collection satisfies it as it is; the embedded read model executes the very same
 * filter and update documents in process.
 */
export type Document = { [key: string]: unknown };
export type Filter = { [key: string]: unknown };
export type UpdateFilter = { [key: string]: unknown };
export type Sort = { [key: string]: 1 | -1 };

export interface FindOptions {
  sort?: Sort;
  skip?: number;
  limit?: number;
  projection?: { [key: string]: 0 | 1 };
}

export interface FindCursor<T> {
  toArray(): Promise<T[]>;
}

export interface UpdateResult {
  matchedCount: number;
  modifiedCount: number;
  upsertedCount: number;
}

export type AnyBulkWriteOperation =
  | { updateOne: { filter: Filter; update: UpdateFilter; upsert?: boolean } }
  | { updateMany: { filter: Filter; update: UpdateFilter } };

export interface BulkWriteResult {
  matchedCount: number;
  modifiedCount: number;
  upsertedCount: number;
  /** Always 0 here (the operations above delete nothing); the driver reports it. */
  deletedCount: number;
}

export interface IndexOptions {
  unique?: boolean;
  name?: string;
}

export interface Collection<T extends Document = Document> {
  readonly collectionName: string;
  findOne(filter: Filter, options?: FindOptions): Promise<T | null>;
  find(filter: Filter, options?: FindOptions): FindCursor<T>;
  countDocuments(filter?: Filter): Promise<number>;
  updateOne(filter: Filter, update: UpdateFilter, options?: { upsert?: boolean }): Promise<UpdateResult>;
  /** Usage retention drops expired buckets with it. */
  deleteMany(filter: Filter): Promise<{ deletedCount: number }>;
  bulkWrite(operations: AnyBulkWriteOperation[], options?: { ordered?: boolean }): Promise<BulkWriteResult>;
  createIndex(keys: { [field: string]: 1 | -1 }, options?: IndexOptions): Promise<string>;
}

export interface Database {
  collection<T extends Document = Document>(name: string): Collection<T>;
  /** Drops every collection (for rebuilding the read model). */
  dropDatabase(): Promise<boolean>;
}

/** A duplicate key on a unique index, as the driver reports it (MongoServerError code 11000). */
export const DUPLICATE_KEY = 11000;

/** The read model could not be reached or did not answer: the request may be retried. */
export class ReadModelUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ReadModelUnavailableError';
  }
}
