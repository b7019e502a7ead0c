import { randomUUID } from 'node:crypto';
import { clientFor } from './graphqlClient';
import { CREATE, VERIFY } from './operations';

/** Waits for real time to pass: only for what runs on real timers (transport keep-alives, a backoff); never to let something "probably finish". */
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `condition` until it holds; fails after `timeoutMs`. For what happens asynchronously (a projection, a reconnect). */
export async function until(condition: () => Promise<boolean> | boolean, timeoutMs = 15_000, pollMs = 20): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await sleep(pollMs);
  }
}

export type Client = Awaited<ReturnType<typeof clientFor>>;

/** A user (named `sub`) of a fresh account of its own: tests never share an account, so none depends on another's keys. */
export const newOwner = (url: string, sub = `user-${randomUUID()}`): Promise<Client> => clientFor(url, { sub, account: `acct-${randomUUID()}` });

/** A platform gateway: may call verifyApiKey. */
export const newGateway = (url: string): Promise<Client> => clientFor(url, { sub: 'gw-1', account: 'platform', roles: ['gateway'] });

export interface CreatedKey {
  secret: string;
  apiKey: { id: string; accountId: string; version: number; [field: string]: any };
}

/** createApiKey with `defaults` under `input`: the created key and its secret (fails on a GraphQL error). */
export const createKey = async (owner: Client, input: Record<string, unknown> = {}, defaults: Record<string, unknown> = { name: 'prod backend' }): Promise<CreatedKey> =>
  (await owner.call(CREATE, { input: { acceptTerms: true, ...defaults, ...input } })).createApiKey;

/** verifyApiKey as `gateway` asks it (`query` picks the fields): the verification result. */
export const verifyKey = async (gateway: Client, key: string, request: Record<string, unknown> = {}, query = VERIFY) => (await gateway.call(query, { key, ...request })).verifyApiKey;
