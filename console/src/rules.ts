// The console checks input with the server's own rules (src/domain/rules), so what it accepts as
// you type is exactly what keyhub accepts: one source of truth for names, descriptions, regions,
// scopes and allowlists.
import { parseDescription } from '../../src/domain/rules/description';
import { IP_ALLOWLIST_MAX, normaliseIpEntry } from '../../src/domain/rules/ipAllowlist';
import type { LimitKind } from '../../src/domain/rules/limits';
import { LIMIT_KINDS, parseLimits } from '../../src/domain/rules/limits';
import { NAME_MAX, NAME_MIN, parseKeyName } from '../../src/domain/rules/name';
import { parseRegion } from '../../src/domain/rules/region';
import { parseScope } from '../../src/domain/rules/scope';

export { IP_ALLOWLIST_MAX, LIMIT_KINDS, NAME_MAX, NAME_MIN };
export type { LimitKind };

const passes = (check: () => unknown): boolean => {
  try {
    check();
    return true;
  } catch {
    return false;
  }
};

export type NameProblem = 'length' | 'characters' | null;

export function nameProblem(name: string): NameProblem {
  if (passes(() => parseKeyName(name))) return null;
  const length = [...name.normalize('NFC').trim()].length;
  return length < NAME_MIN || length > NAME_MAX ? 'length' : 'characters';
}

export const descriptionOk = (description: string): boolean => passes(() => parseDescription(description));
export const regionOk = (region: string): boolean => region.trim() === '' || passes(() => parseRegion(region));

/** The non-blank lines of a text area, with their 1-based line numbers. */
export function linesOf(text: string): Array<{ line: number; value: string }> {
  return text
    .split('\n')
    .map((value, index) => ({ line: index + 1, value: value.trim() }))
    .filter((entry) => entry.value !== '');
}

/** Line numbers of allowlist entries that are not an IPv4/IPv6 address or CIDR range. */
export const badIpLines = (text: string): number[] => linesOf(text).filter((entry) => normaliseIpEntry(entry.value) === null).map((entry) => entry.line);

/** Line numbers of scope entries (model or service ids, optionally ending in *) the server would refuse. */
export const badScopeLines = (text: string): number[] =>
  linesOf(text)
    .filter((entry) => !passes(() => parseScope({ mode: 'RESTRICTED', models: [entry.value] })))
    .map((entry) => entry.line);

/** A limit as typed: empty for none, otherwise what parseLimits accepts (a whole number from 1 to 2^31-1). */
export const limitOk = (kind: LimitKind, text: string): boolean =>
  text.trim() === '' || (/^\d+$/.test(text.trim()) && passes(() => parseLimits({ [kind]: Number(text.trim()) })));

/**
 * Metadata as typed: empty for none, otherwise a JSON object. Its size (1 KB of canonical JSON) is
 * the server's to check (src/domain/rules/metadata.ts counts bytes with Node's Buffer); its answer is
 * shown next to the field like any BAD_USER_INPUT.
 */
export function metadataProblem(text: string): 'json' | 'object' | null {
  if (text.trim() === '') return null;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return 'json';
  }
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? null : 'object';
}
