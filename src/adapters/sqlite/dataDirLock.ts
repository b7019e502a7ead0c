import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { StartupError } from '../../startupError';

export const LOCK_FILE = 'keyhub.lock';

export class DataDirInUseError extends StartupError {
  constructor(readonly dataDir: string) {
    super(
      `DATA_DIR ${dataDir} is in use by another keyhub process. The embedded log wakes only its own process's ` +
        'subscribers, so a second process on it would serve stale verifications: stop the other process, or give ' +
        'this one its own DATA_DIR (or run both on EventStoreDB with EVENTSTORE_URL).',
    );
  }
}

export interface DataDirLock {
  release(): void;
}

/**
 * Makes this process the only keyhub serving from `dataDir`. The lock is SQLite's own exclusive
 * file lock on a small database beside the log, held until release: the operating system drops
 * it when the process dies, so a crash never leaves a stale lock behind. Readers of the log (the
 * audit commands) do not take it.
 */
export function lockDataDir(dataDir: string): DataDirLock {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const db = new Database(join(dataDir, LOCK_FILE), { timeout: 0 });
  try {
    db.pragma('journal_mode = DELETE'); // WAL shares the file between processes by design; this lock must not
    db.pragma('locking_mode = EXCLUSIVE'); // once taken, the write lock is kept until the connection closes
    db.exec('CREATE TABLE IF NOT EXISTS holder (pid INTEGER, since TEXT)');
    db.exec('BEGIN EXCLUSIVE');
    db.prepare('DELETE FROM holder').run();
    db.prepare('INSERT INTO holder VALUES (?, ?)').run(process.pid, new Date().toISOString());
    db.exec('COMMIT');
  } catch (error) {
    db.close();
    if ((error as { code?: string }).code === 'SQLITE_BUSY') throw new DataDirInUseError(dataDir);
    throw error;
  }
  return { release: () => db.close() };
}
