import { performance } from 'node:perf_hooks';
import { InProcessDatabase } from '../../src/adapters/inProcess/inProcessDatabase';
import { SqliteEventStore } from '../../src/adapters/sqlite/sqliteEventStore';
import { KeyVerifier, VerificationCache } from '../../src/application/keyVerifier';
import { UsageRecorder } from '../../src/application/usageRecorder';
import { compileIpAllowlist } from '../../src/domain/rules/ipAllowlist';
import { hashSecret } from '../../src/domain/secret';
import { checkAccess } from '../../src/domain/verification';
import { createLogger } from '../../src/logger';
import type { KeyIndexDocument } from '../../projections/readModel';
import { COLLECTIONS } from '../../projections/readModel';
import { ProjectionRunner } from '../../projections/runner';
import type { Progress } from '../progress';
import { LOAD_REQUEST } from '../seed';

export interface RebuildFigures {
  events: number;
  ms: number;
  eventsPerSecond: number;
  heapUsedMb: number;
}

/** Rebuilds a fresh in-process read model from a log, as the service does at start; returns it running. */
export async function rebuild(file: string) {
  const store = new SqliteEventStore(file);
  const readModel = new InProcessDatabase();
  const runner = new ProjectionRunner(store, readModel, createLogger('silent'));
  const cache = new VerificationCache(() => runner.healthy);
  runner.onApplied((events) => cache.applied(events));
  const heapBefore = process.memoryUsage().heapUsed;
  const started = performance.now();
  await runner.start();
  await runner.caughtUp;
  const ms = performance.now() - started;
  const events = Number(store.lastPosition()?.commit ?? 0n);
  const figures: RebuildFigures = { events, ms, eventsPerSecond: events / (ms / 1000), heapUsedMb: (process.memoryUsage().heapUsed - heapBefore) / 1048576 };
  return {
    figures,
    readModel,
    store,
    cache,
    close: async () => {
      await runner.stop();
      await store.dispose();
    },
  };
}

export interface InProcessVerificationFigures {
  /** Full verification of a known key (hash, cached lookup, status/expiry/IP/scope checks, use noted), as /auth runs it: `verifyNow`, no promise. */
  verificationsPerSecond: number;
  /** The same through the async `verify`, as the GraphQL resolver runs it (one promise per call). */
  asyncPerSecond: number;
  /** The same with the cache bypassed: hash, lookup in the in-process read model, compile, checks. */
  uncachedPerSecond: number;
  sha256PerSecond: number;
  checkAccessPerSecond: number;
}

const BATCH = 1000;

/**
 * In-process figures with tinybench, on one core (this process's main thread). Each task runs a
 * batch of 1,000 operations per iteration so that the timer's own cost does not dominate; the
 * figures are operations per second (batch throughput × 1,000).
 */
export async function inProcessVerification(options: {
  progress: Progress;
  readModel: InProcessDatabase;
  cache: VerificationCache;
  secrets: readonly string[];
  timeMs: number;
}): Promise<InProcessVerificationFigures> {
  const { Bench } = await import('tinybench');
  const keyIndex = options.readModel.collection<KeyIndexDocument>(COLLECTIONS.keyIndex);
  const uses = new UsageRecorder({} as never, createLogger('silent'), 60_000); // never started: uses stay in memory, as between flushes
  const cached = new KeyVerifier(keyIndex, uses, Date.now, options.cache);
  const uncached = new KeyVerifier(keyIndex, uses, Date.now, null);
  const secrets = options.secrets;
  const request = LOAD_REQUEST;
  const sample = await keyIndex.findOne({ _id: hashSecret(secrets[0] as string) });
  if (!sample) throw new Error('the sample key is not in the rebuilt read model');
  const compiled = {
    keyId: sample.keyId,
    accountId: sample.accountId,
    status: sample.status,
    expiresAtMs: null,
    scope: sample.scope,
    allowsIp: compileIpAllowlist(sample.ipAllowlist),
  };
  for (const secret of secrets.slice(0, 100)) {
    const result = await cached.verify(secret, request);
    if (!result.valid) throw new Error(`a seeded key did not verify in process: ${result.reason}`);
  }
  let i = 0;
  let sink = 0;
  const bench = new Bench({ time: options.timeMs, warmup: true });
  bench
    .add('verifyNow (cached)', () => {
      for (let n = 0; n < BATCH; n += 1) {
        const answer = cached.verifyNow(secrets[i++ % secrets.length] as string, request);
        sink += !(answer instanceof Promise) && answer.valid ? 1 : 0;
      }
    })
    .add('verify (cached)', async () => {
      const pending: Array<Promise<unknown>> = [];
      for (let n = 0; n < BATCH; n += 1) pending.push(cached.verify(secrets[i++ % secrets.length] as string, request));
      await Promise.all(pending);
    })
    .add('verify (uncached)', async () => {
      const pending: Array<Promise<unknown>> = [];
      for (let n = 0; n < BATCH; n += 1) pending.push(uncached.verify(secrets[i++ % secrets.length] as string, request));
      await Promise.all(pending);
    })
    .add('sha256', () => {
      for (let n = 0; n < BATCH; n += 1) sink += hashSecret(secrets[i++ % secrets.length] as string).length;
    })
    .add('checkAccess', () => {
      const now = Date.now();
      for (let n = 0; n < BATCH; n += 1) sink += checkAccess(compiled, { ...request, nowMs: now }).valid ? 1 : 0;
    });
  options.progress.note('tinybench: verifyNow (cached), verify (cached), verify (uncached), sha256, checkAccess');
  await bench.run();
  if (sink < 0) throw new Error('unreachable');
  const perSecond = (name: string) => {
    const result = bench.getTask(name)?.result;
    if (!result || !('throughput' in result)) throw new Error(`tinybench task ${name} did not complete`);
    return result.throughput.mean * BATCH;
  };
  return {
    verificationsPerSecond: perSecond('verifyNow (cached)'),
    asyncPerSecond: perSecond('verify (cached)'),
    uncachedPerSecond: perSecond('verify (uncached)'),
    sha256PerSecond: perSecond('sha256'),
    checkAccessPerSecond: perSecond('checkAccess'),
  };
}
