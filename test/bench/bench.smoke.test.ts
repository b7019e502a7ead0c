import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const RUN = join(__dirname, '..', '..', 'dist', 'bench', 'run.js');
const SCENARIOS = ['verify-graphql', 'forward-auth', 'limits', 'token-usage', 'in-process', 'create', 'revocation', 'two-processes', 'rebuild', 'scale', 'list-scale', 'command-scale', 'startup-scale', 'subscribers', 'noisy-neighbour'];

/** Every number in a row's figures, by its path (`service.requestsPerSecond`); a figure that was NaN is null in the JSON. */
function figuresOf(value: unknown, path = ''): Array<[string, unknown]> {
  if (value !== null && typeof value === 'object') return Object.entries(value).flatMap(([key, inner]) => figuresOf(inner, path ? `${path}.${key}` : key));
  return [[path, value]];
}

/**
 * The benchmark script itself, in its smoke mode (a few hundred keys, sub-second runs): it must
 * seed, start what it needs, run every scenario and write its report, and every scenario must have
 * measured something. No speed is asserted here (met or missed is the bench's business, not the
 * test suite's), but a scenario that measured nothing fails.
 */
describe('npm run bench (smoke mode)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'keyhub-bench-test-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('runs every scenario on a few keys and writes a report with every row', async () => {
    const out = join(dir, 'latest.json');
    const { stdout } = await promisify(execFile)(process.execPath, [RUN, '--smoke', '--out', out], { timeout: 90_000, maxBuffer: 16 * 1024 * 1024 });
    const report = JSON.parse(readFileSync(out, 'utf8')) as {
      mode: string;
      machine: { node: string; cores: number };
      rows: Array<{ id: string; measured: string; verdict: string; figures: Record<string, any> }>;
    };
    expect(report.mode).toBe('smoke');
    expect(report.machine.node).toBe(process.version);
    expect(report.rows.map((row) => row.id)).toEqual(SCENARIOS);
    for (const row of report.rows) {
      expect({ id: row.id, verdict: row.verdict }).toEqual({ id: row.id, verdict: expect.stringMatching(/^(met|missed)$/) }); // not 'not measured'
      expect(stdout).toContain(row.measured);
      const figures = figuresOf(row.figures);
      expect(figures.length).toBeGreaterThan(0);
      for (const [path, figure] of figures) {
        expect({ scenario: row.id, path, figure }).toEqual({ scenario: row.id, path, figure: expect.any(Number) });
        expect({ scenario: row.id, path, finiteAndNotNegative: Number.isFinite(figure) && (figure as number) >= 0 }).toEqual({ scenario: row.id, path, finiteAndNotNegative: true });
        // Throughput and counts of work done: a scenario that ran must have done some.
        if (/(PerSecond|^requests|\.requests|^trials|^events|\.events|^subscribers|^acknowledged)$/.test(path)) expect({ scenario: row.id, path, positive: (figure as number) > 0 }).toEqual({ scenario: row.id, path, positive: true });
      }
    }
    const byId = Object.fromEntries(report.rows.map((row) => [row.id, row.figures]));
    // Behaviour, not speed: no stale accept after a revocation, every subscriber got the change, every acknowledged create is in the log.
    expect(byId['revocation']).toMatchObject({ staleAccepts: 0, failures: 0 });
    expect(byId['two-processes']).toMatchObject({ staleAccepts: 0, failures: 0 });
    expect(byId['subscribers']?.['received']).toBe(byId['subscribers']?.['subscribers']);
    // Each HTTP figure beside its peers measured in the same run: the bare JSON endpoint and a minimal Apollo server for GraphQL, the bare verifier for /auth.
    expect(Object.keys(byId['verify-graphql'] ?? {})).toEqual(expect.arrayContaining(['bareJson', 'minimalApollo', 'bareVerifier', 'ratio', 'apolloRatio']));
    expect(byId['forward-auth']).toHaveProperty('baseline.requests');
    expect(byId['create']?.['createdInLog']).toBeGreaterThanOrEqual(byId['create']?.['acknowledged']);
  }, 120_000);
});
