import { cpus, freemem, loadavg, platform, release, totalmem } from 'node:os';

export type Verdict = 'met' | 'missed' | 'not measured';

export interface Row {
  id: string;
  scenario: string;
  target: string;
  /** Human-readable figures for the table. */
  measured: string;
  verdict: Verdict;
  /** Every figure, for latest.json. */
  figures: Record<string, unknown>;
}

/** Met when every condition holds; 'not measured' when a figure it needs is missing (NaN). */
export const verdict = (figures: number[], ...conditions: boolean[]): Verdict =>
  figures.some((figure) => !Number.isFinite(figure)) ? 'not measured' : conditions.every(Boolean) ? 'met' : 'missed';

export const fmt = (value: number, digits = 0): string =>
  Number.isFinite(value) ? value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : 'n/a';

export function machine() {
  const cores = cpus();
  return {
    cpu: cores[0]?.model ?? 'unknown',
    cores: cores.length,
    memoryGb: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    freeMemoryGb: Math.round((freemem() / 1024 ** 3) * 10) / 10,
    os: `${platform()} ${release()}`,
    node: process.version,
    /** 1/5/15-minute load averages at the end of the run: other work on the machine skews every figure. */
    loadAverage: loadavg().map((load) => Math.round(load * 100) / 100),
  };
}

/** A Markdown table: what the README shows and what the bench prints. */
export function table(rows: readonly Row[]): string {
  const lines = ['| scenario | measured | target | verdict |', '|---|---|---|---|'];
  for (const row of rows) lines.push(`| ${row.scenario} | ${row.measured} | ${row.target} | ${row.verdict} |`);
  return lines.join('\n');
}
