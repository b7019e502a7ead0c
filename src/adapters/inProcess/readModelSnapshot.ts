import { createHash, randomBytes } from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { open } from 'node:fs/promises';
import { deserialize, serialize } from 'node:v8';
import type { Document } from '../../ports/collection';
import type { EventStore, Position } from '../../ports/eventStore';
import { InProcessDatabase } from './inProcessDatabase';

/**
 * A snapshot of the in-process read model in DATA_DIR, so that a restart loads it and catches up
 * from the log instead of replaying the whole log. It is a cache, never a source of truth:
 * - it names the log it was taken from (the id of the log's first event) and the event at its
 *   checkpoint; a log without that event there (another log, a log restored from an older backup)
 *   makes it ignored;
 * - it ends with a SHA-256 of everything before it; a truncated, damaged or unreadable file is ignored;
 * - ignored means the read model is rebuilt from the log, as without a snapshot.
 * Taken while the projections keep running: the checkpoint is read first, then the documents in
 * chunks with the event loop let in between; a document may be newer than the checkpoint, which is
 * safe because every projection write is guarded by the stream revision (documents.ts), so the
 * events after the checkpoint replayed on load leave the same documents.
 */
export const READ_MODEL_SNAPSHOT_FILE = 'read-model.snapshot';
const FORMAT = 'keyhub-read-model-snapshot/1';
const CHUNK_DOCUMENTS = 2_000;

export interface LogIdentity {
  firstEventId: string;
  checkpoint: { commit: string; prepare: string };
  checkpointEventId: string;
}

interface Header {
  format: string;
  identity: LogIdentity;
}
interface Chunk {
  collection: string;
  documents: Document[];
}
interface Trailer {
  end: true;
  documents: number;
  sha256: string;
}

async function eventIdAt(store: EventStore, position: Position | 'start'): Promise<string | null> {
  for await (const resolved of store.readAll({ fromPosition: position, maxCount: 1 })) {
    const event = resolved.event;
    if (!event) return null;
    if (position !== 'start' && (event.position.commit !== position.commit || event.position.prepare !== position.prepare)) return null;
    return event.id;
  }
  return null;
}

/** What ties a read model at `checkpoint` to this log; null when the log has no event there. */
async function logIdentity(store: EventStore, checkpoint: Position): Promise<LogIdentity | null> {
  const [firstEventId, checkpointEventId] = await Promise.all([eventIdAt(store, 'start'), eventIdAt(store, checkpoint)]);
  if (firstEventId === null || checkpointEventId === null) return null;
  return { firstEventId, checkpoint: { commit: checkpoint.commit.toString(), prepare: checkpoint.prepare.toString() }, checkpointEventId };
}

const frame = (value: unknown): Buffer => {
  const body = serialize(value);
  const length = Buffer.alloc(4);
  length.writeUInt32BE(body.length);
  return Buffer.concat([length, body]);
};

/** Where the read model keeps its checkpoint: a document `{ _id, commit, prepare }` (positions as decimal strings). */
export interface CheckpointLocation {
  collection: string;
  id: string;
}

/**
 * Writes a snapshot of `database` to `file` (through a temporary file and a rename, so a crash
 * leaves the previous snapshot whole). A model without a checkpoint (nothing applied) writes
 * nothing. Returns the number of documents written, or null.
 */
export async function writeReadModelSnapshot(database: InProcessDatabase, store: EventStore, file: string, at: CheckpointLocation): Promise<number | null> {
  // Captured in one turn of the event loop: the checkpoint documents as they stand (stored documents
  // are replaced, never mutated), and iterators over the others, which only move forward from here.
  const checkpoints = [...database.inProcessCollection(at.collection).storedDocuments()];
  const stored = checkpoints.find((doc) => doc['_id'] === at.id);
  if (!stored || typeof stored['commit'] !== 'string' || typeof stored['prepare'] !== 'string') return null;
  const checkpoint = { commit: BigInt(stored['commit']), prepare: BigInt(stored['prepare']) };
  const iterators: Array<readonly [string, Iterable<Document>]> = database
    .collectionNames()
    .map((name) => [name, name === at.collection ? checkpoints : database.inProcessCollection(name).storedDocuments()] as const);
  const identity = await logIdentity(store, checkpoint);
  if (!identity) return null;
  // Its own name (pid and random: processes in other containers may share a pid), so that two processes writing at once never mix their bytes; the rename is atomic, the last one wins.
  const temporary = `${file}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
  const handle = await open(temporary, 'w', 0o600);
  const hash = createHash('sha256');
  let count = 0;
  const write = async (value: unknown) => {
    const bytes = frame(value);
    hash.update(bytes);
    await handle.write(bytes);
  };
  try {
    await write({ format: FORMAT, identity } satisfies Header);
    for (const [collection, documents] of iterators) {
      let chunk: Document[] = [];
      for (const doc of documents) {
        chunk.push(doc);
        if (chunk.length === CHUNK_DOCUMENTS) {
          await write({ collection, documents: chunk } satisfies Chunk);
          count += chunk.length;
          chunk = [];
          await new Promise((resolve) => setImmediate(resolve));
        }
      }
      if (chunk.length > 0) await write({ collection, documents: chunk } satisfies Chunk);
      count += chunk.length;
    }
    const trailer: Trailer = { end: true, documents: count, sha256: hash.digest('hex') };
    await handle.write(frame(trailer));
    await handle.sync();
  } catch (error) {
    await handle.close();
    rmSync(temporary, { force: true });
    throw error;
  }
  await handle.close();
  renameSync(temporary, file);
  return count;
}

/** A temporary file untouched this long was left by a write cut short, even if its pid is alive (reused, or in another container). */
const ABANDONED_AFTER_MS = 60 * 60_000;

function writerIsGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as { code?: string }).code === 'ESRCH';
  }
}

/**
 * A write cut short (the process killed while writing) leaves its temporary file. Another process on
 * the same DATA_DIR may be writing one now: only files of a process that is gone, or untouched for an
 * hour, are removed (removing a live writer's file would only make its rename fail and keep the previous snapshot).
 */
function removeAbandonedTemporaryFiles(file: string): void {
  const prefix = `${basename(file)}.tmp-`;
  for (const entry of readdirSync(dirname(file), { withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.startsWith(prefix)) continue;
    const path = join(dirname(file), entry.name);
    const pid = Number(/^(\d+)/.exec(entry.name.slice(prefix.length))?.[1]);
    try {
      if (pid === process.pid || (Number.isSafeInteger(pid) && pid > 0 && writerIsGone(pid)) || Date.now() - statSync(path).mtimeMs > ABANDONED_AFTER_MS) rmSync(path, { force: true });
    } catch {
      // gone already (its writer renamed it)
    }
  }
}

export type SnapshotLoad = { database: InProcessDatabase; documents: number; checkpoint: LogIdentity['checkpoint'] } | { database: InProcessDatabase; ignored: string };

/**
 * A read model loaded from the snapshot in `file`, if there is one that checks against `store`;
 * otherwise an empty one (and why the snapshot was ignored), to be rebuilt from the log.
 */
export async function loadReadModelSnapshot(store: EventStore, file: string): Promise<SnapshotLoad> {
  removeAbandonedTemporaryFiles(file);
  // Size from the open file, not the name: another process on the same DATA_DIR may rename a new snapshot into place meanwhile.
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return { database: new InProcessDatabase(), ignored: 'no snapshot' };
  }
  const size = fstatSync(fd).size;
  const database = new InProcessDatabase();
  let header: Header;
  const hash = createHash('sha256');
  let documents = 0;
  try {
    let offset = 0;
    const next = (): unknown => {
      const length = Buffer.alloc(4);
      if (offset + 4 > size || readSync(fd, length, 0, 4, offset) !== 4) throw new Error('the snapshot is truncated');
      const bodyLength = length.readUInt32BE();
      if (offset + 4 + bodyLength > size) throw new Error('the snapshot is truncated');
      const body = Buffer.allocUnsafe(bodyLength);
      if (readSync(fd, body, 0, bodyLength, offset + 4) !== bodyLength) throw new Error('the snapshot is truncated');
      offset += 4 + bodyLength;
      hash.update(length).update(body);
      return deserialize(body);
    };
    header = next() as Header;
    if (header?.format !== FORMAT) throw new Error('the snapshot is of another format');
    const pending: Chunk[] = [];
    for (;;) {
      const digest = hash.copy().digest('hex');
      const value = next() as Partial<Chunk & Trailer>;
      if (value?.end === true) {
        if (value.sha256 !== digest || value.documents !== documents || offset !== size) throw new Error('the snapshot does not match its checksum');
        break;
      }
      if (typeof value?.collection !== 'string' || !Array.isArray(value.documents)) throw new Error('the snapshot holds an unknown record');
      pending.push(value as Chunk);
      documents += value.documents.length;
    }
    // Only a whole, intact snapshot is loaded.
    for (const chunk of pending) database.inProcessCollection(chunk.collection).loadStoredDocuments(chunk.documents);
  } catch (error) {
    return { database: new InProcessDatabase(), ignored: error instanceof Error ? error.message : String(error) };
  } finally {
    closeSync(fd);
  }
  const { identity } = header;
  const position = { commit: BigInt(identity.checkpoint.commit), prepare: BigInt(identity.checkpoint.prepare) };
  const current = await logIdentity(store, position);
  if (!current || current.firstEventId !== identity.firstEventId || current.checkpointEventId !== identity.checkpointEventId) {
    return { database: new InProcessDatabase(), ignored: 'the snapshot was taken from another log (or from events this log no longer has)' };
  }
  return { database, documents, checkpoint: identity.checkpoint };
}

/**
 * Keeps the snapshot fresh in the background: every `intervalMs` (0: never) when the checkpoint
 * moved since the last one, and once more when stopped. One write at a time; a failed write is
 * reported and the previous snapshot stays.
 */
export class ReadModelSnapshotter {
  private timer: NodeJS.Timeout | null = null;
  private writing: Promise<void> | null = null;
  private lastCheckpoint: string | null;

  constructor(
    private readonly database: InProcessDatabase,
    private readonly store: EventStore,
    private readonly file: string,
    private readonly at: CheckpointLocation,
    private readonly intervalMs: number,
    private readonly onError: (error: unknown) => void,
    /** The checkpoint of the snapshot the model was loaded from, if any. */
    loadedAt: LogIdentity['checkpoint'] | null = null,
  ) {
    this.lastCheckpoint = loadedAt ? `${loadedAt.commit}/${loadedAt.prepare}` : null;
  }

  start(): void {
    if (this.intervalMs > 0) this.timer = setInterval(() => void this.writeIfChanged(), this.intervalMs).unref();
  }

  /** Writes a snapshot unless the checkpoint is where the last one was; resolves when written. */
  writeIfChanged(): Promise<void> {
    this.writing ??= this.write().finally(() => (this.writing = null));
    return this.writing;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.writing;
    if (this.intervalMs > 0) await this.writeIfChanged();
  }

  private async write(): Promise<void> {
    const stored = [...this.database.inProcessCollection(this.at.collection).storedDocuments()].find((doc) => doc['_id'] === this.at.id);
    const checkpoint = stored ? `${String(stored['commit'])}/${String(stored['prepare'])}` : null;
    if (checkpoint === null || checkpoint === this.lastCheckpoint) return;
    try {
      if ((await writeReadModelSnapshot(this.database, this.store, this.file, this.at)) !== null) this.lastCheckpoint = checkpoint;
    } catch (error) {
      this.onError(error);
    }
  }
}
