import { NO_POLICY } from '../../src/domain/account/policy';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { SqliteEventStore } from '../../src/adapters/sqlite/sqliteEventStore';
import { aggregateStream, commandHandler } from '../../src/application/commandHandler';
import { idempotencyOf } from '../../src/application/idempotency';
import { SNAPSHOT_EVERY, snapshotStream, writeSnapshot } from '../../src/application/streamSnapshots';
import type { AccountEvent } from '../../src/domain/account/account';
import { accountDecider } from '../../src/domain/account/account';
import { apiKeyDecider } from '../../src/domain/apiKey/decider';
import type { ApiKeyEvent } from '../../src/domain/apiKey/events';
import type { DomainEventShape, EventMetadata } from '../../src/eventLog/streams';
import { EVENT_SCHEMA_VERSION, accountStream, apiKeyStream, toChainedEventData } from '../../src/eventLog/streams';
import type { EventStore, ReadStreamOptions, RecordedEvent } from '../../src/ports/eventStore';
import { ANY, jsonEvent } from '../../src/ports/eventStore';
import { apiKeyCreatedData } from '../support/eventFixtures';

const METADATA: EventMetadata = { actor: 'alice', correlationId: 'c', causationId: 'c', schemaVersion: EVENT_SCHEMA_VERSION };
const key = { keyId: 'key-1', accountId: 'acct-1' };
const at = (minute: number) => new Date(Date.UTC(2026, 10, 1, 0, minute)).toISOString();

const scope = fc.record({ mode: fc.constantFrom('ALL' as const, 'RESTRICTED' as const), models: fc.array(fc.constantFrom('m1', 'm2'), { maxLength: 2 }), services: fc.array(fc.constantFrom('chat'), { maxLength: 1 }) });
const instant = fc.integer({ min: 0, max: 10_000 }).map(at);
/** Every event type of a key, with the fields its fold reads drawn at random. */
const keyEvent: fc.Arbitrary<ApiKeyEvent> = fc.oneof(
  fc.record({ name: fc.string({ maxLength: 5 }), occurredAt: instant }).map((d) => ({ type: 'ApiKeyCreated', data: apiKeyCreatedData({ ...key, ...d }) }) as ApiKeyEvent),
  fc.record({ name: fc.string({ maxLength: 5 }), occurredAt: instant }).map((d) => ({ type: 'ApiKeyRenamed', data: { ...key, ...d, previousName: 'x' } }) as ApiKeyEvent),
  fc.record({ description: fc.option(fc.string({ maxLength: 5 }), { nil: null }), occurredAt: instant }).map((d) => ({ type: 'ApiKeyDescriptionUpdated', data: { ...key, ...d } }) as ApiKeyEvent),
  fc.record({ status: fc.constantFrom('ENABLED' as const, 'DISABLED' as const), reason: fc.constantFrom('OWNER' as const, 'LEAKED' as const), occurredAt: instant }).map((d) => ({ type: 'ApiKeyStatusChanged', data: { ...key, ...d } }) as ApiKeyEvent),
  fc.record({ scope, ipAllowlist: fc.array(fc.constantFrom('10.0.0.0/8', '::1/128'), { maxLength: 2 }), occurredAt: instant }).map((d) => ({ type: 'ApiKeyScopeUpdated', data: { ...key, ...d } }) as ApiKeyEvent),
  fc
    .record({ secretHash: fc.constantFrom('aaaa', 'bbbb', 'cccc'), graceUntil: instant, status: fc.constantFrom('ENABLED' as const, 'DISABLED' as const), scope, expiresAt: fc.option(instant, { nil: null }), occurredAt: instant })
    .map((d) => ({ type: 'ApiKeyRotated', data: { ...key, ...d, maskedKey: `sk-${d.secretHash}`, previousSecretHash: 'old', previousMaskedKey: 'sk-old', ipAllowlist: [] } }) as ApiKeyEvent),
  fc.record({ expiresAt: fc.option(instant, { nil: null }), occurredAt: instant }).map((d) => ({ type: 'ApiKeyExpiryUpdated', data: { ...key, ...d } }) as ApiKeyEvent),
  fc.record({ reportedSecret: fc.constantFrom('CURRENT' as const, 'PREVIOUS' as const), occurredAt: instant }).map((d) => ({ type: 'ApiKeyLeakReported', data: { ...key, ...d, maskedKey: 'sk-x' } }) as ApiKeyEvent),
  instant.map((occurredAt) => ({ type: 'ApiKeyDeleted', data: { ...key, occurredAt } }) as ApiKeyEvent),
);
/** Every event type of an account. */
const accountEvent: fc.Arbitrary<AccountEvent> = fc.oneof(
  fc.record({ limit: fc.integer({ min: 0, max: 10_000 }), occurredAt: instant }).map((d) => ({ type: 'AccountKeyLimitSet', data: { accountId: 'acct-1', ...d } }) as AccountEvent),
  fc.record({ keyId: fc.constantFrom('k1', 'k2', 'k3', 'k4'), occurredAt: instant }).map((d) => ({ type: 'AccountKeySlotReserved', data: { accountId: 'acct-1', ...d } }) as AccountEvent),
  fc.record({ keyId: fc.constantFrom('k1', 'k2', 'k3', 'k4'), occurredAt: instant }).map((d) => ({ type: 'AccountKeySlotReleased', data: { accountId: 'acct-1', ...d } }) as AccountEvent),
  fc
    .record({
      maxKeyLifetimeDays: fc.option(fc.integer({ min: 1, max: 3650 })),
      defaultKeyLifetimeDays: fc.option(fc.integer({ min: 1, max: 3650 })),
      expiryWarningDays: fc.option(fc.integer({ min: 1, max: 365 })),
      unusedAfterDays: fc.option(fc.integer({ min: 1, max: 3650 })),
      occurredAt: instant,
    })
    .map((d) => ({ type: 'AccountPolicySet', data: { accountId: 'acct-1', ...d } }) as AccountEvent),
);

/** A store that counts the events read from each stream: proves what a fold did not read. */
function counting(store: EventStore) {
  const read = new Map<string, number>();
  const counted: EventStore = {
    appendToStream: (...args) => store.appendToStream(...args),
    readAll: (options) => store.readAll(options),
    subscribeToAll: (options) => store.subscribeToAll(options),
    dispose: () => store.dispose(),
    async *readStream(streamName: string, options?: ReadStreamOptions) {
      for await (const resolved of store.readStream(streamName, options)) {
        read.set(streamName, (read.get(streamName) ?? 0) + 1);
        yield resolved;
      }
    },
  };
  return { store: counted, read };
}

async function recorded(store: EventStore, streamName: string): Promise<RecordedEvent[]> {
  const events: RecordedEvent[] = [];
  for await (const resolved of store.readStream(streamName)) if (resolved.event) events.push(resolved.event);
  return events;
}

const cases = [
  { name: 'key', stream: apiKeyStream(key.keyId), decider: apiKeyDecider, event: keyEvent as fc.Arbitrary<DomainEventShape> },
  { name: 'account', stream: accountStream('acct-1'), decider: accountDecider, event: accountEvent as fc.Arbitrary<DomainEventShape> },
] as const;

describe('Stream snapshots', () => {
  it.each(cases)('the $name state from a snapshot plus the events after it equals the fold of the whole stream (random histories of every event type)', async ({ stream, decider, event }) => {
    await fc.assert(
      fc.asyncProperty(fc.array(event, { minLength: 1, maxLength: 40 }), fc.nat(), async (events, cut) => {
        const memory = new SqliteEventStore(':memory:');
        try {
          await memory.appendToStream(stream, toChainedEventData(events, METADATA, null), { expectedRevision: ANY });
          const full = await aggregateStream(memory, stream, decider as never);
          const k = cut % events.length;
          const evolve = decider.evolve as (state: unknown, event: DomainEventShape) => unknown;
          const prefixState = events.slice(0, k + 1).reduce(evolve, decider.initialState());
          const at = (await recorded(memory, stream))[k] as RecordedEvent;
          await writeSnapshot(memory, stream, decider.evolve, { state: prefixState, revision: at.revision, eventId: at.id, lastLink: String(at.metadata?.['chainLink']) });
          const { store, read } = counting(memory);
          const fromSnapshot = await aggregateStream(store, stream, decider as never);
          expect(fromSnapshot).toEqual(full);
          expect(fromSnapshot.state).toEqual(events.reduce(evolve, decider.initialState()));
          // The snapshot was used: only the event it names and those after it were read.
          expect(read.get(stream)).toBe(events.length - k);
        } finally {
          await memory.dispose();
        }
      }),
      { seed: 13, numRuns: 150 },
    );
  });

  it('folds an account\'s events in one batch (evolveAll) exactly as one by one', () => {
    fc.assert(
      fc.property(fc.array(accountEvent, { maxLength: 40 }), fc.nat(), (events, cut) => {
        const k = events.length === 0 ? 0 : cut % events.length;
        const start = events.slice(0, k).reduce(accountDecider.evolve, accountDecider.initialState());
        const before = new Map(start.slots);
        expect(accountDecider.evolveAll?.(start, events.slice(k))).toEqual(events.reduce(accountDecider.evolve, accountDecider.initialState()));
        expect(start.slots).toEqual(before); // the state it started from is left as it was
      }),
      { seed: 13, numRuns: 300 },
    );
  });

  it('ignores a snapshot that is not of the stream\'s history, of another fold version, or that does not decode, and folds the whole stream', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keyhub-snapshots-'));
    // Each check opens the log afresh, as a restarted process would: nothing is remembered from the last one.
    const opened: SqliteEventStore[] = [];
    const fresh = () => {
      const store = new SqliteEventStore(join(dir, 'events.sqlite'));
      opened.push(store);
      return store;
    };
    try {
      const events: AccountEvent[] = ['k1', 'k2', 'k3'].map((keyId, i) => ({ type: 'AccountKeySlotReserved', data: { accountId: 'acct-1', keyId, occurredAt: at(i) } }));
      const writer = fresh();
      await writer.appendToStream(accountStream('acct-1'), toChainedEventData(events, METADATA, null), { expectedRevision: ANY });
      const full = await aggregateStream(writer, accountStream('acct-1'), accountDecider);
      expect([...full.state.slots.keys()]).toEqual(['k1', 'k2', 'k3']);
      const [first] = await recorded(writer, accountStream('acct-1'));
      await writeSnapshot(writer, accountStream('acct-1'), accountDecider.evolve, { state: { limit: 99, slots: new Map(), policy: NO_POLICY }, revision: 0n, eventId: (first as RecordedEvent).id, lastLink: null });
      const [written] = await recorded(writer, snapshotStream(accountStream('acct-1')));
      const good = (written as RecordedEvent).data as Record<string, unknown>;
      // The well-formed one is used (proof that the others are ignored, not just unused): its forged limit shows.
      expect((await aggregateStream(fresh(), accountStream('acct-1'), accountDecider)).state.limit).toBe(99);
      for (const bad of [
        { ...good, eventId: 'another-event' },
        { ...good, stream: accountStream('acct-2') },
        { ...good, format: `${String(good['format'])}-older` },
        { ...good, state: { limit: 'x', slots: 3 } },
        { ...good, revision: '-1' },
      ]) {
        await writer.appendToStream(snapshotStream(accountStream('acct-1')), jsonEvent({ type: 'StreamSnapshotTaken', data: bad as never }), { expectedRevision: ANY });
        expect(await aggregateStream(fresh(), accountStream('acct-1'), accountDecider)).toEqual(full);
      }
    } finally {
      await Promise.all(opened.map((store) => store.dispose()));
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps a command\'s reads flat: renames on a key with 1,000 events read at most SNAPSHOT_EVERY events each', async () => {
    const memory = new SqliteEventStore(':memory:');
    const { store, read } = counting(memory);
    const handler = commandHandler(store);
    const stream = apiKeyStream(key.keyId);
    await handler.handle(stream, apiKeyDecider, { type: 'CreateApiKey', data: { ...key, now: at(0), name: 'n0', description: null, region: 'us-east-1', scope: null, ipAllowlist: null, expiresAt: null, acceptTerms: true, fingerprint: { secretHash: 'h', maskedKey: 'sk-h' } } } as never, { metadata: METADATA, retriesOnConflict: 0 });
    let most = 0;
    for (let i = 1; i <= 1_000; i += 1) {
      read.clear();
      await handler.handle(stream, apiKeyDecider, { type: 'RenameApiKey', data: { ...key, now: at(i), name: `n${i}`, expectedVersion: null } } as never, { metadata: METADATA, retriesOnConflict: 0 });
      if (i > 200) most = Math.max(most, read.get(stream) ?? 0);
    }
    const { state, revision } = await aggregateStream(memory, stream, apiKeyDecider);
    expect(revision).toBe(1000n);
    expect(state).toMatchObject({ status: 'ACTIVE', key: { name: 'n1000', version: 1001 } });
    expect(most).toBeGreaterThan(0);
    expect(most).toBeLessThanOrEqual(SNAPSHOT_EVERY + 2);
    await memory.dispose();
  });

  it('remembers the latest snapshot in process (no read of its stream), except one too large for the budget', async () => {
    const memory = new SqliteEventStore(':memory:');
    const { store, read } = counting(memory);
    for (const [accountId, slots] of [['small', 3], ['huge', 200_001]] as const) {
      const stream = accountStream(accountId);
      const events: AccountEvent[] = [{ type: 'AccountKeyLimitSet', data: { accountId, limit: 5, occurredAt: at(0) } }];
      await memory.appendToStream(stream, toChainedEventData(events, METADATA, null), { expectedRevision: ANY });
      const [first] = await recorded(memory, stream);
      const state = { limit: 5, policy: NO_POLICY, slots: new Map(Array.from({ length: slots }, (_, i) => [`k${i}`, at(0)] as [string, string])) };
      await writeSnapshot(store, stream, accountDecider.evolve, { state, revision: 0n, eventId: (first as RecordedEvent).id, lastLink: null });
      read.clear();
      expect((await aggregateStream(store, stream, accountDecider)).state.slots.size).toBe(slots);
      expect(read.get(snapshotStream(stream)) ?? 0).toBe(accountId === 'small' ? 0 : 1);
    }
    await memory.dispose();
  });

  it('still answers a retried request as a replay when its events lie before the latest snapshot', async () => {
    const memory = new SqliteEventStore(':memory:');
    const idempotency = idempotencyOf('acct-1', 'retry-1', 'setAccountKeyLimit', { limit: 5 }, new Date());
    const keyed = { ...METADATA, idempotencyKey: idempotency.key, requestHash: idempotency.requestHash };
    const stream = accountStream('acct-1');
    await memory.appendToStream(stream, toChainedEventData([{ type: 'AccountKeyLimitSet', data: { accountId: 'acct-1', limit: 5, occurredAt: at(0) } }], keyed, null), { expectedRevision: ANY });
    const reservations: AccountEvent[] = Array.from({ length: SNAPSHOT_EVERY + 5 }, (_, i) => ({ type: 'AccountKeySlotReserved', data: { accountId: 'acct-1', keyId: `k${i}`, occurredAt: at(i) } }));
    await memory.appendToStream(stream, toChainedEventData(reservations, METADATA, null), { expectedRevision: ANY });
    await aggregateStream(memory, stream, accountDecider); // reads past SNAPSHOT_EVERY: leaves a snapshot behind
    // Written in the background: let the store's group commit run (a bounded number of turns).
    for (let turn = 0; turn < 100 && (await recorded(memory, snapshotStream(stream)).catch(() => [])).length === 0; turn += 1) await new Promise((resolve) => setImmediate(resolve));
    expect((await recorded(memory, snapshotStream(stream))).length).toBe(1);
    expect((await aggregateStream(memory, stream, accountDecider, idempotency)).replayed).toBe(true);
    const other = idempotencyOf('acct-1', 'retry-2', 'setAccountKeyLimit', { limit: 5 }, new Date());
    expect((await aggregateStream(memory, stream, accountDecider, other)).replayed).toBe(false);
    await memory.dispose();
  });
});
