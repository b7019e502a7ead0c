import { randomBytes, randomUUID } from 'node:crypto';
import { InProcessDatabase } from '../../src/adapters/inProcess/inProcessDatabase';
import { SqliteEventStore } from '../../src/adapters/sqlite/sqliteEventStore';
import type { Caller } from '../../src/application/caller';
import { composeKeyhub } from '../../src/compositionRoot';
import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/logger';
import type { Collection, Database, Document } from '../../src/ports/collection';
import { until } from '../support/apiHelpers';

/** The in-process read model, whose projection writes can be held (a stalled MongoDB) and let go. */
function stallableReadModel() {
  const inner = new InProcessDatabase();
  let held: Promise<void> | null = null;
  let release = () => undefined as void;
  const database: Database = {
    collection: <T extends Document>(name: string): Collection<T> =>
      new Proxy(inner.collection<T>(name), {
        get: (target, property, receiver) =>
          property === 'bulkWrite'
            ? async (...args: Parameters<Collection<T>['bulkWrite']>) => {
                if (held) await held;
                return target.bulkWrite(...args);
              }
            : Reflect.get(target, property, receiver),
      }),
    dropDatabase: () => inner.dropDatabase(),
  };
  return {
    database,
    stall: () => void (held = new Promise<void>((resolve) => (release = () => ((held = null), resolve())))),
    resume: () => release(),
  };
}

/** The service as composed, on a log in memory, with a short read-your-writes wait (the test's clock for the timeout). */
async function service() {
  const store = new SqliteEventStore(':memory:');
  const readModel = stallableReadModel();
  const core = composeKeyhub({ store, readModel: readModel.database }, loadConfig({}), createLogger('silent'), {
    clock: () => new Date(),
    newId: randomUUID,
    randomBytes,
    readYourWritesTimeoutMs: 20,
  });
  await core.runner.start();
  await core.runner.caughtUp;
  return {
    ...core.services,
    readModel,
    runner: core.runner,
    stop: async () => {
      readModel.resume();
      await core.runner.stop();
      await store.dispose();
    },
  };
}

const caller = (): Caller => ({ sub: 'alice', accountId: `acct-${randomUUID()}`, roles: [], requestId: randomUUID() });

describe('A revocation while the projection is stalled', () => {
  const revocations: Array<[string, (s: Awaited<ReturnType<typeof service>>, alice: Caller, id: string, secret: string) => Promise<unknown>]> = [
    ['setKeyStatus DISABLED', (s, alice, id) => s.commands.setStatus(alice, id, 'DISABLED')],
    ['deleteApiKey', (s, alice, id) => s.commands.delete(alice, id)],
    ['rotateApiKey with no grace period', (s, alice, id) => s.commands.rotate(alice, id, 0)],
    ['a leak report', (s, _alice, _id, secret) => s.commands.reportLeak(secret, randomUUID())],
  ];

  it.each(revocations)('%s returns only once this instance\'s verification cache forgot the key, and the cache does not learn it again before the projection applies it', async (_name, revoke) => {
    const s = await service();
    try {
      const alice = caller();
      const { apiKey, secret } = await s.commands.create(alice, { name: 'to be revoked', acceptTerms: true });
      expect((await s.verifier.verify(secret, {})).valid).toBe(true);
      expect(s.verifier.verifyNow(secret, {})).toMatchObject({ valid: true }); // answered from the cache, in this turn (not a promise)

      s.readModel.stall();
      await revoke(s, alice, apiKey.id, secret); // the wait for the projection times out: the mutation returns anyway (its write is acknowledged)
      expect(s.verifier.verifyNow(secret, {})).toBeInstanceOf(Promise); // not from the cache: it forgot the key
      await s.verifier.verify(secret, {}); // a lookup meanwhile reads the read model from before the change…
      expect(s.verifier.verifyNow(secret, {})).toBeInstanceOf(Promise); // …and is not cached

      s.readModel.resume(); // the projection applies the change: the key is refused from now on
      await until(async () => !(await s.verifier.verify(secret, {})).valid);
    } finally {
      await s.stop();
    }
  });
});
