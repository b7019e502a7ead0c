import { readFileSync } from 'node:fs';
import { DomainError } from './domain/errors';
import type { ScopeCatalog } from './domain/rules/scope';
import { EMPTY_SCOPE_CATALOG, parseScopeCatalog } from './domain/rules/scope';
import { StartupError } from './startupError';

/** At most this much is read: a catalog is a list of ids, not a data set. */
const CATALOG_FILE_MAX_BYTES = 1024 * 1024;

/**
 * The operator's catalog of models and services (SCOPE_CATALOG_FILE, JSON `{ "models": [...],
 * "services": [...] }`), read once at start; none configured: an empty catalog. A file that cannot
 * be read or does not follow the rule stops start-up with a message naming the entry.
 */
export function loadScopeCatalog(file: string | undefined): ScopeCatalog {
  if (!file) return EMPTY_SCOPE_CATALOG;
  let text: string;
  try {
    const buffer = readFileSync(file);
    if (buffer.length > CATALOG_FILE_MAX_BYTES) throw new Error(`larger than ${CATALOG_FILE_MAX_BYTES} bytes`);
    text = buffer.toString('utf8');
  } catch (error) {
    throw new StartupError(`SCOPE_CATALOG_FILE ${file} cannot be read: ${(error as Error).message}`);
  }
  try {
    return parseScopeCatalog(JSON.parse(text));
  } catch (error) {
    const where = error instanceof DomainError && error.field ? ` at ${error.field}` : '';
    throw new StartupError(`SCOPE_CATALOG_FILE ${file} is not a valid catalog${where}: ${(error as Error).message}`);
  }
}
