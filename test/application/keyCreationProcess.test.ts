import { randomUUID } from 'node:crypto';
import { SqliteEventStore } from '../../src/adapters/sqlite/sqliteEventStore';
import { commandHandler } from '../../src/application/commandHandler';
import { KeyCreationProcess, ORPHANED_SLOT_MS } from '../../src/application/keyCreationProcess';
import type { AccountEvent } from '../../src/domain/account/account';
import type { CreateApiKey } from '../../src/domain/apiKey/commands';
import type { ApiKeyEvent } from '../../src/domain/apiKey/events';
import { DomainError } from '../../src/domain/errors';
import { fingerprintOf, secretFromRandomBytes, SECRET_RANDOM_BYTES } from '../../src/domain/secret';
import type { EventMetadata } from '../../src/eventLog/streams';
import { EVENT_SCHEMA_VERSION, accountStream, apiKeyStream, toChainedEventData } from '../../src/eventLog/streams';
import type { EventStore } from '../../src/ports/eventStore';
import { ANY, StreamNotFoundError } from '../../src/ports/eventStore';
import { apiKeyCreated } from '../support/eventFixtures';

type StreamEvent = AccountEvent | ApiKeyEvent;

const METADATA: EventMetadata = { actor: 'alice', correlationId: 'req-1', causationId: 'req-1', schemaVersion: EVENT_SCHEMA_VERSION };
const T0 = Date.parse('2026-11-25T08:00:00.000Z');
const at = (ms: number) => new Date(T0 + ms).toISOString();

/**
 * Given streams / when a key is created (or its slot released) / then the streams hold these
 * events, or the creation fails with this code and the streams hold these events. On the embedded
 * store in memory, with the clock in the test's hand.
 */
function keyCreation(options: { defaultKeyLimit?: number; failAppendsTo?: (stream: string) => boolean } = {}) {
  const sqlite = new SqliteEventStore(':memory:');
  const store: EventStore = options.failAppendsTo
    ? {

        readStream: (...args) => sqlite.readStream(...args),
        readAll: (...args) => sqlite.readAll(...args),
        subscribeToAll: (...args) => sqlite.subscribeToAll(...args),
        dispose: () => sqlite.dispose(),
        appendToStream: (stream, ...rest) => (options.failAppendsTo?.(stream) ? Promise.reject(new Error(`append to ${stream} failed`)) : sqlite.appendToStream(stream, ...rest)),
      }
    : sqlite;
  let nowMs = T0;
  const process = new KeyCreationProcess(commandHandler(store), { defaultKeyLimit: options.defaultKeyLimit ?? 2, clock: () => new Date(nowMs) });
  const eventsOf = async (stream: string): Promise<StreamEvent[]> => {
    const events: StreamEvent[] = [];
    try {
      for await (const resolved of sqlite.readStream(stream)) if (resolved.event) events.push({ type: resolved.event.type, data: resolved.event.data } as unknown as StreamEvent);
    } catch (error) {
      if (!(error instanceof StreamNotFoundError)) throw error;
    }
    return events;
  };
  return {
    async given(streams: Record<string, StreamEvent[]>) {
      for (const [stream, events] of Object.entries(streams)) await sqlite.appendToStream(stream, toChainedEventData(events, METADATA, null), { expectedRevision: ANY });
      return this;
    },
    /** Moves the clock to `ms` after T0. */
    at(ms: number) {
      nowMs = T0 + ms;
      return this;
    },
    when: (action: (process: KeyCreationProcess) => Promise<unknown>) => {
      const outcome = action(process).then(
        () => null,
        (error: unknown) => error,
      );
      return {
        async then(expected: Record<string, StreamEvent[]>) {
          const error = await outcome;
          if (error) throw error;
          for (const [stream, events] of Object.entries(expected)) expect(await eventsOf(stream)).toEqual(events);
          await sqlite.dispose();
        },
        async thenFails(code: DomainError['code'] | 'Error', expected: Record<string, StreamEvent[]>) {
          const error = await outcome;
          if (code === 'Error') expect(error).toBeInstanceOf(Error);
          else {
            expect(error).toBeInstanceOf(DomainError);
            expect((error as DomainError).code).toBe(code);
          }
          for (const [stream, events] of Object.entries(expected)) expect(await eventsOf(stream)).toEqual(events);
          await sqlite.dispose();
        },
      };
    },
  };
}

const accountId = 'acct-1';
const reserved = (keyId: string, ms = 0): AccountEvent => ({ type: 'AccountKeySlotReserved', data: { accountId, keyId, occurredAt: at(ms) } });
const released = (keyId: string, ms = 0): AccountEvent => ({ type: 'AccountKeySlotReleased', data: { accountId, keyId, occurredAt: at(ms) } });
const created = (keyId: string, ms = 0, owner = accountId) => apiKeyCreated({ keyId, accountId: owner, occurredAt: at(ms), secretHash: fingerprint.secretHash, maskedKey: fingerprint.maskedKey });
const deleted = (keyId: string, ms = 0): ApiKeyEvent => ({ type: 'ApiKeyDeleted', data: { keyId, accountId, occurredAt: at(ms) } });
const fingerprint = fingerprintOf(secretFromRandomBytes(Buffer.alloc(SECRET_RANDOM_BYTES, 7)));
const create = (keyId: string, ms = 0, overrides: Partial<CreateApiKey['data']> = {}): CreateApiKey => ({
  type: 'CreateApiKey',
  data: { keyId, accountId, now: at(ms), expectedVersion: null, name: 'prod backend', region: 'us-east-1', acceptTerms: true, fingerprint, ...overrides },
});
const newKey = () => `key-${randomUUID()}`;

describe('KeyCreationProcess', () => {
  describe('when the account has a free slot', () => {
    it('should reserve a slot in the account stream, then create the key in its own stream', async () => {
      const k = newKey();
      await keyCreation()
        .when((process) => process.create(create(k), METADATA))
        .then({ [accountStream(accountId)]: [reserved(k)], [apiKeyStream(k)]: [created(k)] });
    });

    it('should take no slot when the input is bad', async () => {
      const k = newKey();
      await keyCreation()
        .when((process) => process.create(create(k, 0, { acceptTerms: false }), METADATA))
        .thenFails('BAD_USER_INPUT', { [accountStream(accountId)]: [], [apiKeyStream(k)]: [] });
    });
  });

  describe('when a key with the id already exists', () => {
    it("should refuse with CONFLICT (decide's guard) and give back the slot it took", async () => {
      const k = newKey();
      const spec = await keyCreation().given({ [apiKeyStream(k)]: [created(k, 0, 'acct-other')] });
      await spec
        .at(1000)
        .when((process) => process.create(create(k, 1000), METADATA))
        .thenFails('CONFLICT', { [accountStream(accountId)]: [reserved(k, 1000), released(k, 1000)], [apiKeyStream(k)]: [created(k, 0, 'acct-other')] });
    });

    it('should leave the existing key its slot', async () => {
      const k = newKey();
      const spec = await keyCreation().given({ [accountStream(accountId)]: [reserved(k)], [apiKeyStream(k)]: [created(k)] });
      await spec.when((process) => process.create(create(k, 1000), METADATA)).thenFails('CONFLICT', { [accountStream(accountId)]: [reserved(k)], [apiKeyStream(k)]: [created(k)] });
    });
  });

  describe('when the key stream cannot be written', () => {
    it('should release the slot again (compensation) and report the failure', async () => {
      const k = newKey();
      await keyCreation({ failAppendsTo: (stream) => stream === apiKeyStream(k) })
        .when((process) => process.create(create(k), METADATA))
        .thenFails('Error', { [accountStream(accountId)]: [reserved(k), released(k)], [apiKeyStream(k)]: [] });
    });
  });

  describe('when the account is at its limit', () => {
    it('should refuse with QUOTA_EXCEEDED while every slot is held by a live key', async () => {
      const [k1, k2, k3] = [newKey(), newKey(), newKey()];
      const spec = await keyCreation({ defaultKeyLimit: 2 }).given({
        [accountStream(accountId)]: [reserved(k1), reserved(k2)],
        [apiKeyStream(k1)]: [created(k1)],
        [apiKeyStream(k2)]: [created(k2)],
      });
      await spec
        .at(10 * ORPHANED_SLOT_MS)
        .when((process) => process.create(create(k3, 10 * ORPHANED_SLOT_MS), METADATA))
        .thenFails('QUOTA_EXCEEDED', { [accountStream(accountId)]: [reserved(k1), reserved(k2)], [apiKeyStream(k3)]: [] });
    });

    it("should reclaim a deleted key's slot (a crash between deletion and release) and create the key", async () => {
      const [k1, k2] = [newKey(), newKey()];
      const spec = await keyCreation({ defaultKeyLimit: 1 }).given({ [accountStream(accountId)]: [reserved(k1)], [apiKeyStream(k1)]: [created(k1), deleted(k1, 500)] });
      await spec
        .at(1000)
        .when((process) => process.create(create(k2, 1000), METADATA))
        .then({ [accountStream(accountId)]: [reserved(k1), released(k1, 1000), reserved(k2, 1000)], [apiKeyStream(k2)]: [created(k2, 1000)] });
    });

    it('should reclaim a slot whose key never appeared once it is older than 60 seconds (a crashed create)', async () => {
      const [orphan, k2] = [newKey(), newKey()];
      const later = ORPHANED_SLOT_MS + 1;
      const spec = await keyCreation({ defaultKeyLimit: 1 }).given({ [accountStream(accountId)]: [reserved(orphan)] });
      await spec
        .at(later)
        .when((process) => process.create(create(k2, later), METADATA))
        .then({ [accountStream(accountId)]: [reserved(orphan), released(orphan, later), reserved(k2, later)], [apiKeyStream(k2)]: [created(k2, later)] });
    });

    it('should keep a slot whose key never appeared while it is 60 seconds old or younger (its create may be in flight)', async () => {
      const [inFlight, k2] = [newKey(), newKey()];
      const spec = await keyCreation({ defaultKeyLimit: 1 }).given({ [accountStream(accountId)]: [reserved(inFlight)] });
      await spec
        .at(ORPHANED_SLOT_MS)
        .when((process) => process.create(create(k2, ORPHANED_SLOT_MS), METADATA))
        .thenFails('QUOTA_EXCEEDED', { [accountStream(accountId)]: [reserved(inFlight)], [apiKeyStream(k2)]: [] });
    });
  });

  describe('when a deleted key releases its slot', () => {
    it('should release it once; releasing a free slot writes nothing', async () => {
      const k = newKey();
      const spec = await keyCreation().given({ [accountStream(accountId)]: [reserved(k)], [apiKeyStream(k)]: [created(k), deleted(k, 500)] });
      await spec
        .at(1000)
        .when(async (process) => {
          expect(await process.release(accountId, k, METADATA)).not.toBeNull();
          expect(await process.release(accountId, k, METADATA)).toBeNull();
        })
        .then({ [accountStream(accountId)]: [reserved(k), released(k, 1000)] });
    });
  });
});
