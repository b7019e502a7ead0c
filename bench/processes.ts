import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const BENCH_JWT_SECRET = 'bench-secret-that-is-at-least-32-characters-long';
const DIST = join(__dirname, '..');

export interface Started {
  child: ChildProcess;
  port: number;
  /** Milliseconds from spawn to the "listening" line. */
  startMs: number;
  /** The service's own figure for rebuilding the read model and starting (from its log line). */
  reportedStartupMs: number | null;
  stop(): Promise<void>;
}

/** Resident set size now and at its peak, in MB, from /proc (Linux). */
export function memoryOf(pid: number): { rssMb: number; peakRssMb: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rssMb: kb('VmRSS') / 1024, peakRssMb: kb('VmHWM') / 1024 };
}

function startProcess(args: string[], env: Record<string, string>, listening: RegExp, timeoutMs: number): Promise<Started> {
  const name = args.find((arg) => !arg.startsWith('--')) ?? 'node';
  const began = Date.now();
  const child = spawn(process.execPath, args, { env: { PATH: process.env['PATH'] ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return new Promise<Started>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start within ${timeoutMs} ms:\n${output.slice(-2000)}`)), timeoutMs);
    const onData = (chunk: Buffer) => {
      if (output.length < 100_000) output += chunk.toString();
      const match = listening.exec(output);
      if (!match) return;
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.stderr?.off('data', onData);
      child.stdout?.resume();
      child.stderr?.resume();
      const startupMs = /"startupMs":(\d+)/.exec(output)?.[1];
      resolve({
        child,
        port: Number(match[1]),
        startMs: Date.now() - began,
        reportedStartupMs: startupMs === undefined ? null : Number(startupMs),
        stop: async () => {
          if (child.exitCode === null) child.kill('SIGTERM');
          await exited;
        },
      });
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`${name} exited before listening:\n${output.slice(-2000)}`));
    });
  });
}

/** The built service (what `npm start` runs) on the embedded default, on 127.0.0.1 and a free port. */
export const startService = (dataDir: string, env: Record<string, string> = {}, nodeFlags: string[] = [], timeoutMs = 300_000): Promise<Started> =>
  startProcess(
    [...nodeFlags, join(DIST, 'src', 'main.js')],
    { PORT: '0', HOST: '127.0.0.1', DATA_DIR: dataDir, JWT_SECRET: BENCH_JWT_SECRET, LOG_LEVEL: 'info', NODE_ENV: 'production', FORWARD_AUTH_OPEN: 'true', TRUST_PROXY: 'loopback', ...env },
    /keyhub listening on http:\/\/127\.0\.0\.1:(\d+)\/graphql/,
    timeoutMs,
  );

export const startBaseline = (keysFile: string): Promise<Started> =>
  startProcess([join(DIST, 'bench', 'baseline.js'), keysFile], {}, /baseline listening on (\d+)/, 60_000);

/** The minimal Apollo peer (one resolver, the baseline's checks). */
export const startMinimalApollo = (keysFile: string): Promise<Started> =>
  startProcess([join(DIST, 'bench', 'minimalApollo.js'), keysFile], { NODE_ENV: 'production' }, /minimal apollo listening on (\d+)/, 60_000);
