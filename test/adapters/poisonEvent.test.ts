import { join } from 'node:path';
import Database from 'better-sqlite3';
import pino from 'pino';
import { SqliteEventStore } from '../../src/adapters/sqlite/sqliteEventStore';
import type { Keyhub } from '../../src/compositionRoot';
import { startKeyhub } from '../../src/compositionRoot';
import { freshDataDir } from '../support/keyhubProcess';
import { gql } from '../support/graphqlClient';
import { inProcessConfig as config, inProcessEngines } from './serviceHarness';

const CREATE = 'mutation($name: String!) { createApiKey(input: { name: $name, acceptTerms: true }) { apiKey { id } } }';

describe('A log with an event that cannot be decoded', () => {
  let keyhub: Keyhub | null = null;
  afterEach(async () => keyhub?.stop());

  it('starts listening and says on /readyz where the projection stopped, instead of retrying for ever', async () => {
    const file = join(freshDataDir(), 'events.sqlite');
    const writer = new SqliteEventStore(file);
    await writer.dispose();
    // Keys created by an earlier run, then a row another writer damaged.
    const first = await startKeyhub(config, pino({ level: 'silent' }), inProcessEngines(new SqliteEventStore(file)));
    const token = await first.jwt.sign({ sub: 'alice', account: 'acct-poison', roles: ['admin'] });
    expect((await gql(first.url, token, CREATE, { name: 'before' })).data?.createApiKey.apiKey.id).toBeDefined();
    await first.stop();
    const other = new Database(file);
    const position = Number(
      other.prepare("INSERT INTO events (stream, revision, id, type, data, metadata, created) VALUES ('apiKey-damaged', 0, 'poison', 'ApiKeyCreated', '{\"keyId\":', NULL, 0)").run().lastInsertRowid,
    );
    other.close();

    keyhub = await startKeyhub(config, pino({ level: 'silent' }), inProcessEngines(new SqliteEventStore(file)));
    const readyz = await fetch(keyhub.url.replace(/\/graphql$/, '/readyz'));
    expect(readyz.status).toBe(503);
    const body = (await readyz.json()) as { ready: boolean; problems: unknown[] };
    expect(body.ready).toBe(false);
    expect(body.problems).toEqual([{ component: 'projection', code: 'PROJECTION_STOPPED', position: String(position), message: expect.stringContaining(`position ${position}`), blocking: true }]);
  });
});
