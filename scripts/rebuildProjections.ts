import cliProgress from 'cli-progress';
import type { Database } from '../src/ports/collection';
import type { EventStore, Position, RecordedEvent } from '../src/ports/eventStore';
import { comparePositions } from '../src/ports/eventStore';
import { lastLogPosition } from '../src/application/auditTrail';
import { KEYHUB_STREAM_PREFIXES } from '../src/eventLog/streams';
import { openEngines } from '../src/engines';
import { ConfigError, loadConfig } from '../src/config';
import type { ProjectedEvent } from '../src/readModel/projectedEvent';
import { COLLECTIONS } from '../src/readModel/documents';
import { applyBatch, ensureIndexes } from '../projections/registry';
import { toProjectedEvent } from '../src/readModel/projectedEvent';

const BATCH = 500;
const ours = (streamId: string) => KEYHUB_STREAM_PREFIXES.some((prefix) => streamId.startsWith(prefix));

/** Drops the read model and applies every keyhub event of the log from the start, in batches, as the runner does. */
async function replay(store: EventStore, readModel: Database): Promise<{ events: number; seconds: number }> {
  await readModel.dropDatabase();
  await ensureIndexes(readModel);
  // The progress bar runs over log positions, so it needs no counting pass.
  const end = await lastLogPosition(store);
  const total = end === null ? 0 : Number(end.commit);
  const bar = new cliProgress.SingleBar(
    { format: 'replaying [{bar}] {percentage}% of the log | {events} events | {rate} events/s | {duration_formatted}', stream: process.stderr, noTTYOutput: true, notTTYSchedule: 2000 },
    cliProgress.Presets.shades_classic,
  );
  const started = Date.now();
  let events = 0;
  const rate = () => Math.round(events / Math.max(0.001, (Date.now() - started) / 1000));
  bar.start(Math.max(1, total), 0, { events: 0, rate: 0 });
  let batch: ProjectedEvent[] = [];
  const flush = async () => {
    if (batch.length === 0) return;
    await applyBatch(readModel, batch); // writes the checkpoint after each batch, as the runner does
    events += batch.length;
    bar.update(Math.min(total, Number((batch[batch.length - 1] as ProjectedEvent).position.commit)), { events, rate: rate() });
    batch = [];
  };
  // Until a pass finds nothing new: an event written during the replay is applied here too, after
  // everything before it, so a running instance whose write found no document yet loses nothing.
  let last: Position | null = null;
  for (let progressed = true; progressed; ) {
    progressed = false;
    const from: Position | 'start' = last ?? 'start';
    for await (const resolved of store.readAll({ fromPosition: from })) {
      const event: RecordedEvent | undefined = resolved.event;
      if (!event || (last !== null && comparePositions(event.position, last) <= 0)) continue;
      last = event.position;
      progressed = true;
      if (!ours(event.streamId)) continue;
      batch.push(toProjectedEvent(event));
      if (batch.length >= BATCH) await flush();
    }
    await flush();
  }
  bar.update(Math.max(1, total), { events, rate: rate() });
  bar.stop();
  return { events, seconds: (Date.now() - started) / 1000 };
}

async function main(): Promise<void> {
  const config = loadConfig();
  const engines = await openEngines(config);
  const write = (line: string) => process.stdout.write(`${line}\n`);
  try {
    write(`event store: ${engines.names.eventStore}`);
    write(`read model:  ${engines.names.readModel}`);
    await engines.probe();
    if (config.MONGODB_URL) {
      if (!process.argv.includes('--yes')) {
        write(`This drops the read model in ${engines.names.readModel} and replays the whole log into it.`);
        write('Running instances may stay up: the replay also applies what is written meanwhile, but lists are incomplete until it ends.');
        write('Run again with --yes to go ahead:  npm run rebuild-projections -- --yes');
        process.exitCode = 2;
        return;
      }
    } else {
      write('The embedded read model lives in each service process and is rebuilt from the log at every start: there is nothing to drop.');
      write('This replays the log into a fresh in-process read model, as a check of the log and the projections, and reports the speed.');
    }
    const { events, seconds } = await replay(engines.store, engines.readModel);
    const counts = await Promise.all([COLLECTIONS.apiKeys, COLLECTIONS.keyIndex, COLLECTIONS.accounts].map(async (name) => `${name} ${await engines.readModel.collection(name).countDocuments({})}`));
    write(`replayed ${events} events in ${seconds.toFixed(2)} s: ${Math.round(events / Math.max(0.001, seconds))} events/s`);
    write(`read model now holds: ${counts.join(', ')}`);
  } finally {
    await engines.close();
  }
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) console.error(error.message);
  else console.error(`rebuild-projections failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
