import type { KeyLimitsInput } from '../src/domain/rules/limits';
import { randomBytes, randomUUID } from 'node:crypto';
import type { SqliteEventStore } from '../src/adapters/sqlite/sqliteEventStore';
import { NO_STREAM } from '../src/ports/eventStore';
import type { EventMetadata } from '../src/eventLog/streams';
import { EVENT_SCHEMA_VERSION, accountStream, apiKeyStream, toEventData } from '../src/eventLog/streams';
import type { AccountEvent, AccountState } from '../src/domain/account/account';
import { accountDecider } from '../src/domain/account/account';
import type { CreateApiKey } from '../src/domain/apiKey/commands';
import { apiKeyDecider } from '../src/domain/apiKey/decider';
import type { ApiKeyCreated } from '../src/domain/apiKey/events';
import { SECRET_RANDOM_BYTES, fingerprintOf, secretFromRandomBytes } from '../src/domain/secret';
import { toInstant } from '../src/domain/time';

/** What the load scenarios send, so that every seeded key passes every check. */
export const LOAD_REQUEST = { clientIp: '10.1.2.3', model: 'qwen-max', service: 'chat' } as const;
export const KEYS_PER_ACCOUNT = 100;
const BATCH_KEYS = 5_000;

export interface SeededKey {
  keyId: string;
  accountId: string;
  secret: string;
}

export interface SeedResult {
  keys: number;
  accounts: string[];
  events: number;
  /** Secrets of a sample of the keys, spread over all accounts (the plaintext exists only in the bench's memory). */
  sample: SeededKey[];
  /** What verification needs of every key, for the baseline: [hash, keyId, accountId, created event data]. */
  index: Array<[string, string, string, ApiKeyCreated['data']]>;
  ms: number;
}

const SEED_METADATA: EventMetadata = { actor: 'bench:seed', correlationId: 'bench-seed', causationId: 'bench-seed', schemaVersion: EVENT_SCHEMA_VERSION };

/** A varied mix: most keys unrestricted, some with an IP range, a model scope or an expiry; all admit LOAD_REQUEST. */
function createCommand(i: number, accountId: string, secret: string, now: string, limits: KeyLimitsInput | null): CreateApiKey {
  return {
    type: 'CreateApiKey',
    data: {
      keyId: randomUUID(),
      accountId,
      now,
      name: `bench key ${i}`,
      description: i % 3 === 0 ? 'seeded by npm run bench' : null,
      region: i % 2 === 0 ? 'us-east-1' : 'eu-west-1',
      scope: i % 10 === 1 ? { mode: 'RESTRICTED', models: ['qwen-max', 'qwen-plus'], services: ['chat'] } : null,
      ipAllowlist: i % 10 === 2 ? ['10.0.0.0/8', '192.168.0.0/16'] : null,
      expiresAt: i % 10 === 3 ? '2099-01-01T00:00:00.000Z' : null,
      acceptTerms: true,
      fingerprint: fingerprintOf(secret),
      limits,
    },
  };
}

/**
 * Seeds keys by appending the very events `createApiKey` appends (built by the domain's `decide`
 * from a `CreateApiKey` command with a real secret, and the account's slot reservations built by
 * `decideAccount`), straight into the store: going through the GraphQL API would take hours for
 * a million keys. Appends of one batch are issued together, so the store's group commit writes
 * them in one transaction.
 */
export async function seedKeys(
  store: SqliteEventStore,
  /** `limits`: given to every key (the limits scenario). */
  options: { keys: number; sampleSize: number; keepIndex: boolean; onProgress?: (done: number) => void; limits?: KeyLimitsInput },
): Promise<SeedResult> {
  const started = Date.now();
  const accountCount = Math.max(1, Math.ceil(options.keys / KEYS_PER_ACCOUNT));
  const accounts = Array.from({ length: accountCount }, (_, i) => `bench-account-${i}`);
  const sampleEvery = Math.max(1, Math.floor(options.keys / Math.max(1, options.sampleSize)));
  const result: SeedResult = { keys: options.keys, accounts, events: 0, sample: [], index: [], ms: 0 };
  const now = toInstant(new Date());
  let created = 0;

  while (created < options.keys) {
    const batchSize = Math.min(BATCH_KEYS, options.keys - created);
    const entropy = randomBytes(batchSize * SECRET_RANDOM_BYTES);
    const appends: Array<Promise<unknown>> = [];
    const reservations = new Map<string, string[]>();
    for (let j = 0; j < batchSize; j += 1) {
      const i = created + j;
      const accountId = accounts[Math.floor(i / KEYS_PER_ACCOUNT)] as string;
      const secret = secretFromRandomBytes(entropy.subarray(j * SECRET_RANDOM_BYTES, (j + 1) * SECRET_RANDOM_BYTES));
      const command = createCommand(i, accountId, secret, now, options.limits ?? null);
      const events = apiKeyDecider.decide(command, apiKeyDecider.initialState());
      appends.push(store.appendToStream(apiKeyStream(command.data.keyId), events.map((event) => toEventData(event, SEED_METADATA)), { expectedRevision: NO_STREAM }));
      result.events += events.length;
      const slots = reservations.get(accountId) ?? [];
      slots.push(command.data.keyId);
      reservations.set(accountId, slots);
      if (i % sampleEvery === 0 && result.sample.length < options.sampleSize) result.sample.push({ keyId: command.data.keyId, accountId, secret });
      if (options.keepIndex) {
        const data = (events[0] as ApiKeyCreated).data;
        result.index.push([data.secretHash, command.data.keyId, accountId, data]);
      }
    }
    for (const [accountId, keyIds] of reservations) appends.push(reserveSlots(store, accountId, keyIds, now).then((count) => (result.events += count)));
    await Promise.all(appends);
    created += batchSize;
    options.onProgress?.(created);
  }
  result.ms = Date.now() - started;
  return result;
}

const accountStates = new WeakMap<SqliteEventStore, Map<string, { state: AccountState; revision: bigint | null }>>();

/** The account's slot reservations (and a limit that fits them), decided by the account's own decider. */
async function reserveSlots(store: SqliteEventStore, accountId: string, keyIds: string[], now: string): Promise<number> {
  const known = accountStates.get(store) ?? new Map();
  accountStates.set(store, known);
  let { state, revision } = known.get(accountId) ?? { state: accountDecider.initialState(), revision: null };
  const events: AccountEvent[] = [];
  const decideAndFold = (command: Parameters<typeof accountDecider.decide>[0]) => {
    for (const event of accountDecider.decide(command, state)) {
      events.push(event);
      state = accountDecider.evolve(state, event);
    }
  };
  if (state.limit === null) decideAndFold({ type: 'SetAccountKeyLimit', data: { accountId, limit: 10_000, now } });
  for (const keyId of keyIds) decideAndFold({ type: 'ReserveKeySlot', data: { accountId, keyId, now, defaultLimit: 10_000 } });
  const appended = await store.appendToStream(accountStream(accountId), events.map((event) => toEventData(event, SEED_METADATA)), {
    expectedRevision: revision ?? NO_STREAM,
  });
  revision = appended.nextExpectedRevision;
  known.set(accountId, { state, revision });
  return events.length;
}
