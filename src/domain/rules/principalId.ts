/** Longest account id or actor (`sub`) keyhub accepts from a token or an admin's argument. */
export const PRINCIPAL_ID_MAX = 128;
// C0/C1 controls, DEL, unpaired surrogates: none can be logged, stored or put in a header faithfully.
const FORBIDDEN = /[\u0000-\u001f\u007f-\u009f\ud800-\udfff]/u; // with /u a paired surrogate is one code point, so only lone halves match

/**
 * Why `value` cannot be an account id or actor, or null when it can: 1 to 128 characters, not all
 * spaces, no control characters. Any script is allowed (tenants are named `租户-42` too), so where an id goes into an
 * HTTP header it is percent-encoded (see http/forwardAuth.ts).
 */
export function principalIdProblem(value: unknown): string | null {
  if (typeof value !== 'string' || value.trim() === '') return 'must be a non-empty string';
  if ([...value].length > PRINCIPAL_ID_MAX) return `must be at most ${PRINCIPAL_ID_MAX} characters`;
  if (FORBIDDEN.test(value)) return 'must not contain control characters';
  return null;
}
