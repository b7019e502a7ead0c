import { badInput } from '../errors';

export const SCOPE_MODES = ['ALL', 'RESTRICTED'] as const;
export type ScopeMode = (typeof SCOPE_MODES)[number];

export interface AccessScope {
  readonly mode: ScopeMode;
  readonly models: readonly string[];
  readonly services: readonly string[];
}

export interface AccessScopeInput {
  mode: ScopeMode;
  models?: readonly string[] | null;
  services?: readonly string[] | null;
}

export const SCOPE_ENTRIES_MAX = 100;
export const SCOPE_ENTRY_MAX_LENGTH = 128;
/** Model and service ids as platforms name them (`qwen-max`, `gpt-4o-mini`, `openai/whisper`, `chat:v1`), optionally ending in `*` to match a prefix. */
const SCOPE_ENTRY_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:/@-]*\*?$/;

export const SCOPE_ALL: AccessScope = Object.freeze({ mode: 'ALL', models: [], services: [] });

function parseEntries(raw: readonly string[] | null | undefined, field: string): string[] {
  // Counted before anything else: a hostile list of 32,000 entries must cost no more than one of 101.
  if ((raw?.length ?? 0) > SCOPE_ENTRIES_MAX) throw badInput(field, `at most ${SCOPE_ENTRIES_MAX} entries (got ${raw?.length})`);
  const entries = new Set<string>();
  (raw ?? []).forEach((value, index) => {
    const entry = value.trim();
    if (entry.length === 0 || entry.length > SCOPE_ENTRY_MAX_LENGTH || !SCOPE_ENTRY_PATTERN.test(entry)) {
      throw badInput(
        `${field}[${index}]`,
        `"${value}" is not a model or service id (letters, digits and . _ : / @ -, at most ${SCOPE_ENTRY_MAX_LENGTH} characters, optionally ending in *)`,
      );
    }
    entries.add(entry);
  });
  return [...entries];
}

/** ALL lists nothing; RESTRICTED must list at least one model or service. */
export function parseScope(raw: AccessScopeInput | null | undefined, field = 'scope'): AccessScope {
  if (raw == null) return SCOPE_ALL;
  const models = parseEntries(raw.models, `${field}.models`);
  const services = parseEntries(raw.services, `${field}.services`);
  if (raw.mode === 'ALL') {
    if (models.length > 0) throw badInput(`${field}.models`, 'a scope of mode ALL lists no models');
    if (services.length > 0) throw badInput(`${field}.services`, 'a scope of mode ALL lists no services');
    return SCOPE_ALL;
  }
  if (raw.mode !== 'RESTRICTED') throw badInput(`${field}.mode`, 'mode must be ALL or RESTRICTED');
  if (models.length === 0 && services.length === 0) {
    throw badInput(field, 'a RESTRICTED scope must list at least one model or service');
  }
  return { mode: 'RESTRICTED', models, services };
}

const entryMatches = (entry: string, value: string): boolean =>
  entry.endsWith('*') ? value.startsWith(entry.slice(0, -1)) : entry === value;

/** A value the request names is allowed when a listed entry matches it; an empty list allows nothing of its kind. */
const listed = (entries: readonly string[], value: string): boolean => entries.some((entry) => entryMatches(entry, value));

/**
 * Whether a request for `model` / `service` falls within the scope. A RESTRICTED scope allows a
 * request that names at least one model or service when every one it names is listed: a key
 * restricted to models [qwen-max] and services [chat] allows a call naming only qwen-max, only
 * chat, or both; it refuses one naming neither, and one naming any service when it lists none.
 */
export function scopeAllows(scope: AccessScope, model: string | null | undefined, service: string | null | undefined): boolean {
  if (scope.mode === 'ALL') return true;
  if (!model && !service) return false;
  return (!model || listed(scope.models, model)) && (!service || listed(scope.services, service));
}

export const sameScope = (a: AccessScope, b: AccessScope): boolean =>
  a.mode === b.mode && sameList(a.models, b.models) && sameList(a.services, b.services);

export const sameList = (a: readonly string[], b: readonly string[]): boolean =>
  a.length === b.length && a.every((value, index) => value === b[index]);

/** The models and services a platform offers, for the console's scope picker: the same id rule as a scope's entries, no prefixes. */
export interface ScopeCatalog {
  readonly models: readonly string[];
  readonly services: readonly string[];
}

export const SCOPE_CATALOG_ENTRIES_MAX = 1000;
export const EMPTY_SCOPE_CATALOG: ScopeCatalog = Object.freeze({ models: [], services: [] });

/** Validates an operator's catalog (`{ "models": [...], "services": [...] }`); the problem names the entry. */
export function parseScopeCatalog(raw: unknown): ScopeCatalog {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw badInput('catalog', 'the catalog must be a JSON object with "models" and "services" lists');
  const listOf = (field: 'models' | 'services'): string[] => {
    const value = (raw as Record<string, unknown>)[field] ?? [];
    if (!Array.isArray(value)) throw badInput(field, `"${field}" must be a list of ids`);
    if (value.length > SCOPE_CATALOG_ENTRIES_MAX) throw badInput(field, `"${field}" may list at most ${SCOPE_CATALOG_ENTRIES_MAX} ids (got ${value.length})`);
    const ids = new Set<string>();
    value.forEach((entry: unknown, index) => {
      if (typeof entry !== 'string' || entry.endsWith('*') || entry.length > SCOPE_ENTRY_MAX_LENGTH || !SCOPE_ENTRY_PATTERN.test(entry)) {
        throw badInput(`${field}[${index}]`, `${JSON.stringify(entry)} is not a model or service id (letters, digits and . _ : / @ -, at most ${SCOPE_ENTRY_MAX_LENGTH} characters)`);
      }
      ids.add(entry);
    });
    return [...ids];
  };
  return { models: listOf('models'), services: listOf('services') };
}

