import { badInput } from '../errors';

export const DESCRIPTION_MAX = 200;
// Control characters other than tab and line breaks have no place in a console description.
const FORBIDDEN_CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/u;
// Format characters (bidi overrides and isolates, zero-width space, BOM, ...) make text show other than it
// reads. Zero-width (non-)joiners stay: Persian, Indic scripts and emoji sequences need them.
const FORBIDDEN_FORMAT = /(?![\u200c\u200d])\p{Cf}/u;
// With /u a well-formed surrogate pair is one code point: only lone halves match.
const LONE_SURROGATE = /[\ud800-\udfff]/u;

/** Validates a description; empty or blank becomes null (no description). */
export function parseDescription(raw: string | null | undefined, field = 'description'): string | null {
  if (raw == null) return null;
  const description = raw.normalize('NFC').trim();
  if (description === '') return null;
  const length = [...description].length;
  if (length > DESCRIPTION_MAX) {
    throw badInput(field, `description must be at most ${DESCRIPTION_MAX} characters (got ${length})`);
  }
  if (FORBIDDEN_CONTROL.test(description)) throw badInput(field, 'description must not contain control characters');
  if (FORBIDDEN_FORMAT.test(description)) throw badInput(field, 'description must not contain invisible format characters (bidi overrides, zero-width spaces)');
  if (LONE_SURROGATE.test(description)) throw badInput(field, 'description must be well-formed Unicode (no unpaired surrogates)');
  return description;
}
