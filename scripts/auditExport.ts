import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import type { Writable } from 'node:stream';
import { stringify } from 'csv-stringify/sync';
import { accountKeyEvents } from '../src/application/auditTrail';
import { cursorOf } from '../src/application/feedCursor';
import { eventView } from '../src/readModel/eventView';
import { toProjectedEvent } from '../src/readModel/projectedEvent';
import { UsageError, logProgress, parseOptions, runAudit } from './auditCli';

const USAGE = 'npm run audit:export -- --account ACCOUNT [--since 2026-01-01T00:00:00Z] [--format jsonl|csv] [--out FILE]';
const CSV_COLUMNS = ['id', 'keyId', 'accountId', 'type', 'version', 'occurredAt', 'actor', 'cursor', 'chainLink', 'data'] as const;

/**
 * Streams every lifecycle event of an account's keys (oldest first, as the history shows them:
 * never a secret or a hash) as JSON Lines or CSV, to stdout or --out, with a progress bar on stderr.
 */
runAudit('audit:export', async ({ store }) => {
  const options = parseOptions({ account: { type: 'string' }, since: { type: 'string' }, format: { type: 'string', default: 'jsonl' }, out: { type: 'string' } }, USAGE);
  const since = options.since ? new Date(options.since) : null;
  if (since && Number.isNaN(since.getTime())) throw new UsageError(`--since must be an ISO-8601 instant\nusage: ${USAGE}`);
  if (options.format !== 'jsonl' && options.format !== 'csv') throw new UsageError(`--format must be jsonl or csv\nusage: ${USAGE}`);
  const csv = options.format === 'csv';
  const out: Writable = options.out ? createWriteStream(options.out) : process.stdout;
  const write = async (text: string) => {
    if (!out.write(text)) await once(out, 'drain');
  };
  const progress = await logProgress(store, 'exporting');
  if (csv) await write(stringify([[...CSV_COLUMNS]]));
  let count = 0;
  for await (const recorded of accountKeyEvents(store, options.account as string, { since, onRead: progress.read })) {
    const view = eventView(toProjectedEvent(recorded));
    const row = { ...view, occurredAt: view.occurredAt.toISOString(), cursor: cursorOf(view.position), position: undefined };
    await write(csv ? stringify([CSV_COLUMNS.map((column) => (column === 'data' ? JSON.stringify(row.data) : String(row[column] ?? '')))]) : `${JSON.stringify(row)}\n`);
    progress.found();
    count += 1;
  }
  progress.stop();
  if (options.out) {
    out.end();
    await once(out, 'finish');
  }
  console.error(`exported ${count} events of account ${options.account}${since ? ` since ${since.toISOString()}` : ''} as ${options.format}`);
  return 0;
});
