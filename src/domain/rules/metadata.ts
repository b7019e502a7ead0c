import { canonicalize } from 'json-canonicalize';
import { badInput } from '../errors';

/** A key's owner-set metadata: a JSON object a gateway routes on (team, environment, plan). */
export type KeyMetadata = { readonly [field: string]: unknown };

/** Counted in UTF-8 bytes of the canonical JSON text: what is stored and what /auth sends. */
export const METADATA_MAX_BYTES = 1024;

/** A JSON object of at most METADATA_MAX_BYTES, in canonical form (sorted keys); null for none. */
export function parseMetadata(raw: unknown, field = 'metadata'): KeyMetadata | null {
  if (raw == null) return null;
  if (typeof raw !== 'object' || Array.isArray(raw)) throw badInput(field, 'metadata must be a JSON object, e.g. { "team": "search", "plan": "pro" }');
  // The value arrived within the request's size cap; a value nested too deeply to serialise is refused, not thrown.
  let text: string;
  try {
    text = canonicalize(raw);
  } catch {
    throw badInput(field, 'metadata must be plain JSON');
  }
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > METADATA_MAX_BYTES) throw badInput(field, `metadata must be at most ${METADATA_MAX_BYTES} bytes of JSON (got ${bytes})`);
  return JSON.parse(text) as KeyMetadata;
}

export const sameMetadata = (a: KeyMetadata | null, b: KeyMetadata | null): boolean => (a === null || b === null ? a === b : canonicalize(a) === canonicalize(b));

/** The metadata as one line of JSON (the /auth header's content before encoding). */
export const metadataText = (metadata: KeyMetadata): string => canonicalize(metadata);
