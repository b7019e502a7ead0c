import { badInput } from '../domain/errors';
import type { Position } from '../ports/eventStore';

/**
 * A live feed's cursor: the global log position of the event a pushed item came from, as
 * `<commit>-<prepare>` in decimal. A client that reconnects with the last cursor it saw resumes
 * right after that event.
 */
export const cursorOf = (position: Position): string => `${position.commit}-${position.prepare}`;

const CURSOR_PATTERN = /^(\d{1,20})-(\d{1,20})$/;

export function parseCursor(cursor: string, field = 'after'): Position {
  const match = CURSOR_PATTERN.exec(cursor);
  if (!match) throw badInput(field, `${field} is not a cursor this API returned`);
  return { commit: BigInt(match[1] as string), prepare: BigInt(match[2] as string) };
}
