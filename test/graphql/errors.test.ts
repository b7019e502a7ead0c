import { Writable } from 'node:stream';
import { ApolloServer } from '@apollo/server';
import pino from 'pino';
import type { GraphQLContext, Services } from '../../src/graphql/context';
import { formatError, logUnexpectedErrors } from '../../src/graphql/errors';
import { buildKeyhubSchema } from '../../src/graphql/schema';
import { DomainError } from '../../src/domain/errors';

const caller = { sub: 'alice', accountId: 'acct', roles: [], requestId: 'req-42' };

async function serverWith(queries: Partial<Services['queries']>) {
  const lines: string[] = [];
  const logger = pino({ level: 'error' }, new Writable({ write: (chunk, _encoding, done) => (lines.push(chunk.toString()), done()) }));
  const server = new ApolloServer<GraphQLContext>({ schema: await buildKeyhubSchema(), formatError, plugins: [logUnexpectedErrors(logger)] });
  const contextValue = { caller, principal: caller, services: { queries } as unknown as Services };
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
});
