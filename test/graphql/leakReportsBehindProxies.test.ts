import { Writable } from 'node:stream';
import pino from 'pino';
import { SqliteEventStore } from '../../src/adapters/sqlite/sqliteEventStore';
import type { EventStore } from '../../src/ports/eventStore';
import type { Keyhub } from '../../src/compositionRoot';
import { startKeyhub } from '../../src/compositionRoot';
import { loadConfig } from '../../src/config';
import { TEST_JWT_SECRET } from '../support/keyhubProcess';
import { inProcessEngines } from '../adapters/serviceHarness';
import { errorOf, gql } from '../support/graphqlClient';
import { REPORT_LEAK, VERIFY_WITH_DEADLINE } from '../support/keyCareOperations';
import { CREATE } from '../support/operations';

/** An anonymous report as a scanner sends it, with the X-Forwarded-For it chooses. */
async function report(url: string, secret: string, forwardedFor: string) {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-forwarded-for': forwardedFor }, body: JSON.stringify({ query: REPORT_LEAK, variables: { secret } }) });
  return (await response.json()) as { data?: { reportLeakedKey: { received: boolean } } | null; errors?: Array<{ message: string; extensions?: { code?: string } }> };
}

describe('Leak reports behind TRUST_PROXY=true (every hop believed)', () => {
  const inner = new SqliteEventStore(':memory:');
  let failAppends = false;
  // The log, failing appends on demand with an error nothing expects (not the store's "unavailable").
  const store = new Proxy(inner, {
    get(target, property, receiver) {
      if (property === 'appendToStream' && failAppends) return () => Promise.reject(new Error('SQLITE_IOERR: disk I/O error'));
      const value = Reflect.get(target, property, receiver) as unknown;
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  }) as EventStore;
  const lines: Array<Record<string, unknown>> = [];
  let keyhub: Keyhub;
  let owner: string;
  let gateway: string;

  beforeAll(async () => {
    const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', JWT_SECRET: TEST_JWT_SECRET, DATA_DIR: '/nonexistent-never-written', LOG_LEVEL: 'info', TRUST_PROXY: 'true', LEAK_REPORTS_PER_MINUTE: '2', LEAK_REPORTS_PER_MINUTE_TOTAL: '5' });
    const logger = pino({ level: 'info' }, new Writable({ write: (chunk, _encoding, done) => (lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>), done()) }));
    keyhub = await startKeyhub(config, logger, inProcessEngines(store, inner));
    owner = await keyhub.jwt.sign({ sub: 'alice', account: 'acct-leaks', roles: [] });
    gateway = await keyhub.jwt.sign({ sub: 'gw', roles: ['gateway'] });
  });
  afterAll(async () => keyhub.stop());

  const liveSecret = async () => (await gql(keyhub.url, owner, CREATE, { input: { name: 'leaky', acceptTerms: true } })).data.createApiKey.secret as string;

  it('answers a report that could not be recorded with SERVICE_UNAVAILABLE and logs it with its request id; the key stays live, and a retry disables it', async () => {
    const secret = await liveSecret();
    failAppends = true;
    const failed = await report(keyhub.url, secret, '192.0.2.1');
    failAppends = false;
    expect(errorOf({ status: 200, ...failed })).toEqual({ code: 'SERVICE_UNAVAILABLE', field: undefined });
    const logged = lines.filter((line) => line['msg'] === 'a leak report could not be recorded; the reporter was answered SERVICE_UNAVAILABLE to retry');
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({ requestId: expect.any(String), err: { message: 'SQLITE_IOERR: disk I/O error' } });
    expect((await gql(keyhub.url, gateway, VERIFY_WITH_DEADLINE, { key: secret })).data.verifyApiKey.valid).toBe(true);
    expect((await report(keyhub.url, secret, '192.0.2.1')).data?.reportLeakedKey.received).toBe(true);
    expect((await gql(keyhub.url, gateway, VERIFY_WITH_DEADLINE, { key: secret })).data.verifyApiKey).toMatchObject({ valid: false, reason: 'DISABLED' });
  });

  it('holds a client that forges a new X-Forwarded-For for every report to the total ceiling', async () => {
    const secret = await liveSecret();
    // Two reports were counted above; the total is 5 a minute.
    const answers = [];
    for (let i = 1; i <= 6; i += 1) answers.push(await report(keyhub.url, secret, `2001:db8:${i}::1`));
    expect(answers.filter((answer) => answer.data?.reportLeakedKey.received)).toHaveLength(3);
    expect(answers.slice(3).map((answer) => answer.errors?.[0]?.message)).toEqual(Array(3).fill(expect.stringMatching(/from all addresses together/)));
  });
});
