import type { Db, MongoClientOptions, Collection as MongoCollection, Document as MongoDocument } from 'mongodb';
import * as mongodb from 'mongodb';
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
  UpdateFilter,
  UpdateResult,
} from '../../ports/collection';
import { ReadModelUnavailableError } from '../../ports/collection';
import { redactCredentials } from '../redactCredentials';

/**
 * Fail fast when MongoDB is missing or unreachable: the driver's defaults wait 30 s for a server.
 * Two seconds rides out a restart of a connection, not a replica-set election; an election
 * surfaces as a retryable SERVICE_UNAVAILABLE, and the projection runner retries with backoff.
 */
export const MONGO_CLIENT_OPTIONS: MongoClientOptions = {
  serverSelectionTimeoutMS: 2000,
  connectTimeoutMS: 2000,
  appName: 'keyhub',
};

const isUnreachable = (error: unknown): error is Error =>
  error instanceof mongodb.MongoServerSelectionError ||
  error instanceof mongodb.MongoNetworkError ||
  error instanceof mongodb.MongoNotConnectedError ||
  error instanceof mongodb.MongoTopologyClosedError;

/**
 * The driver's "cannot reach the server" errors → the port's ReadModelUnavailableError; the rest
 * (11000 included) as they are. bulkWrite wraps whatever stopped it in a MongoBulkWriteError and
 * keeps the original as `errorResponse`: a network or server-selection failure there is one too.
 */
export function fromDriverError(error: unknown): unknown {
  if (isUnreachable(error) || (error instanceof mongodb.MongoBulkWriteError && isUnreachable(error.errorResponse))) {
    return new ReadModelUnavailableError(`MongoDB is unavailable: ${(error as Error).message}`, { cause: error });
  }
  return error;
}

async function translating<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw fromDriverError(error);
  }
}

/**
 * A mongodb Collection behind the port. The port mirrors the driver's method names, arguments and
 * results, so each method is a pass-through: the wrapper exists for the driver's stricter generic
 * types and for naming unavailability in the port's terms. BSON dates come back as Date, ordered
 * bulkWrite and the duplicate-key error (code 11000) are the driver's own.
 */
export class MongoReadModelCollection<T extends Document = Document> implements Collection<T> {
  constructor(private readonly collection: MongoCollection<MongoDocument>) {}

  get collectionName(): string {
    return this.collection.collectionName;
  }

  findOne(filter: Filter, options: FindOptions = {}): Promise<T | null> {
    return translating(() => this.collection.findOne(filter, options) as Promise<T | null>);
  }

  find(filter: Filter, options: FindOptions = {}): FindCursor<T> {
    return { toArray: () => translating(() => this.collection.find(filter, options).toArray() as unknown as Promise<T[]>) };
  }

  countDocuments(filter: Filter = {}): Promise<number> {
    return translating(() => this.collection.countDocuments(filter));
  }

  updateOne(filter: Filter, update: UpdateFilter, options: { upsert?: boolean } = {}): Promise<UpdateResult> {
    return translating(async () => {
      const { matchedCount, modifiedCount, upsertedCount } = await this.collection.updateOne(filter, update, options);
      return { matchedCount, modifiedCount, upsertedCount };
    });
  }

  deleteOne(filter: Filter): Promise<{ deletedCount: number }> {
    return translating(async () => ({ deletedCount: (await this.collection.deleteOne(filter)).deletedCount }));
  }

  deleteMany(filter: Filter): Promise<{ deletedCount: number }> {
    return translating(async () => ({ deletedCount: (await this.collection.deleteMany(filter)).deletedCount }));
  }

  bulkWrite(operations: AnyBulkWriteOperation[], options: { ordered?: boolean } = {}): Promise<BulkWriteResult> {
    // The driver refuses an empty batch ("Batch cannot be empty"); the port's answer is "nothing changed".
    if (operations.length === 0) return Promise.resolve({ matchedCount: 0, modifiedCount: 0, upsertedCount: 0, deletedCount: 0 });
    return translating(async () => {
      const result = await this.collection.bulkWrite(operations as mongodb.AnyBulkWriteOperation<MongoDocument>[], { ordered: options.ordered ?? true });
      return { matchedCount: result.matchedCount, modifiedCount: result.modifiedCount, upsertedCount: result.upsertedCount, deletedCount: result.deletedCount };
    });
  }

  createIndex(keys: { [field: string]: 1 | -1 }, options: IndexOptions = {}): Promise<string> {
    return translating(() => this.collection.createIndex(keys, options));
  }
}

/** The read model in a MongoDB database. */
export class MongoReadModel implements Database {
  private constructor(
    private readonly client: mongodb.MongoClient,
    private readonly db: Db,
    /** For messages: where the database is (no password). */
    readonly description: string,
  ) {}

  /** Creates the client; the driver connects on first use (see `probe`). */
  static connect(url: string, databaseName: string, options: MongoClientOptions = MONGO_CLIENT_OPTIONS): MongoReadModel {
    const client = new mongodb.MongoClient(url, options);
    return new MongoReadModel(client, client.db(databaseName), `MongoDB (${redactCredentials(url)}, database ${databaseName})`);
  }

  collection<T extends Document = Document>(name: string): Collection<T> {
    return new MongoReadModelCollection<T>(this.db.collection(name));
  }

  dropDatabase(): Promise<boolean> {
    return translating(() => this.db.dropDatabase());
  }

  /**
   * Connects (again, after a failed attempt: the driver's implicit connect on first use leaves a
   * client whose first connection failed closed for good) and makes one round trip. Fails within
   * the server-selection timeout when MongoDB is not there.
   */
  async probe(): Promise<void> {
    await translating(async () => {
      await this.client.connect();
      await this.db.command({ ping: 1 });
    });
  }

  close(): Promise<void> {
    return this.client.close();
  }
}
