import { badInput } from '../errors';

export const DESCRIPTION_MAX = 200;
// Control characters other than tab and line breaks have no place in a console description.
const FORBIDDEN_CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/u;

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
  return description;
}
