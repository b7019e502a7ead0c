import { performance } from 'node:perf_hooks';
import { InProcessDatabase } from '../../src/adapters/inProcess/inProcessDatabase';
import { ApiKeyQueries } from '../../src/application/apiKeyQueries';
import type { Caller } from '../../src/application/caller';
import type { ApiKeyDocument } from '../../src/readModel/documents';
import { COLLECTIONS } from '../../src/readModel/documents';
import type { ApiKeyListFilter } from '../../src/readModel/keyList';
import { API_KEY_ORDERS } from '../../src/readModel/keyList';
import type { EventStore } from '../../src/ports/eventStore';
import { ensureIndexes } from '../../projections/registry';
import type { Progress } from '../progress';
import { percentile } from '../stats';

export interface ListScaleFigures {
  /** Keys in the read model when measured. */
  totalKeys: number;
  /** p99 / p50 / max of one list page (find + count, as apiKeys runs them), any filter, order, first or later page. */
  p99Ms: number;
  p50Ms: number;
  maxMs: number;
  pages: number;
}

const FILTERS: ApiKeyListFilter[] = [
  {},
  { status: 'DISABLED' },
  { region: 'eu-west-1' },
  { search: 'batch' },
  { unusedSince: new Date(Date.UTC(2026, 10, 15)) },
  { status: 'ENABLED', region: 'us-east-1', search: 'key 1', unusedSince: new Date(Date.UTC(2026, 10, 20)) },
];
const ACCOUNT_KEYS = 50;
const PAGE = 20;

/** A key document as the list projection writes it, varied so that every filter selects some. */
function keyDocument(accountId: string, i: number): ApiKeyDocument {
  const created = new Date(Date.UTC(2026, 0, 1) + i * 60_000);
  const name = `bench key ${i}`;
  return {
    _id: `key-${String(i).padStart(8, '0')}`,
    accountId,
    name,
    nameSort: name,
    description: i % 3 === 0 ? 'batch jobs' : null,
    region: i % 2 === 0 ? 'us-east-1' : 'eu-west-1',
    maskedKey: 'sk-ab***wxyz',
    status: i % 5 === 0 ? 'DISABLED' : 'ENABLED',
    scope: { mode: 'ALL', models: [], services: [] },
    ipAllowlist: [],
    createdAt: created,
    updatedAt: created,
    lastUsedAt: i % 4 === 0 ? null : new Date(Date.UTC(2026, 10, 1 + (i % 28))),
    expiresAt: null,
    deletedAt: i % 17 === 0 ? created : null,
    version: 1,
    revision: 0,
  };
}

/** Times every filter × order, first page and the page after it, `rounds` times; one sample per page. */
async function timePages(queries: ApiKeyQueries, caller: Caller, filters: readonly ApiKeyListFilter[], rounds: number): Promise<number[]> {
  const samples: number[] = [];
  for (let round = 0; round < rounds; round += 1) {
    for (const filter of filters) {
      for (const order of API_KEY_ORDERS) {
        let started = performance.now();
        const first = await queries.list(caller, filter, order, PAGE);
        samples.push(performance.now() - started);
        if (!first.pageInfo.endCursor) continue;
        started = performance.now();
        await queries.list(caller, filter, order, PAGE, first.pageInfo.endCursor);
        samples.push(performance.now() - started);
      }
    }
  }
  return samples.sort((a, b) => a - b);
}

const figuresOf = (totalKeys: number, samples: number[]): ListScaleFigures => ({
  totalKeys,
  p99Ms: percentile(samples, 0.99),
  p50Ms: percentile(samples, 0.5),
  maxMs: samples[samples.length - 1] ?? NaN,
  pages: samples.length,
});

/**
 * List pages answered by the in-process read model (the embedded default) through the query
 * service, without HTTP: one account of 50 keys among `sizes` keys in total (other accounts of 50
 * keys each), and one account holding `bigAccount` keys, with search. Documents are written with
 * the same upserts the list projection issues.
 */
export async function listScale(options: { progress: Progress; sizes: readonly number[]; bigAccount: number; rounds: number }): Promise<{ bySize: ListScaleFigures[]; bigAccount: ListScaleFigures & { keys: number } }> {
  const database = new InProcessDatabase();
  await ensureIndexes(database);
  const keys = database.collection<ApiKeyDocument>(COLLECTIONS.apiKeys);
  const queries = new ApiKeyQueries(database, {} as EventStore, 100_000);
  const insert = async (accountId: string, i: number) => {
    const { _id, ...fields } = keyDocument(accountId, i);
    await keys.updateOne({ _id }, { $setOnInsert: fields }, { upsert: true });
  };
  const bySize: ListScaleFigures[] = [];
  let written = 0;
  for (const size of [...options.sizes].sort((a, b) => a - b)) {
    const bar = options.progress.counter(`read model documents up to ${size.toLocaleString('en-US')}`, size);
    for (; written < size; written += 1) {
      await insert(`list-account-${Math.floor(written / ACCOUNT_KEYS)}`, written);
      if (written % 10_000 === 0) bar.update(written);
    }
    bar.stop();
    const caller = { accountId: `list-account-${Math.floor(size / ACCOUNT_KEYS / 2)}` } as Caller;
    await timePages(queries, caller, FILTERS, 1); // warm-up
    bySize.push(figuresOf(size, await timePages(queries, caller, FILTERS, options.rounds)));
    options.progress.note(`${size.toLocaleString('en-US')} keys: list page p99 ${bySize[bySize.length - 1]?.p99Ms.toFixed(2)} ms`);
  }
  for (let i = 0; i < options.bigAccount; i += 1) await insert('list-big-account', written + i);
  const searches: ApiKeyListFilter[] = [{ search: 'batch' }, { search: 'key 12' }, { search: 'no such key' }, { search: 'KEY', status: 'ENABLED' }];
  const caller = { accountId: 'list-big-account' } as Caller;
  await timePages(queries, caller, searches, 1);
  const big = { ...figuresOf(written + options.bigAccount, await timePages(queries, caller, searches, options.rounds)), keys: options.bigAccount };
  return { bySize, bigAccount: big };
}
