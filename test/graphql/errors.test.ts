import { Writable } from 'node:stream';
import { ApolloServer } from '@apollo/server';
import pino from 'pino';
import { GraphQLError } from 'graphql';
import type { GraphQLContext, Services } from '../../src/graphql/context';
import { createContext } from '../../src/graphql/context';
import { errorFormatter, formatError, logUnexpectedErrors } from '../../src/graphql/errors';
import { buildKeyhubSchema } from '../../src/graphql/schema';
import { DOMAIN_ERROR_CODES, DomainError } from '../../src/domain/errors';

const caller = { sub: 'alice', accountId: 'acct', roles: [], requestId: 'req-42' };

async function serverWith(queries: Partial<Services['queries']>, contextValue: GraphQLContext = { caller, principal: caller, requestId: caller.requestId, services: { queries } as unknown as Services }) {
  const lines: string[] = [];
  const logger = pino({ level: 'error' }, new Writable({ write: (chunk, _encoding, done) => (lines.push(chunk.toString()), done()) }));
  const server = new ApolloServer<GraphQLContext>({ schema: await buildKeyhubSchema(), formatError, plugins: [logUnexpectedErrors(logger)] });
  const run = async (query: string) => {
    const response = await server.executeOperation({ query }, { contextValue });
    return response.body.kind === 'single' ? response.body.singleResult : null;
  };
  return { run, lines };
}

describe('Error boundary', () => {
  it('masks an unexpected error for the client and logs it with the request id', async () => {
    const { run, lines } = await serverWith({ quota: async () => Promise.reject(new Error('connection to 10.0.0.7:27017 refused')) });
    const result = await run('{ accountQuota { limit } }');
    expect(result?.errors).toEqual([{ message: 'Internal server error', path: ['accountQuota'], extensions: { code: 'INTERNAL_SERVER_ERROR' } }]);
    expect(JSON.stringify(result)).not.toContain('10.0.0.7');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0] as string)).toMatchObject({ requestId: 'req-42', err: { message: 'connection to 10.0.0.7:27017 refused' } });
  });

  it('passes a domain error through with its code and field, without logging it', async () => {
    const { run, lines } = await serverWith({ quota: async () => Promise.reject(new DomainError('BAD_USER_INPUT', 'first must be from 1 to 100', 'first')) });
    const result = await run('{ accountQuota { limit } }');
    expect(result?.errors?.[0]).toMatchObject({ message: 'first must be from 1 to 100', extensions: { code: 'BAD_USER_INPUT', field: 'first' } });
    expect(lines).toHaveLength(0);
  });

  it('logs an unexpected error of an anonymous request (no caller) with its request id', async () => {
    const services = {
      leakReports: { receive: async () => Promise.reject(new Error('disk I/O error at /var/lib/keyhub')) },
    } as unknown as Services;
    const anonymous = createContext(null, services, { clientAddress: '203.0.113.9', connection: null, requestId: 'req-anonymous' });
    const { run, lines } = await serverWith({}, anonymous);
    const result = await run('mutation { reportLeakedKey(secret: "sk-whatever") { received } }');
    expect(result?.errors?.[0]?.extensions?.['code']).toBe('INTERNAL_SERVER_ERROR');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0] as string)).toMatchObject({ requestId: 'req-anonymous', err: { message: 'disk I/O error at /var/lib/keyhub' } });
  });

  it.each(DOMAIN_ERROR_CODES)('lets every code of the domain taxonomy through: %s', (code) => {
    const thrown = new GraphQLError(`a ${code} error`, { extensions: { code } });
    expect(formatError(thrown.toJSON(), thrown)).toMatchObject({ message: `a ${code} error`, extensions: { code } });
  });

  it('masks codes outside the taxonomy', () => {
    const thrown = new GraphQLError('ECONNRESET 10.0.0.7', { extensions: { code: 'ECONNRESET' } });
    expect(formatError(thrown.toJSON(), thrown)).toEqual({ message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } });
  });

  it('hides field suggestions when told to (production)', () => {
    const thrown = new GraphQLError('Cannot query field "nam" on type "ApiKey". Did you mean "name"?', { extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } });
    expect(errorFormatter({ hideSuggestions: true })(thrown.toJSON(), thrown).message).toBe('Cannot query field "nam" on type "ApiKey".');
    expect(formatError(thrown.toJSON(), thrown).message).toContain('Did you mean');
  });
});
