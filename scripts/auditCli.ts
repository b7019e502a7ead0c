import { parseArgs } from 'node:util';
import cliProgress from 'cli-progress';
import { lastLogPosition } from '../src/application/auditTrail';
import type { EventStore, Position } from '../src/ports/eventStore';
import type { Engines } from '../src/engines';
import { openEngines } from '../src/engines';
import type { Config } from '../src/config';
import { ConfigError, loadConfig } from '../src/config';

/** What the audit commands share: options, the engines the configuration selects, a progress bar over the log, and clear failures. */
export type AuditOptions = Record<string, { type: 'string'; default?: string } | { type: 'boolean' }>;
type OptionValues<O extends AuditOptions> = { [K in keyof O]: O[K]['type'] extends 'boolean' ? boolean | undefined : string | undefined };

export class UsageError extends Error {}

export function parseOptions<O extends AuditOptions>(options: O, usage: string): OptionValues<O> {
  try {
    const values = parseArgs({ options, strict: true, allowPositionals: false }).values as Record<string, string | boolean | undefined>;
    if (!values['account']) throw new UsageError('--account is required');
    return values as OptionValues<O>;
  } catch (error) {
    throw new UsageError(`${(error as Error).message}\nusage: ${usage}`);
  }
}

/** A progress bar on stderr over log positions (no counting pass needed), so stdout stays the command's output. */
export async function logProgress(store: EventStore, label: string) {
  const end = await lastLogPosition(store);
  const total = Math.max(1, end === null ? 0 : Number(end.commit));
  const bar = new cliProgress.SingleBar(
    { format: `${label} [{bar}] {percentage}% of the log | {found} events | {duration_formatted}`, stream: process.stderr, noTTYOutput: true, notTTYSchedule: 2000 },
    cliProgress.Presets.shades_classic,
  );
  let found = 0;
  bar.start(total, 0, { found });
  return {
    read: (position: Position) => bar.update(Math.min(total, Number(position.commit)), { found }),
    found: () => bar.update({ found: (found += 1) }),
    stop: () => (bar.update(total, { found }), bar.stop()),
  };
}

/** Runs an audit command on the engines the environment selects (embedded SQLite, or EventStoreDB with EVENTSTORE_URL). */
export function runAudit(name: string, command: (engines: Engines, config: Config) => Promise<number>): void {
  const run = async () => {
    const config = loadConfig();
    const engines = await openEngines(config);
    try {
      await engines.probe();
      return await command(engines, config);
    } finally {
      await engines.close();
    }
  };
  run().then(
    (code) => process.exit(code),
    (error: unknown) => {
      if (error instanceof ConfigError || error instanceof UsageError) console.error(error.message);
      else console.error(`${name} failed: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(2);
    },
  );
}
