import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { InProcessDatabase } from '../../src/adapters/inProcess/inProcessDatabase';
import { SqliteEventStore } from '../../src/adapters/sqlite/sqliteEventStore';
import type { Caller } from '../../src/application/caller';
import { composeKeyhub } from '../../src/compositionRoot';
import { loadConfig } from '../../src/config';
import type { AppendResult, EventStore } from '../../src/ports/eventStore';
import { createLogger } from '../../src/logger';
import type { LoadFigures } from '../load';
import { load } from '../load';
import { CREATE } from '../operations';
import type { Progress } from '../progress';
import { percentile } from '../stats';

/** createApiKey over GraphQL: each request in the next of many accounts, so that writers rarely contend on one account stream. */
export function createOverHttp(options: { progress: Progress; port: number; accountTokens: readonly string[]; connections: number; seconds: number }): Promise<LoadFigures> {
  const { port, accountTokens, connections, seconds } = options;
  return options.progress.timed(`createApiKey, ${connections} clients`, seconds, () =>
    load({
      port,
      connections,
      durationSeconds: seconds,
      method: 'POST',
      path: '/graphql',
      request: (i) => ({
        headers: { 'content-type': 'application/json', authorization: `Bearer ${accountTokens[i % accountTokens.length]}` },
        body: JSON.stringify({ query: CREATE, variables: { input: { name: `bench created ${i}`, acceptTerms: true } } }),
      }),
      accept: (body) => body.includes('"secret":"sk-'),
    }),
  );
}

/** Counts the ApiKeyCreated events in a log (after the service has stopped): every acknowledged create must be there. */
export async function createdInLog(file: string): Promise<number> {
  const store = new SqliteEventStore(file);
  let count = 0;
  for await (const resolved of store.readAll()) if (resolved.event?.type === 'ApiKeyCreated') count += 1;
  await store.dispose();
  return count;
}

export interface ProjectionLagFigures {
  creates: number;
  createsPerSecond: number;
  lagP50Ms: number;
  lagP99Ms: number;
  lagMaxMs: number;
}

/**
 * Projection lag, in process (the only place both ends can be timed on one clock): the real
 * write side (ApiKeyCommands over the SQLite log, synchronous=FULL, group commit) with N
 * concurrent writers; the lag of an event is the time from its append being acknowledged to
 * the projection runner having applied it to the read model.
 */
export async function projectionLag(options: { progress: Progress; file: string; writers: number; seconds: number }): Promise<ProjectionLagFigures> {
  const sqlite = new SqliteEventStore(options.file);
  const acknowledged = new Map<bigint, number>();
  const lags: number[] = [];
  const store: EventStore = {
    appendToStream: async (...args: Parameters<EventStore['appendToStream']>): Promise<AppendResult> => {
      const result = await sqlite.appendToStream(...args);
      if (result.position) acknowledged.set(result.position.commit, performance.now());
      return result;
    },
    readStream: (...args) => sqlite.readStream(...args),
    readAll: (...args) => sqlite.readAll(...args),
    subscribeToAll: (...args) => sqlite.subscribeToAll(...args),
    dispose: () => sqlite.dispose(),
  };
  // The service's own composition (without its transports) on the timed store.
  const { runner, services } = composeKeyhub({ store, readModel: new InProcessDatabase() }, loadConfig({ KEY_LIMIT_DEFAULT: '10000' }), createLogger('silent'));
  runner.onApplied((events) => {
    const now = performance.now();
    for (const event of events) {
      const at = acknowledged.get(event.position.commit);
      if (at === undefined) continue;
      acknowledged.delete(event.position.commit);
      lags.push(Math.max(0, now - at));
    }
  });
  await runner.start();
  await runner.caughtUp;
  const { commands } = services;
  let creates = 0;
  const deadline = Date.now() + options.seconds * 1000;
  const started = Date.now();
  await options.progress.timed(`in-process creates, ${options.writers} writers`, options.seconds, () =>
    Promise.all(
      Array.from({ length: options.writers }, async (_, writer) => {
        while (Date.now() < deadline) {
          // As over HTTP: each create in the next of many accounts, so writers rarely contend on one account stream.
          const caller: Caller = { sub: `writer-${writer}`, accountId: `lag-account-${creates % 2_000}`, roles: [], requestId: randomUUID() };
          creates += 1;
          await commands.create(caller, { name: `lag ${creates}`, acceptTerms: true });
        }
      }),
    ),
  );
  const elapsed = (Date.now() - started) / 1000;
  await runner.stop();
  await sqlite.dispose();
  lags.sort((a, b) => a - b);
  return {
    creates,
    createsPerSecond: creates / elapsed,
    lagP50Ms: percentile(lags, 0.5),
    lagP99Ms: percentile(lags, 0.99),
    lagMaxMs: lags[lags.length - 1] ?? NaN,
  };
}
