import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { InProcessDatabase } from '../../src/adapters/inProcess/inProcessDatabase';
import { READ_MODEL_SNAPSHOT_FILE, loadReadModelSnapshot, writeReadModelSnapshot } from '../../src/adapters/inProcess/readModelSnapshot';
import { SqliteEventStore } from '../../src/adapters/sqlite/sqliteEventStore';
import { createLogger } from '../../src/logger';
import { COLLECTIONS } from '../../src/readModel/documents';
import { CHECKPOINT_ID } from '../../projections/registry';
import { ProjectionRunner } from '../../projections/runner';
import type { Progress } from '../progress';
import { seedKeys } from '../seed';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

export interface StartupFigures {
  keys: number;
  events: number;
  /** The read model rebuilt from the whole log, as a start without a snapshot does. */
  rebuildMs: number;
  /** Writing the snapshot (in the background, while serving), its size, and the longest event-loop stall meanwhile. */
  snapshotWriteMs: number;
  snapshotMb: number;
  writeStallMaxMs: number;
  /** Loading the snapshot, checking it against the log, and catching up with the events written after it. */
  loadMs: number;
  catchUpEvents: number;
  /** Heap used by the loaded read model. */
  loadedHeapMb: number;
}

/** Catches `database` up with the log as the service's start does; resolves when it reflects the log. */
async function catchUp(store: SqliteEventStore, database: InProcessDatabase): Promise<void> {
  const runner = new ProjectionRunner(store, database, createLogger('silent'));
  await runner.start();
  await runner.caughtUp;
  await runner.stop();
}

/**
 * A full collection before the heap is measured, so that garbage left by the steps before is not
 * counted (nor, collected during the load, counted against it): with --expose-gc, or by turning the
 * flag on here (`npm run bench` does not pass it).
 */
function collectGarbage(): void {
  if (!global.gc) setFlagsFromString('--expose-gc');
  ((global.gc as (() => void) | undefined) ?? (runInNewContext('gc') as () => void))();
}

/**
 * The read model's part of start-up on the embedded default, in process: a rebuild from the whole
 * log (a start without snapshot), against loading the snapshot in DATA_DIR and catching up with the
 * events appended after it (`tail` more keys).
 */
export async function startupScale(options: { progress: Progress; keys: number; tail: number }): Promise<StartupFigures> {
  const dir = mkdtempSync(join(tmpdir(), 'keyhub-startup-scale-'));
  const store = new SqliteEventStore(join(dir, 'events.sqlite'));
  try {
    const bar = options.progress.counter('keys', options.keys);
    const seeded = await seedKeys(store, { keys: options.keys, sampleSize: 0, keepIndex: false, onProgress: (done) => bar.update(done) });
    bar.stop();
    const rebuilt = new InProcessDatabase();
    let started = performance.now();
    await catchUp(store, rebuilt);
    const rebuildMs = performance.now() - started;
    options.progress.note(`rebuild of ${seeded.events.toLocaleString('en-US')} events: ${(rebuildMs / 1000).toFixed(2)} s`);

    const file = join(dir, READ_MODEL_SNAPSHOT_FILE);
    const stalls = monitorEventLoopDelay({ resolution: 5 });
    stalls.enable();
    started = performance.now();
    await writeReadModelSnapshot(rebuilt, store, file, { collection: COLLECTIONS.checkpoints, id: CHECKPOINT_ID });
    const snapshotWriteMs = performance.now() - started;
    stalls.disable();
    options.progress.note(`snapshot written in ${(snapshotWriteMs / 1000).toFixed(2)} s (${(statSync(file).size / 1048576).toFixed(0)} MB), longest stall ${(stalls.max / 1e6).toFixed(1)} ms`);

    const tail = await seedKeys(store, { keys: options.tail, sampleSize: 0, keepIndex: false });
    collectGarbage();
    const heapBefore = process.memoryUsage().heapUsed;
    started = performance.now();
    const loaded = await loadReadModelSnapshot(store, file);
    if ('ignored' in loaded) throw new Error(`the bench's snapshot was ignored: ${loaded.ignored}`);
    await catchUp(store, loaded.database);
    const loadMs = performance.now() - started;
    // The heap's growth over the load; a collection during it can make a small model's figure negative, which means ~0.
    const loadedHeapMb = Math.max(0, (process.memoryUsage().heapUsed - heapBefore) / 1048576);
    options.progress.note(`snapshot loaded and ${tail.events.toLocaleString('en-US')} events caught up in ${(loadMs / 1000).toFixed(2)} s`);
    return {
      keys: options.keys,
      events: seeded.events,
      rebuildMs,
      snapshotWriteMs,
      snapshotMb: statSync(file).size / 1048576,
      writeStallMaxMs: stalls.max / 1e6,
      loadMs,
      catchUpEvents: tail.events,
      loadedHeapMb,
    };
  } finally {
    await store.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
}
