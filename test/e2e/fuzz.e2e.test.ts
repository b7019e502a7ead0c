import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import type { GraphQLArgument, GraphQLField, GraphQLInputType, GraphQLNamedType, GraphQLOutputType } from 'graphql';
import { buildSchema, getNamedType, isEnumType, isInputObjectType, isLeafType, isListType, isNonNullType, isObjectType, isScalarType } from 'graphql';
import type { KeyhubProcess } from '../support/keyhubProcess';
import { startKeyhubProcess } from '../support/keyhubProcess';
import { tokenFor } from '../support/graphqlClient';

/**
 * Every argument of every query and mutation, generated from schema.graphql, with random and
 * hostile values (huge and malformed strings, every kind of Unicode trouble, out-of-range numbers,
 * huge lists, nulls, bad dates and cursors, other tenants' ids). Whatever arrives, keyhub answers a
 * coded error or a valid answer: never a 5xx, a masked INTERNAL_SERVER_ERROR, a hang or a dead
 * process; and a mutation that was refused left the log as it was. The seed is fixed so that a
 * failure reproduces; FUZZ_SEED=<n> explores others.
 */
const schema = buildSchema(readFileSync(join(__dirname, '..', '..', 'schema.graphql'), 'utf8'));
const RUNS = 400;

const HOSTILE_STRINGS = [
  '', ' ', '  a  ', 'x'.repeat(70_000), '租户-42', '生产 密钥', '\u0000', 'a\u0000b', '\ud800', 'a\udc00b', 'pay\u202Eevil', 'zero\u200Bwidth', '\r\nx-injected: 1',
  '%E7%A7%9F', '../../etc/passwd', '{"$gt":""}', '$where', 'null', 'undefined', '0-0', '1-1', '-1--1', '99999999999999999999999-0', '18446744073709551616-0',
  '10.0.0.0/8', '::1', '0.0.0.0/0', '999.1.1.1/99', 'qwen-*', '*', 'sk-', 'sk-' + 'A'.repeat(60), '2026-12-02T00:00:00.000Z', '0000-00-00', '9999-12-31T23:59:59Z',
  '\u{1F600}'.repeat(40), 'ー'.repeat(65), '<script>alert(1)</script>',
];
const hostileString = fc.oneof(fc.constantFrom(...HOSTILE_STRINGS), fc.string({ maxLength: 80 }), fc.string({ unit: 'binary', maxLength: 80 }));
const hostileInt = fc.oneof(fc.constantFrom(0, -1, 1, 2, 20, 50, 100, 101, 2_592_000, 2_592_001, 2 ** 31 - 1, -(2 ** 31)), fc.integer());
const hostileDate = fc.oneof(
  fc.constantFrom('2026-13-45T00:00:00Z', 'not a date', '', '1970-01-01T00:00:00Z', '+275760-09-13T00:00:00.000Z', '2026-12-02', '2026-12-02T00:00:00+25:00'),
  fc.date({ min: new Date('1900-01-01'), max: new Date('2200-01-01'), noInvalidDate: true }).map((date) => date.toISOString()),
);

/** Values for one input type; ids come from the keys the test created (so commands reach the deciders) or anywhere else. */
function valueOf(type: GraphQLInputType, ids: readonly string[], depth = 0): fc.Arbitrary<unknown> {
  if (isNonNullType(type)) return fc.oneof({ weight: 1, arbitrary: fc.constant(null) }, { weight: 12, arbitrary: valueOf(type.ofType, ids, depth) });
  const nullable = <T>(arbitrary: fc.Arbitrary<T>) => fc.oneof({ weight: 1, arbitrary: fc.constant(null) }, { weight: 6, arbitrary });
  if (isListType(type)) {
    const element = valueOf(type.ofType, ids, depth + 1);
    return nullable(fc.oneof({ weight: 8, arbitrary: fc.array(element, { maxLength: 8 }) }, { weight: 1, arbitrary: fc.array(element, { minLength: 200, maxLength: 5_000 }) }));
  }
  if (isEnumType(type)) return nullable(fc.oneof({ weight: 8, arbitrary: fc.constantFrom(...type.getValues().map((value) => value.name)) }, { weight: 1, arbitrary: hostileString }));
  if (isInputObjectType(type)) {
    if (depth > 3) return fc.constant(null);
    const fields = Object.values(type.getFields());
    return nullable(fc.record(Object.fromEntries(fields.map((field) => [field.name, valueOf(field.type, ids, depth + 1)])), { requiredKeys: [] }));
  }
  if (isScalarType(type)) {
    switch (type.name) {
      case 'Int':
        return nullable(fc.oneof({ weight: 8, arbitrary: hostileInt }, { weight: 1, arbitrary: hostileString }));
      case 'Boolean':
        return nullable(fc.oneof({ weight: 8, arbitrary: fc.boolean() }, { weight: 1, arbitrary: hostileInt }));
      case 'ID':
        return nullable(fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...ids) }, { weight: 2, arbitrary: fc.uuid() }, { weight: 2, arbitrary: hostileString }));
      case 'DateTime':
        return nullable(hostileDate);
      default:
        return nullable(hostileString);
    }
  }
  return fc.constant(null);
}

/** Every leaf of the return type, and the leaves of the objects it holds (two levels). */
function selectionOf(type: GraphQLOutputType, depth = 0): string {
  const named: GraphQLNamedType = getNamedType(type);
  if (isLeafType(named)) return '';
  if (!isObjectType(named) || depth > 2) return '{ __typename }';
  const fields = Object.values(named.getFields()).filter((field) => field.args.every((arg) => !isNonNullType(arg.type)));
  const parts = fields.map((field) => {
    if (isLeafType(getNamedType(field.type))) return field.name;
    return depth < 2 ? `${field.name} ${selectionOf(field.type, depth + 1)}` : '';
  });
  return `{ __typename ${parts.filter(Boolean).join(' ')} }`;
}

function operationOf(kind: 'query' | 'mutation', field: GraphQLField<unknown, unknown>): string {
  const args = field.args as readonly GraphQLArgument[];
  const variables = args.map((arg) => `$${arg.name}: ${arg.type.toString()}`).join(', ');
  const passed = args.map((arg) => `${arg.name}: $${arg.name}`).join(', ');
  return `${kind}${variables ? `(${variables})` : ''} { ${field.name}${passed ? `(${passed})` : ''} ${selectionOf(field.type)} }`;
}

const rootFields = (kind: 'query' | 'mutation') => Object.values((kind === 'query' ? schema.getQueryType() : schema.getMutationType())?.getFields() ?? {}).map((field) => ({ kind, field }));

describe('Fuzzing every operation with hostile arguments', () => {
  let keyhub: KeyhubProcess;
  let log: Database.Database;
  const tokens: Record<string, string | null> = {};
  const ids: string[] = [];
  const lifecycleEvents = () => (log.prepare("SELECT COUNT(*) AS n FROM events WHERE stream NOT LIKE 'apiKeyUsage%' AND stream NOT LIKE 'keyhubSnapshot-%'").get() as { n: number }).n;
  const post = async (token: string | null, query: string, variables: Record<string, unknown>) => {
    const response = await fetch(keyhub.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify({ query, variables }),
      signal: AbortSignal.timeout(10_000),
    });
    const text = await response.text();
    return { status: response.status, text, body: JSON.parse(text) as { data?: Record<string, unknown> | null; errors?: Array<{ extensions?: { code?: string } }> } };
  };

  beforeAll(async () => {
    // Limits raised so that every hostile request reaches validation and the resolvers, rather than RATE_LIMITED.
    keyhub = await startKeyhubProcess({ env: { KEY_LIMIT_DEFAULT: '1000', LEAK_REPORTS_PER_MINUTE: '10000', ACCOUNT_REQUESTS_PER_SECOND: '100000' } });
    tokens['owner'] = await tokenFor({ sub: 'fuzzer', account: 'acct-fuzz' });
    tokens['other tenant'] = await tokenFor({ sub: 'neighbour', account: 'acct-neighbour' });
    tokens['admin'] = await tokenFor({ sub: 'operator', account: 'platform', roles: ['admin'] });
    tokens['gateway'] = await tokenFor({ sub: 'gw', account: 'platform', roles: ['gateway'] });
    tokens['anonymous'] = null;
    for (const owner of ['owner', 'other tenant']) {
      for (let i = 0; i < 3; i += 1) {
        const created = await post(tokens[owner] ?? null, 'mutation($n: String!) { createApiKey(input: { name: $n, acceptTerms: true }) { apiKey { id } } }', { n: `seed ${i}` });
        ids.push((created.body.data?.['createApiKey'] as { apiKey: { id: string } }).apiKey.id);
      }
    }
    log = new Database(join(keyhub.dataDir, 'events.sqlite'), { readonly: true, fileMustExist: true });
  });
  afterAll(async () => {
    log?.close();
    await keyhub.stop();
  });

  it(`answers ${RUNS} hostile requests with a coded error or a valid answer, and a refused mutation changes nothing`, async () => {
    const operations = [...rootFields('query'), ...rootFields('mutation')];
    const request = fc.constantFrom(...operations).chain(({ kind, field }) =>
      fc.record({
        kind: fc.constant(kind),
        name: fc.constant(field.name),
        query: fc.constant(operationOf(kind, field)),
        caller: fc.constantFrom(...Object.keys(tokens)),
        variables: fc.record(Object.fromEntries(field.args.map((arg) => [arg.name, valueOf(arg.type, ids)])), { requiredKeys: [] }),
      }),
    );
    const seen = new Set<string>();
    let previous = '';
    await fc.assert(
      fc.asyncProperty(request, async ({ kind, name, query, caller, variables }) => {
        const before = lifecycleEvents();
        let answer;
        try {
          answer = await post(tokens[caller] ?? null, query, variables);
        } catch (error) {
          throw new Error(`${caller} ${name}: ${(error as Error).message} (${String((error as { cause?: unknown }).cause)}); exit code ${keyhub.child.exitCode}; previous request: ${previous}\n${keyhub.output().slice(-2000)}`);
        }
        const { status, body, text } = answer;
        previous = `${caller} ${name} ${JSON.stringify(variables).slice(0, 200)} -> ${status}`;
        const answered = (body.errors ?? []).map((error) => `${error.extensions?.code}: ${String((error as { message?: string }).message).slice(0, 200)}`);
        const context = `${caller} ${name} ${JSON.stringify(variables).slice(0, 300)} -> ${status} ${answered.length ? answered.join(' | ') : text.slice(0, 200)}`;
        expect([context, status < 500]).toEqual([context, true]);
        const codes = (body.errors ?? []).map((error) => error.extensions?.code ?? 'NO CODE');
        expect([context, codes.filter((code) => code === 'INTERNAL_SERVER_ERROR' || code === 'NO CODE')]).toEqual([context, []]);
        if (kind === 'mutation' && (body.data?.[name] ?? null) === null) expect([context, lifecycleEvents()]).toEqual([context, before]);
        seen.add(body.errors?.length ? `${name}:error` : `${name}:ok`);
      }),
      { numRuns: RUNS, seed: Number(process.env['FUZZ_SEED'] ?? 20261202), endOnFailure: true },
    );
    // The run reached every operation, and not only through refusals.
    for (const { field } of operations) expect([...seen].some((entry) => entry.startsWith(`${field.name}:`))).toBe(true);
    expect([...seen].filter((entry) => entry.endsWith(':ok')).length).toBeGreaterThan(3);
    expect((await fetch(`${keyhub.baseUrl}/healthz`)).status).toBe(200);
    expect(keyhub.child.exitCode).toBeNull();
  }, 120_000);
});
