import { EventStoreDbStore } from '../../src/adapters/eventstoredb/eventStoreDbStore';
import { InProcessDatabase } from '../../src/adapters/inProcess/inProcessDatabase';
import { MongoReadModel } from '../../src/adapters/mongodb/mongoReadModel';
import { SqliteEventStore } from '../../src/adapters/sqlite/sqliteEventStore';
import { ReadModelUnavailableError } from '../../src/ports/collection';
import { EventStoreUnavailableError } from '../../src/ports/eventStore';
import { openEngines } from '../../src/engines';
import { loadConfig } from '../../src/config';
import { freshDataDir, startKeyhubProcess } from '../support/keyhubProcess';
import { closedPort } from './serviceHarness';


describe('Engine selection by configuration alone', () => {
  const configWith = (env: Record<string, string>) => loadConfig({ DATA_DIR: freshDataDir(), ...env });

  it('uses the embedded log and the in-process read model when no engine URL is set', async () => {
    const engines = await openEngines(configWith({}));
    try {
      expect(engines.store).toBeInstanceOf(SqliteEventStore);
      expect(engines.readModel).toBeInstanceOf(InProcessDatabase);
      expect(engines.external).toBe(false);
      expect(engines.names.eventStore).toMatch(/^embedded SQLite log \(.*events\.sqlite\)$/);
      await expect(engines.probe()).resolves.toBeUndefined();
    } finally {
      await engines.close();
    }
  });

  it('uses EventStoreDB with EVENTSTORE_URL and MongoDB with MONGODB_URL, each alone or both, and names them without passwords', async () => {
    const esdb = `esdb://admin:changeit@127.0.0.1:${await closedPort()}?tls=false`;
    const mongo = `mongodb://keyhub:hunter2@127.0.0.1:${await closedPort()}/?directConnection=true&serverSelectionTimeoutMS=300`;
    const cases = [
      [{ EVENTSTORE_URL: esdb }, EventStoreDbStore, InProcessDatabase],
      [{ MONGODB_URL: mongo, MONGODB_DB: 'tenant_a' }, SqliteEventStore, MongoReadModel],
      [{ EVENTSTORE_URL: esdb, MONGODB_URL: mongo }, EventStoreDbStore, MongoReadModel],
    ] as const;
    for (const [env, store, readModel] of cases) {
      const engines = await openEngines(configWith(env));
      try {
        expect(engines.store).toBeInstanceOf(store);
        expect(engines.readModel).toBeInstanceOf(readModel);
        expect(engines.external).toBe(true);
        const names = `${engines.names.eventStore} ${engines.names.readModel}`;
        expect(names).not.toMatch(/changeit|hunter2/);
        if ('EVENTSTORE_URL' in env) expect(engines.names.eventStore).toMatch(/^EventStoreDB \(esdb:\/\/admin:\*\*\*@127\.0\.0\.1/);
        if ('MONGODB_DB' in env) expect(engines.names.readModel).toMatch(/^MongoDB \(mongodb:\/\/keyhub:\*\*\*@.*database tenant_a\)$/);
        // Neither server is there: the probe names the one that fails first, as the retryable error.
        const error = await engines.probe().then(() => null, (thrown: unknown) => thrown);
        expect(error).toBeInstanceOf('EVENTSTORE_URL' in env ? EventStoreUnavailableError : ReadModelUnavailableError);
      } finally {
        await engines.close();
      }
    }
  });

  it('starts the built service on engines that are down: it listens, names them, answers 503 and retries until stopped', async () => {
    const keyhub = await startKeyhubProcess({
      env: { EVENTSTORE_URL: `esdb://127.0.0.1:${await closedPort()}?tls=false`, MONGODB_URL: `mongodb://127.0.0.1:${await closedPort()}/?directConnection=true` },
    });
    try {
      expect(keyhub.output()).toMatch(/keyhub listening on http:\/\/127\.0\.0\.1:\d+\/graphql \(event store: EventStoreDB \(esdb:\/\/127\.0\.0\.1:\d+\?tls=false\); read model: MongoDB \(mongodb:\/\/127\.0\.0\.1:\d+\/\?directConnection=true, database keyhub\)\); not ready until the engines answer/);
      const readyz = await fetch(`${keyhub.baseUrl}/readyz`);
      expect(readyz.status).toBe(503);
      expect((await fetch(`${keyhub.baseUrl}/healthz`)).status).toBe(200);
      const deadline = Date.now() + 5000;
      while (!/cannot reach the engines \(EventStoreDB is unavailable/.test(keyhub.output()) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
      expect(keyhub.output()).toMatch(/cannot reach the engines \(EventStoreDB is unavailable[^)]*\); \/readyz answers 503, retrying in 0\.5 s/);
    } finally {
      expect(await keyhub.stop()).toBe(0);
    }
  });
});
