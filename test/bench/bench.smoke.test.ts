import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const RUN = join(__dirname, '..', '..', 'dist', 'bench', 'run.js');
const SCENARIOS = ['verify-graphql', 'forward-auth', 'in-process', 'create', 'revocation', 'rebuild', 'scale', 'list-scale', 'command-scale', 'startup-scale', 'subscribers'];

/**
 * The benchmark script itself, in its smoke mode (a few hundred keys, sub-second runs): it must
 * seed, start what it needs, run every scenario and write its report. No timing is asserted here:
 * figures are the bench's business, not the test suite's.
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
      expect(['met', 'missed', 'not measured']).toContain(row.verdict);
      expect(stdout).toContain(row.measured);
    }
    const byId = Object.fromEntries(report.rows.map((row) => [row.id, row.figures]));
    // Behaviour, not speed: no stale accept after a revocation, every subscriber got the change, every acknowledged create is in the log.
    expect(byId['revocation']).toMatchObject({ staleAccepts: 0, failures: 0 });
    expect(byId['subscribers']?.['received']).toBe(byId['subscribers']?.['subscribers']);
    expect(byId['create']?.['createdInLog']).toBeGreaterThanOrEqual(byId['create']?.['acknowledged']);
  }, 120_000);
});
