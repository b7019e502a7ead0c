import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { SqliteEventStore } from '../../src/adapters/sqlite/sqliteEventStore';
import { aggregateStream, commandHandler } from '../../src/application/commandHandler';
import { KeyCreationProcess } from '../../src/application/keyCreationProcess';
import type { AccountEvent } from '../../src/domain/account/account';
import { accountDecider } from '../../src/domain/account/account';
import type { ApiKeyCommand } from '../../src/domain/apiKey/commands';
import { apiKeyDecider } from '../../src/domain/apiKey/decider';
import type { ApiKeyEvent } from '../../src/domain/apiKey/events';
import { fingerprintOf } from '../../src/domain/secret';
import type { DomainEventShape, EventMetadata } from '../../src/eventLog/streams';
import { EVENT_SCHEMA_VERSION, accountStream, apiKeyStream, chainLinkOf, toChainedEventData } from '../../src/eventLog/streams';
import { ANY } from '../../src/ports/eventStore';
import type { Progress } from '../progress';
import { percentile } from '../stats';

const METADATA: EventMetadata = { actor: 'bench', correlationId: 'bench', causationId: 'bench', schemaVersion: EVENT_SCHEMA_VERSION };
const NOW = '2026-11-01T00:00:00.000Z';
const SEED_BATCH = 5_000;

export interface CommandLatency {
  /** Events in the stream before the measured commands. */
  pastEvents: number;
  p50Ms: number;
  p99Ms: number;
  /** What folding the whole stream costs, without a snapshot (the cost before snapshots). */
  fullFoldMs: number;
}

const createCommand = (keyId: string, accountId: string): ApiKeyCommand => ({
  type: 'CreateApiKey',
  data: { keyId, accountId, now: NOW, name: 'bench', description: null, region: 'us-east-1', scope: null, ipAllowlist: null, expiresAt: null, acceptTerms: true, fingerprint: fingerprintOf(`sk-${keyId}`) },
});

/** Appends past events in batches, each chained onto the last, as the write path would have. */
async function seedStream(store: SqliteEventStore, stream: string, count: number, eventAt: (i: number) => DomainEventShape): Promise<void> {
  let link = (await aggregateStream(store, stream, { evolve: () => null, initialState: () => null })).lastLink;
  for (let done = 0; done < count; done += SEED_BATCH) {
    const events = Array.from({ length: Math.min(SEED_BATCH, count - done) }, (_, i) => eventAt(done + i));
    const data = toChainedEventData(events, METADATA, link);
    link = chainLinkOf(data[data.length - 1] as { metadata?: never }) ?? link;
    await store.appendToStream(stream, data, { expectedRevision: ANY });
  }
}

/** A fold of the whole stream that no snapshot serves (the same evolve, under another identity). */
async function fullFoldMs(store: SqliteEventStore, stream: string, fold: 'key' | 'account'): Promise<number> {
  const started = performance.now();
  if (fold === 'key') await aggregateStream(store, stream, { evolve: (s, e: ApiKeyEvent) => apiKeyDecider.evolve(s, e), initialState: apiKeyDecider.initialState });
  else {
    await aggregateStream(store, stream, { evolve: (s, e: AccountEvent) => accountDecider.evolve(s, e), initialState: accountDecider.initialState });
  }
  return performance.now() - started;
}

const summary = (pastEvents: number, samples: number[], full: number): CommandLatency => {
  const sorted = [...samples].sort((a, b) => a - b);
  return { pastEvents, p50Ms: percentile(sorted, 0.5), p99Ms: percentile(sorted, 0.99), fullFoldMs: full };
};

/**
 * Command latency against stream length, on the embedded log (a file, synchronous=FULL: every
 * command's append is fsynced, as in service): rename on keys with 1 / 1,000 / 10,000 past events,
 * and a create in an account whose stream holds `accountPast` past reservations and releases.
 */
export async function commandScale(options: { progress: Progress; keyEvents: readonly number[]; accountPast: number; commands: number; holding: readonly number[] }) {
  const dir = mkdtempSync(join(tmpdir(), 'keyhub-command-scale-'));
  const store = new SqliteEventStore(join(dir, 'events.sqlite'));
  const handler = commandHandler(store);
  try {
    // Every stream is seeded first, then the commands alternate between them, so that the machine's
    // noise (fsync above all) falls on every stream length alike.
    const keys: Array<{ keyId: string; past: number; full: number; samples: number[] }> = [];
    for (const past of options.keyEvents) {
      const keyId = randomUUID();
      const stream = apiKeyStream(keyId);
      await handler.handle(stream, apiKeyDecider, createCommand(keyId, 'bench-rename'), { metadata: METADATA, retriesOnConflict: 0 });
      await seedStream(store, stream, past - 1, (i) => ({ type: 'ApiKeyRenamed', data: { keyId, accountId: 'bench-rename', name: `seeded ${i}`, previousName: 'x', occurredAt: NOW } }));
      keys.push({ keyId, past, full: await fullFoldMs(store, stream, 'key'), samples: [] });
    }
    const accounts: Array<{ accountId: string; past: number; full: number; samples: number[] }> = [];
    for (const [accountId, past] of [['bench-fresh', 0], ['bench-busy', options.accountPast]] as const) {
      // Past creates and deletes of the account: a reservation and a release each.
      await seedStream(store, accountStream(accountId), past, (i): AccountEvent =>
        i % 2 === 0 ? { type: 'AccountKeySlotReserved', data: { accountId, keyId: `past-${i >> 1}`, occurredAt: NOW } } : { type: 'AccountKeySlotReleased', data: { accountId, keyId: `past-${i >> 1}`, occurredAt: NOW } },
      );
      accounts.push({ accountId, past, full: past > 0 ? await fullFoldMs(store, accountStream(accountId), 'account') : 0, samples: [] });
    }
    const creation = new KeyCreationProcess(handler, { defaultKeyLimit: 10_000, clock: () => new Date(NOW) });
    const bar = options.progress.counter('commands', options.commands);
    // Round -1 is not timed: the first command on a seeded stream folds it whole (the seed wrote no
    // snapshot, the write path would have) and leaves the snapshot that the timed ones start from.
    for (let i = -1; i < options.commands; i += 1) {
      for (const key of keys) {
        const started = performance.now();
        await handler.handle(apiKeyStream(key.keyId), apiKeyDecider, { type: 'RenameApiKey', data: { keyId: key.keyId, accountId: 'bench-rename', now: NOW, name: `renamed ${i}` } }, { metadata: METADATA, retriesOnConflict: 0 });
        if (i >= 0) key.samples.push(performance.now() - started);
      }
      for (const account of accounts) {
        const started = performance.now();
        await creation.create(createCommand(randomUUID(), account.accountId) as never, METADATA);
        if (i >= 0) account.samples.push(performance.now() - started);
      }
      bar.update(i + 1);
    }
    bar.stop();
    const renames = keys.map((key) => summary(key.past, key.samples, key.full));
    const creates = accounts.map((account) => summary(account.past, account.samples, account.full));
    for (const figure of [...renames, ...creates]) options.progress.note(`${figure.pastEvents.toLocaleString('en-US')} past events: p50 ${figure.p50Ms.toFixed(2)} ms (a whole-stream fold: ${figure.fullFoldMs.toFixed(1)} ms)`);
    const concurrent = await concurrentCreates(store, handler, options.holding, options.progress);
    return { renames, creates, concurrent };
  } finally {
    await store.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface ConcurrentCreates {
  /** Live keys the account held before. */
  holding: number;
  /** From the first create sent to the last answered, for CONCURRENT_CREATES sent at once. */
  ms: number;
  failed: number;
}

const CONCURRENT_CREATES = 20;

/**
 * 20 creates sent at once into one account that already holds `holding` keys (its limit raised to
 * the maximum): they contend on the account's stream, each conflict re-reads and re-decides.
 */
async function concurrentCreates(store: SqliteEventStore, handler: ReturnType<typeof commandHandler>, holdings: readonly number[], progress: Progress): Promise<ConcurrentCreates[]> {
  const figures: ConcurrentCreates[] = [];
  const creation = new KeyCreationProcess(handler, { defaultKeyLimit: 10_000, clock: () => new Date(NOW) });
  for (const holding of holdings) {
    const accountId = `bench-holding-${holding}`;
    await seedStream(store, accountStream(accountId), holding, (i): AccountEvent => ({ type: 'AccountKeySlotReserved', data: { accountId, keyId: `held-${i}`, occurredAt: NOW } }));
    await creation.create(createCommand(randomUUID(), accountId) as never, METADATA); // the first fold of the seeded stream leaves its snapshot
    const started = performance.now();
    const outcomes = await Promise.allSettled(Array.from({ length: CONCURRENT_CREATES }, () => creation.create(createCommand(randomUUID(), accountId) as never, METADATA)));
    figures.push({ holding, ms: performance.now() - started, failed: outcomes.filter((outcome) => outcome.status === 'rejected').length });
    progress.note(`${CONCURRENT_CREATES} concurrent creates in an account holding ${holding.toLocaleString('en-US')} keys: ${figures[figures.length - 1]?.ms.toFixed(0)} ms`);
  }
  return figures;
}
