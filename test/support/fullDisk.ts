import type Database from 'better-sqlite3';
import type { SqliteEventStore } from '../../src/adapters/sqlite/sqliteEventStore';

/**
 * A full disk, simulated: SQLite's page limit on the store's own connection (`max_page_count` is
 * per connection, hence the reach into the store) stops the file growing at its current size, and
 * SQLite answers SQLITE_FULL exactly as when the disk has no room. `free()` gives the room back.
 */
export function fillDisk(store: SqliteEventStore): { free(): void } {
  const db = (store as unknown as { db: Database.Database }).db;
  const limit = db.pragma('max_page_count', { simple: true }) as number;
  db.pragma(`max_page_count = ${db.pragma('page_count', { simple: true }) as number}`);
  return { free: () => void db.pragma(`max_page_count = ${limit}`) };
}
