import { join } from 'node:path';
import { EventStoreDbStore } from './adapters/eventstoredb/eventStoreDbStore';
import { InProcessDatabase } from './adapters/inProcess/inProcessDatabase';
import { MongoReadModel } from './adapters/mongodb/mongoReadModel';
import { READ_MODEL_SNAPSHOT_FILE, ReadModelSnapshotter, loadReadModelSnapshot } from './adapters/inProcess/readModelSnapshot';
import { CHECKPOINT_ID } from '../projections/registry';
import { COLLECTIONS } from './readModel/documents';
import { SqliteEventStore } from './adapters/sqlite/sqliteEventStore';
import type { Config } from './config';
import type { Database } from './ports/collection';
import type { EventStore } from './ports/eventStore';

export interface Engines {
  store: EventStore;
  readModel: Database;
  /** For the startup line: which engines are in use. */
  names: { eventStore: string; readModel: string };
  /** True when an engine is a server that may be down: listen first, then connect with backoff. */
  external: boolean;
  /** One round trip to each engine server, each within its own deadline; throws the port's "unavailable" error. */
  probe(): Promise<void>;
  close(): Promise<void>;
}

/** A server that accepts the connection but never answers must not hang start-up (the ESDB client sets no deadline on reads). */
const ENGINE_PROBE_TIMEOUT_MS = 5000;

/**
 * The engines by configuration alone: EVENTSTORE_URL selects EventStoreDB for the log, MONGODB_URL
 * MongoDB for the read model; each can be chosen alone. Without them: the embedded default, a
 * durable SQLite log under DATA_DIR and the in-process read model.
 */
export async function openEngines(config: Config, use: { serving: boolean } = { serving: false }): Promise<Engines> {
  const eventStoreDb = config.EVENTSTORE_URL ? EventStoreDbStore.connect(config.EVENTSTORE_URL) : null;
  const mongo = config.MONGODB_URL ? MongoReadModel.connect(config.MONGODB_URL, config.MONGODB_DB) : null;
  const file = join(config.DATA_DIR, 'events.sqlite');
  // Several serving processes may share the embedded log (see SqliteEventStore); each checks it at start.
  const sqlite = eventStoreDb ? null : new SqliteEventStore(file);
  if (use.serving) sqlite?.checkIntegrity(); // a damaged log stops start-up (StartupError), never a retry loop
  const store = eventStoreDb ?? (sqlite as SqliteEventStore);
  const inProcess = mongo ? null : await inProcessReadModel(config, store, use.serving && sqlite !== null);
  return {
    store,
    readModel: mongo ?? (inProcess?.database as InProcessDatabase),
    names: {
      eventStore: eventStoreDb?.description ?? `embedded SQLite log (${file})`,
      readModel: mongo?.description ?? (inProcess?.description as string),
    },
    external: eventStoreDb !== null || mongo !== null,
    probe: async () => {
      await eventStoreDb?.probe(ENGINE_PROBE_TIMEOUT_MS);
      await mongo?.probe();
    },
    close: async () => {
      // A call hung on a server that stopped answering can keep the client's dispose waiting: bound it.
      const bounded = (closing: Promise<void> | undefined) => Promise.race([closing, new Promise<void>((resolve) => setTimeout(resolve, 2000).unref())]);
      await inProcess?.snapshotter?.stop();
      await Promise.all([bounded(store.dispose()), bounded(mongo?.close())]);
    },
  };
}

/**
 * The in-process read model. A serving process on the embedded log loads it from its snapshot in
 * DATA_DIR when one checks against the log (then catches up from the log) and keeps the snapshot
 * fresh in the background; otherwise it starts empty and is rebuilt from the log.
 */
async function inProcessReadModel(config: Config, store: EventStore, snapshots: boolean) {
  if (!snapshots || config.READ_MODEL_SNAPSHOT_SECONDS === 0) return { database: new InProcessDatabase(), description: 'in-process (rebuilt from the log at start)', snapshotter: null };
  const file = join(config.DATA_DIR, READ_MODEL_SNAPSHOT_FILE);
  const loaded = await loadReadModelSnapshot(store, file);
  const at = { collection: COLLECTIONS.checkpoints, id: CHECKPOINT_ID };
  const onError = (error: unknown) => process.emitWarning(`keyhub: the read model snapshot ${file} could not be written: ${error instanceof Error ? error.message : String(error)}`);
  const checkpoint = 'ignored' in loaded ? null : loaded.checkpoint;
  const snapshotter = new ReadModelSnapshotter(loaded.database, store, file, at, config.READ_MODEL_SNAPSHOT_SECONDS * 1000, onError, checkpoint);
  snapshotter.start();
  const description =
    'ignored' in loaded
      ? `in-process (rebuilt from the log at start; snapshot: ${loaded.ignored})`
      : `in-process (${loaded.documents.toLocaleString('en-US')} documents loaded from ${file} at position ${loaded.checkpoint.commit}, then caught up from the log)`;
  return { database: loaded.database, description, snapshotter };
}
