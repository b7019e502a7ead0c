import { badInput } from '../errors';

/** Letters of any script (with their combining marks), digits, `_` and `-`; words joined by single spaces. */
const NAME_PATTERN = /^[\p{L}\p{M}\p{Nd}_-]+(?: [\p{L}\p{M}\p{Nd}_-]+)*$/u;
export const NAME_MIN = 2;
export const NAME_MAX = 64;

/** Validates and normalises a key name (NFC, surrounding white space trimmed). */
export function parseKeyName(raw: string, field = 'name'): string {
  const name = raw.normalize('NFC').trim();
  const length = [...name].length;
  if (length < NAME_MIN || length > NAME_MAX) {
    throw badInput(field, `name must be ${NAME_MIN} to ${NAME_MAX} characters long (got ${length})`);
  }
  if (!NAME_PATTERN.test(name)) {
    throw badInput(field, 'name may contain letters of any script, digits, _ and -, with single spaces between words');
  }
  return name;
}
