import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const TEST_JWT_SECRET = 'test-secret-that-is-at-least-32-characters-long';
const MAIN = join(__dirname, '..', '..', 'dist', 'src', 'main.js');

export interface KeyhubProcess {
  url: string;
  wsUrl: string;
  baseUrl: string;
  dataDir: string;
  child: ChildProcess;
  /** Everything the process printed so far (stdout and stderr). */
  output(): string;
  /** Sends a signal and waits for the process to exit; resolves to its exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export const freshDataDir = (): string => mkdtempSync(join(tmpdir(), 'keyhub-test-'));

/**
 * Starts the built service (`node dist/src/main.js`, what `npm start` runs) on a random port
 * and resolves once it logs that it is listening.
 */
export async function startKeyhubProcess(options: { dataDir?: string; env?: Record<string, string> } = {}): Promise<KeyhubProcess> {
  const dataDir = options.dataDir ?? freshDataDir();
  const child = spawn(process.execPath, [MAIN], {
    env: { PATH: process.env['PATH'] ?? '', PORT: '0', HOST: '127.0.0.1', DATA_DIR: dataDir, JWT_SECRET: TEST_JWT_SECRET, LOG_LEVEL: 'info', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`keyhub did not start in time:\n${output}`)), 20_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /keyhub listening on (http:\/\/\S+?\/graphql)/.exec(output);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`keyhub exited with ${code} before listening:\n${output}`));
    });
  });
  return {
    url,
    wsUrl: url.replace(/^http/, 'ws'),
    baseUrl: url.replace(/\/graphql$/, ''),
    dataDir,
    child,
    output: () => output,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null) child.kill(signal);
      return exited;
    },
  };
}
