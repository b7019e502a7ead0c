import { performance } from 'node:perf_hooks';
import { InProcessDatabase } from '../../src/adapters/inProcess/inProcessDatabase';
import { SqliteEventStore } from '../../src/adapters/sqlite/sqliteEventStore';
import { KeyVerifier } from '../../src/application/keyVerifier';
import { UsageRecorder } from '../../src/application/usageRecorder';
import { composeKeyhub } from '../../src/compositionRoot';
import { loadConfig } from '../../src/config';
import { compileIpAllowlist } from '../../src/domain/rules/ipAllowlist';
import { hashSecret } from '../../src/domain/secret';
import { checkAccess } from '../../src/domain/verification';
import { createLogger } from '../../src/logger';
import { keyIndexIn } from '../../src/readModel/keyLookups';
import type { Progress } from '../progress';
import { LOAD_REQUEST } from '../seed';

export interface RebuildFigures {
  events: number;
  ms: number;
  eventsPerSecond: number;
  heapUsedMb: number;
}

/**
 * Rebuilds a fresh in-process read model from a log, as the service does at start (the service's
 * own composition, without its transports); returns it running, with the service's verifier.
 */
export async function rebuild(file: string) {
  const store = new SqliteEventStore(file);
  const readModel = new InProcessDatabase();
  // The usage recorder is never started: uses stay in memory, as between flushes.
  const { runner, services } = composeKeyhub({ store, readModel }, loadConfig({}), createLogger('silent'));
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
    verifier: services.verifier,
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
  /** The service's verifier, with its verification cache. */
  verifier: KeyVerifier;
  secrets: readonly string[];
  timeMs: number;
}): Promise<InProcessVerificationFigures> {
  const { Bench } = await import('tinybench');
  const keyIndex = keyIndexIn(options.readModel);
  const cached = options.verifier;
  // The same verifier with the cache bypassed, for the read model lookup's own figure.
  const uncached = new KeyVerifier(keyIndex, new UsageRecorder({} as never, createLogger('silent'), 60_000), Date.now, null);
  const secrets = options.secrets;
  const request = LOAD_REQUEST;
  const sample = await keyIndex.entryOf(hashSecret(secrets[0] as string));
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
