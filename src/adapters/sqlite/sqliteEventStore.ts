import { EventEmitter, once } from 'node:events';
import type { FSWatcher } from 'node:fs';
import { closeSync, mkdirSync, openSync, watch, writeSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import Database from 'better-sqlite3';
import { StartupError } from '../../startupError';
import type {
  AllStreamSubscription,
  AppendExpectedRevision,
  AppendResult,
  AppendToStreamOptions,
  EventData,
  EventStore,
  JSONObject,
  Position,
  ReadAllOptions,
  ReadStreamOptions,
  RecordedEvent,
  ResolvedEvent,
  SubscribeToAllOptions,
} from '../../ports/eventStore';
import { ANY, BACKWARDS, END, EventIdInUseError, EventStoreUnavailableError, NO_STREAM, STREAM_EXISTS, StreamNotFoundError, UndecodableEventError, WrongExpectedVersionError } from '../../ports/eventStore';

export class CorruptLogError extends StartupError {
  constructor(file: string, problems: readonly string[]) {
    super(
      `The event log ${file} is damaged (SQLite integrity check: ${problems.slice(0, 5).join('; ')}). keyhub will not serve from it: ` +
        'restore events.sqlite from a backup (stop keyhub, copy the file with its -wal file), or recover what is readable with the sqlite3 shell\'s .recover.',
    );
  }
}

/** A row as an array (better-sqlite3's raw mode: no object per row): the columns of ROW_COLUMNS, in order. */
type EventRow = [position: number, stream: string, revision: number, id: string, type: string, data: string, metadata: string | null, created: number];
const ROW_COLUMNS = 'position, stream, revision, id, type, data, metadata, created';

const SUBSCRIPTION_BATCH = 1000;

/**
 * How a store with running subscriptions learns that another connection (another keyhub process on
 * the same DATA_DIR) committed: it asks SQLite, `PRAGMA data_version` (a read of the WAL index in
 * shared memory, microseconds, no disk I/O), whenever the file system reports a write to the
 * notification file beside the log (see APPENDED_SUFFIX; inotify on Linux: well within a
 * millisecond) and at the latest every OTHER_WRITERS_POLL_MS, which bounds the delay where file
 * events are not delivered (a file system without them, a watch limit reached) at little idle cost.
 */
export const OTHER_WRITERS_POLL_MS = 20;
/**
 * After each commit a process writes one byte to `<log>.appended`, which every process on the log
 * watches. (Not the -wal file: SQLite writes it before the fsync and makes the commit visible only
 * after, so a reader woken by that write would often find nothing new yet.)
 */
export const APPENDED_SUFFIX = '.appended';
const ONE_BYTE = Buffer.from([0x0a]);

/** Reads wait this long for a lock (in WAL they almost never do); so does an append, but without holding the event loop. */
const BUSY_TIMEOUT_MS = 5000;
/** Pauses between attempts to take the write lock while another process holds it (the last one repeats). */
const WRITE_LOCK_RETRY_MS = [1, 1, 2, 2, 4, 4, 8];

/**
 * What the file system did to the log, in words an operator acts on. Each is the machine's state,
 * not the request's: the append wrote nothing (SQLite rolls the transaction back) and may be retried
 * once the condition is gone, so it is the port's EventStoreUnavailableError (SERVICE_UNAVAILABLE).
 */
const STORAGE_FAILURES: ReadonlyArray<[RegExp, string]> = [
  [/^(SQLITE_FULL|ENOSPC|EDQUOT)$/, 'the disk is full'],
  [/^(SQLITE_IOERR\w*|EIO)$/, 'an I/O error'],
  [/^(SQLITE_READONLY\w*|EROFS)$/, 'the file cannot be written (read-only)'],
  [/^SQLITE_BUSY\w*$/, 'the file is locked by another process'],
];

/** A storage failure → EventStoreUnavailableError; anything else unchanged. */
export function fromStorageError(error: unknown, file: string): unknown {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return error;
  const failure = STORAGE_FAILURES.find(([pattern]) => pattern.test(code));
  return failure ? new EventStoreUnavailableError(`the event log ${file} cannot be used: ${failure[1]} (${code})`, { cause: error }) : error;
}

interface PendingAppend {
  streamName: string;
  batch: EventData[];
  expected: AppendToStreamOptions['expectedRevision'];
  resolve: (result: AppendResult) => void;
  reject: (error: unknown) => void;
}

/**
 * The embedded event store: an append-only log in SQLite (WAL, synchronous=FULL, so an
 * acknowledged append survives a crash), with the EventStoreDB client's semantics: one revision
 * sequence per stream checked against `expectedRevision`, a global position per event, and
 * catch-up subscriptions to $all. Several processes may share the file: SQLite's write lock
 * serialises their appends (each group commit is one `BEGIN IMMEDIATE` transaction, so the
 * expected revision is checked against the log as it is when the lock is held, and positions are
 * committed in order), and a subscription is woken by this process's appends at once and by
 * another's through the notification file, or its poll within OTHER_WRITERS_POLL_MS.
 */
/** Opening a log another process is setting up at the same moment: how often, and how long between tries. */
const SETUP_ATTEMPTS = 100;
const SETUP_RETRY_MS = 50;

export class SqliteEventStore implements EventStore {
  private readonly db: Database.Database;
  private readonly appended = new EventEmitter();
  private readonly statements;
  private disposed = false;
  private pendingAppends: PendingAppend[] = [];
  /** While another process holds the write lock: since when, how many attempts, and the next one. */
  private lockedSince: number | null = null;
  private lockRetries = 0;
  private lockRetry: NodeJS.Timeout | null = null;
  /** Running subscriptions; while there are any, other writers' commits are polled for. */
  private subscriptions = 0;
  private poller: NodeJS.Timeout | null = null;
  private watcher: FSWatcher | null = null;
  /** The notification file, written after each commit (null in memory, or when it could not be opened: the poll alone then). */
  private appendedFd: number | null = null;
  private readonly dataVersion: Database.Statement<[], number>;
  private seenDataVersion = 0;

  constructor(private readonly file: string) {
    if (file !== ':memory:') {
      mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
      // Created owner-only before SQLite opens it (its -wal and -shm files take the same mode): the log names every account and key.
      closeSync(openSync(file, 'a', 0o600));
    }
    this.db = new Database(file);
    // Two processes opening a new log at once: switching it to WAL or creating its table needs a lock
    // SQLite does not wait for (the busy handler is skipped there), so the setup is retried briefly.
    for (let attempt = 0; ; attempt += 1) {
      try {
        this.setUp();
        break;
      } catch (error) {
        const code = (error as { code?: string }).code;
        if (code === 'SQLITE_CORRUPT' || code === 'SQLITE_NOTADB') throw new CorruptLogError(file, [(error as Error).message]);
        if (!code?.startsWith('SQLITE_BUSY') || attempt >= SETUP_ATTEMPTS) throw error;
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, SETUP_RETRY_MS); // start-up only: a short synchronous pause
      }
    }
    this.appended.setMaxListeners(0);
    this.statements = {
      streamRevision: this.db.prepare<[string], { revision: number | null }>('SELECT MAX(revision) AS revision FROM events WHERE stream = ?'),
      eventById: this.db.prepare<[string], { id: string; stream: string; revision: number; position: number }>('SELECT id, stream, revision, position FROM events WHERE id = ?'),
      insert: this.db.prepare('INSERT INTO events (stream, revision, id, type, data, metadata, created) VALUES (?, ?, ?, ?, ?, ?, ?)'),
      readForwards: this.db.prepare<[string, number, number], EventRow>(`SELECT ${ROW_COLUMNS} FROM events WHERE stream = ? AND revision >= ? ORDER BY revision ASC LIMIT ?`).raw(true),
      readBackwards: this.db.prepare<[string, number, number], EventRow>(`SELECT ${ROW_COLUMNS} FROM events WHERE stream = ? AND revision <= ? ORDER BY revision DESC LIMIT ?`).raw(true),
      readAll: this.db.prepare<[number, number], EventRow>(`SELECT ${ROW_COLUMNS} FROM events WHERE position > ? ORDER BY position ASC LIMIT ?`).raw(true),
      readAllBackwards: this.db.prepare<[number, number], EventRow>(`SELECT ${ROW_COLUMNS} FROM events WHERE position < ? ORDER BY position DESC LIMIT ?`).raw(true),
      lastPosition: this.db.prepare<[], { position: number | null }>('SELECT MAX(position) AS position FROM events'),
    };
    this.dataVersion = this.db.prepare<[], number>('PRAGMA data_version').pluck();
    if (file !== ':memory:') {
      try {
        this.appendedFd = openSync(`${file}${APPENDED_SUFFIX}`, 'w', 0o600);
      } catch {
        this.appendedFd = null;
      }
    }
  }

  /** The log's settings and table, made once per connection (idempotent). */
  private setUp(): void {
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS events (
        position INTEGER PRIMARY KEY AUTOINCREMENT,
        stream   TEXT    NOT NULL,
        revision INTEGER NOT NULL,
        id       TEXT    NOT NULL UNIQUE,
        type     TEXT    NOT NULL,
        data     TEXT    NOT NULL,
        metadata TEXT,
        created  INTEGER NOT NULL,
        UNIQUE (stream, revision)
      )`);
  }

  /**
   * SQLite's quick_check (every page and index entry, without cross-checking index contents, which is
   * the slow part of integrity_check): a damaged log is a reason to stop and restore from a backup,
   * never to retry as if an engine were unreachable.
   */
  checkIntegrity(): void {
    let problems: string[];
    try {
      problems = (this.db.pragma('quick_check(20)') as Array<{ quick_check: string }>).map((row) => row.quick_check);
    } catch (error) {
      problems = [(error as Error).message];
    }
    if (problems.length !== 1 || problems[0] !== 'ok') throw new CorruptLogError(this.file, problems);
  }

  async appendToStream(streamName: string, events: EventData | EventData[], options: AppendToStreamOptions = {}): Promise<AppendResult> {
    this.assertOpen();
    const batch = Array.isArray(events) ? events : [events];
    return new Promise<AppendResult>((resolve, reject) => {
      this.pendingAppends.push({ streamName, batch, expected: options.expectedRevision ?? ANY, resolve, reject });
      if (this.pendingAppends.length === 1) setImmediate(this.commitPending);
    });
  }

  /**
   * Group commit: the appends that arrived since the last commit are written in one transaction,
   * each inside its own savepoint (a failed expectation rolls back that append only), then one
   * commit, so one fsync (synchronous=FULL) makes all of them durable before any is acknowledged.
   * They are applied in arrival order, so the outcome is the one sequential appends would have.
   */
  private readonly commitPending = (blocking = false): void => {
    const pending = this.pendingAppends;
    this.pendingAppends = [];
    if (pending.length === 0) return;
    const outcomes: Array<{ result: AppendResult } | { error: unknown }> = [];
    try {
      // IMMEDIATE: the write lock is taken before any expectation is read, so no other process can append
      // between a check and its insert. (A deferred transaction would read first, then fail to upgrade,
      // SQLITE_BUSY_SNAPSHOT, when another process wrote in between.) While another process holds the lock,
      // SQLite's busy handler would sleep in this thread: instead the attempt fails at once and is retried
      // from a timer, the event loop free in between.
      // (PRAGMA busy_timeout takes effect when prepared, not when run: it cannot be a prepared statement kept for reuse.)
      if (!blocking) this.db.pragma('busy_timeout = 0');
      try {
        this.commitGroup.immediate(pending, outcomes);
      } finally {
        if (!blocking) this.db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
      }
      this.lockedSince = null;
      this.lockRetries = 0;
    } catch (error) {
      const code = (error as { code?: unknown } | null)?.code;
      const now = Date.now();
      this.lockedSince ??= now;
      if (typeof code === 'string' && code.startsWith('SQLITE_BUSY') && outcomes.length === 0 && !blocking && !this.disposed && now - this.lockedSince < BUSY_TIMEOUT_MS) {
        // Nothing was written: the group goes back ahead of the appends that came since, in arrival order.
        this.pendingAppends = pending.concat(this.pendingAppends);
        const pause = WRITE_LOCK_RETRY_MS[Math.min(this.lockRetries, WRITE_LOCK_RETRY_MS.length - 1)] as number;
        this.lockRetries += 1;
        this.lockRetry = setTimeout(() => {
          this.lockRetry = null;
          this.commitPending();
        }, pause);
        return;
      }
      this.lockedSince = null;
      this.lockRetries = 0;
      const failure = fromStorageError(error, this.file);
      for (const append of pending) append.reject(failure); // the commit itself failed: nothing was acknowledged
      return;
    }
    if (outcomes.some((outcome) => 'result' in outcome)) {
      this.appended.emit('appended');
      this.tellOtherProcesses();
    }
    pending.forEach((append, i) => {
      const outcome = outcomes[i] as { result: AppendResult } | { error: unknown };
      if ('result' in outcome) append.resolve(outcome.result);
      else append.reject(outcome.error);
    });
  };

  private commitGroupTransaction: Database.Transaction<(pending: PendingAppend[], outcomes: Array<{ result: AppendResult } | { error: unknown }>) => void> | null = null;
  private get commitGroup() {
    this.commitGroupTransaction ??= this.db.transaction((pending: PendingAppend[], outcomes: Array<{ result: AppendResult } | { error: unknown }>) => {
      for (const append of pending) {
        try {
          outcomes.push({ result: this.appendTransaction(append.streamName, append.batch, append.expected) });
        } catch (error) {
          // A full disk or an I/O error may roll back the whole group's transaction (SQLite does so on its own):
          // then nothing of the group is written, and the group fails as one rather than go on outside a transaction.
          if (!this.db.inTransaction || fromStorageError(error, this.file) !== error) throw error;
          outcomes.push({ error });
        }
      }
    });
    return this.commitGroupTransaction;
  }

  /** One append in its own transaction (a savepoint inside the group's): the function is made once, not per append. */
  private appendInSavepoint: ((streamName: string, batch: EventData[], expected: AppendToStreamOptions['expectedRevision']) => AppendResult) | null = null;
  private appendTransaction(streamName: string, batch: EventData[], expected: AppendToStreamOptions['expectedRevision']): AppendResult {
    this.appendInSavepoint ??= this.db.transaction((name: string, events: EventData[], revision: AppendToStreamOptions['expectedRevision']) => this.appendRows(name, events, revision));
    return this.appendInSavepoint(streamName, batch, expected);
  }

  private appendRows(streamName: string, batch: EventData[], expected: AppendToStreamOptions['expectedRevision'] = ANY): AppendResult {
    const current = this.statements.streamRevision.get(streamName)?.revision ?? null;
    const matches =
      expected === ANY ||
      (expected === NO_STREAM && current === null) ||
      (expected === STREAM_EXISTS && current !== null) ||
      (typeof expected === 'bigint' && current !== null && BigInt(current) === expected);
    // As on the server: an exact expectation that holds appends; otherwise the batch may be a repeat.
    const mayRepeat = expected === ANY || expected === STREAM_EXISTS || !matches;
    const repeated = mayRepeat ? this.repeatedAppend(streamName, batch, expected, current) : null;
    if (repeated) return repeated;
    if (!matches) throw new WrongExpectedVersionError(streamName, expected, current === null ? NO_STREAM : BigInt(current));
    let revision = current ?? -1;
    let position = 0;
    const created = Date.now();
    for (const event of batch) {
      revision += 1;
      // Ids are unique in this log (EventStoreDB would append): a clean error, and the savepoint undoes the batch.
      if (this.statements.eventById.get(event.id) || batch.filter((other) => other.id === event.id).length > 1) throw new EventIdInUseError(streamName, event.id);
      const info = this.statements.insert.run(
        streamName,
        revision,
        event.id,
        event.type,
        JSON.stringify(event.data),
        event.metadata === undefined ? null : JSON.stringify(event.metadata),
        created,
      );
      position = Number(info.lastInsertRowid);
    }
    const at = BigInt(position);
    return { success: true, nextExpectedRevision: BigInt(revision), position: { commit: at, prepare: at } };
  }

  /**
   * EventStoreDB's idempotency, checked when the expectation does not simply hold (or is ANY /
   * STREAM_EXISTS): an append whose events (every id, in order) are already the stream's events
   * where the expected revision puts them (where its first id is, for ANY) is a repeat, answered like the first
   * write (the last event's revision and position) and writing nothing. When only some of them are
   * there, or they are elsewhere in the stream, it is a WrongExpectedVersionError, as on the server.
   */
  private repeatedAppend(streamName: string, batch: EventData[], expected: AppendExpectedRevision, current: number | null): AppendResult | null {
    const first = batch[0];
    const existing = first ? this.statements.eventById.get(first.id) : undefined;
    if (!existing) return null;
    if (existing.stream !== streamName) throw new EventIdInUseError(streamName, existing.id);
    const start = typeof expected === 'bigint' ? Number(expected) + 1 : expected === NO_STREAM ? 0 : existing.revision;
    const stored = this.statements.readForwards.all(streamName, start, batch.length);
    const repeated = stored.length === batch.length && stored.every((row, i) => row[3] === batch[i]?.id);
    if (!repeated) throw new WrongExpectedVersionError(streamName, expected, current === null ? NO_STREAM : BigInt(current));
    const last = stored[stored.length - 1] as EventRow;
    const at = BigInt(last[0]);
    return { success: true, nextExpectedRevision: BigInt(last[2]), position: { commit: at, prepare: at } };
  }

  async *readStream(streamName: string, options: ReadStreamOptions = {}): AsyncIterable<ResolvedEvent> {
    this.assertOpen();
    const backwards = options.direction === BACKWARDS;
    const from = options.fromRevision;
    const start = from === undefined || from === 'start' ? (backwards ? Number.MAX_SAFE_INTEGER : 0) : from === END ? Number.MAX_SAFE_INTEGER : Number(from);
    const limit = options.maxCount === undefined ? -1 : Number(options.maxCount);
    const rows = this.reading(() => (backwards ? this.statements.readBackwards : this.statements.readForwards).all(streamName, start, limit));
    if (rows.length === 0 && this.reading(() => this.statements.streamRevision.get(streamName)?.revision) == null) throw new StreamNotFoundError(streamName);
    for (const row of rows) yield resolvedOf(row);
  }

  async *readAll(options: ReadAllOptions = {}): AsyncIterable<ResolvedEvent> {
    this.assertOpen();
    const backwards = options.direction === BACKWARDS;
    const from = options.fromPosition ?? (backwards ? END : 'start');
    let remaining = options.maxCount === undefined ? Infinity : Number(options.maxCount);
    // Both directions include the event at the position itself, as EventStoreDB's forward reads do (callers that resume drop it).
    let cursor = from === 'start' ? 0 : from === END ? Number.MAX_SAFE_INTEGER : Number(from.commit) - (backwards ? -1 : 1);
    while (remaining > 0) {
      const batch = Math.min(remaining, SUBSCRIPTION_BATCH);
      const rows = this.reading(() => (backwards ? this.statements.readAllBackwards : this.statements.readAll).all(cursor, batch));
      for (const row of rows) {
        yield resolvedOf(row);
        cursor = row[0];
      }
      remaining -= rows.length;
      if (rows.length < batch) return;
      // Each page is read synchronously: let other requests in between pages, however long the log.
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  subscribeToAll(options: SubscribeToAllOptions = {}): AllStreamSubscription {
    this.assertOpen();
    const from = options.fromPosition ?? 'start';
    let after = from === 'start' ? 0 : from === END ? (this.reading(() => this.statements.lastPosition.get())?.position ?? 0) : Number(from.commit);
    const prefixes = options.filter?.prefixes ?? [];
    const on = options.filter?.filterOn ?? 'streamName';
    const accepts = (row: EventRow): boolean =>
      prefixes.length === 0 || prefixes.some((prefix) => (on === 'streamName' ? row[1] : row[4]).startsWith(prefix));
    const stop = new AbortController();
    const store = this;

    async function* iterate(): AsyncGenerator<ResolvedEvent> {
      // Polled from before the first read for as long as the subscription runs, so no commit of another process falls between a read and the poll's first look.
      try {
        store.watchOtherWriters(+1);
        yield* follow();
      } finally {
        store.watchOtherWriters(-1);
      }
    }
    async function* follow(): AsyncGenerator<ResolvedEvent> {
      let woken: Promise<unknown> | null = null;
      while (!stop.signal.aborted && !store.disposed) {
        // Register for the wake-up before reading, so an append between the read and the wait is not missed.
        woken ??= once(store.appended, 'appended', { signal: stop.signal }).catch(() => undefined);
        const rows = store.reading(() => store.statements.readAll.all(after, SUBSCRIPTION_BATCH));
        for (const row of rows) {
          after = row[0];
          if (accepts(row)) yield resolvedOf(row);
          if (stop.signal.aborted) return;
        }
        if (rows.length < SUBSCRIPTION_BATCH) {
          await woken;
          woken = null;
        } else {
          // Catching up on a long log: let the event loop run between pages (timers, I/O, other requests).
          await new Promise((resolve) => setImmediate(resolve));
        }
      }
    }
    const iterator = iterate();
    return {
      [Symbol.asyncIterator]: () => iterator,
      unsubscribe: async () => {
        stop.abort();
      },
    };
  }

  /** Another process's commits wake this one's subscriptions: polled while any subscription runs. */
  private watchOtherWriters(change: 1 | -1): void {
    this.subscriptions += change;
    if (this.subscriptions > 0 && !this.poller && this.file !== ':memory:' && !this.disposed) {
      this.seenDataVersion = this.reading(() => this.dataVersion.get() as number);
      this.poller = setInterval(this.pollOtherWriters, OTHER_WRITERS_POLL_MS);
      this.poller.unref();
      this.watcher = this.watchLogWrites();
    } else if (this.subscriptions === 0 && this.poller) {
      this.stopWatching();
    }
  }

  /** After a commit: one byte written in place to the notification file, which the other processes watch. */
  private tellOtherProcesses(): void {
    if (this.appendedFd === null) return;
    try {
      writeSync(this.appendedFd, ONE_BYTE, 0, 1, 0);
    } catch {
      // the others' poll still finds the commit
    }
  }

  /** File events for the notification file (commits by any process, this one's included): each is a prompt to poll now. Null where they cannot be had. */
  private watchLogWrites(): FSWatcher | null {
    const notification = `${basename(this.file)}${APPENDED_SUFFIX}`;
    try {
      const watcher = watch(dirname(this.file), { persistent: false }, (_event, name) => {
        if (name === null || name === notification) this.pollOtherWriters();
      });
      watcher.on('error', () => {
        watcher.close(); // the poll goes on alone
        if (this.watcher === watcher) this.watcher = null;
      });
      return watcher;
    } catch {
      return null;
    }
  }

  private stopWatching(): void {
    if (this.poller) clearInterval(this.poller);
    this.poller = null;
    this.watcher?.close();
    this.watcher = null;
  }

  private readonly pollOtherWriters = (): void => {
    if (this.disposed) return;
    let version: number;
    try {
      version = this.dataVersion.get() as number;
    } catch {
      version = -1; // the file cannot be read now: wake the subscriptions, whose read reports it
    }
    // data_version changes when another connection commits (never for this connection's own commits, which emit at once).
    if (version === this.seenDataVersion) return;
    this.seenDataVersion = version;
    this.appended.emit('appended');
  };

  /** The position of the newest event, or null for an empty log. */
  lastPosition(): Position | null {
    const position = this.reading(() => this.statements.lastPosition.get())?.position;
    return position == null ? null : { commit: BigInt(position), prepare: BigInt(position) };
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    if (this.lockRetry) clearTimeout(this.lockRetry);
    this.commitPending(true); // appends already accepted are written before the file closes (waiting for the lock, if need be)
    this.disposed = true;
    this.stopWatching();
    if (this.appendedFd !== null) closeSync(this.appendedFd);
    this.appendedFd = null;
    this.appended.emit('appended'); // wake subscriptions so they end
    this.db.close();
  }

  /** A read, with the file system's failures as the port's "unavailable" error. */
  private reading<T>(read: () => T): T {
    try {
      return read();
    } catch (error) {
      throw fromStorageError(error, this.file);
    }
  }

  private assertOpen(): void {
    if (this.disposed) throw new Error('the event store is closed');
  }
}

function toRecordedEvent([at, stream, revision, id, type, data, metadata, created]: EventRow): RecordedEvent {
  // One BigInt for both halves of the position (immutable), no intermediate objects: a replay makes one of these per event.
  const commit = BigInt(at);
  const position = { commit, prepare: commit };
  let parsedData: JSONObject;
  let parsedMetadata: JSONObject | undefined;
  try {
    parsedData = JSON.parse(data) as JSONObject;
    parsedMetadata = metadata === null ? undefined : (JSON.parse(metadata) as JSONObject);
  } catch (error) {
    throw new UndecodableEventError(stream, position, type, error); // a damaged row: no reader can get past it by retrying
  }
  return { streamId: stream, id, revision: BigInt(revision), type, data: parsedData, metadata: parsedMetadata, isJson: true, created: new Date(created), position };
}

const resolvedOf = (row: EventRow): ResolvedEvent => {
  const event = toRecordedEvent(row);
  return { event, commitPosition: event.position.commit };
};
