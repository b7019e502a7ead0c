import { createHash } from 'node:crypto';
import { canonicalize } from 'json-canonicalize';
import { badInput } from '../domain/errors';
import type { RecordedEvent } from '../ports/eventStore';

/**
 * Idempotency-Key (Stripe's convention) for mutations: a client that retries a request after a
 * timeout sends the same key, and the retry does not change anything a second time. The record is
 * the log itself: the events a keyed request writes carry, in their metadata, a hash of the
 * account and the key, and a hash of the request. That holds on every engine, survives restarts
 * and is shared by every instance; nothing but the hashes is stored (never a secret).
 */
export const IDEMPOTENCY_KEY_HEADER = 'idempotency-key';
/** How long a key is remembered: after this a request with the same key is a new request. */
export const IDEMPOTENCY_WINDOW_MS = 24 * 60 * 60 * 1000;
const KEY_SHAPE = /^[\x21-\x7e]{1,255}$/;

export interface Idempotency {
  /** sha256 of the account and the client's key: what the events' metadata carry. */
  readonly key: string;
  /** sha256 of the request (operation and arguments): the same key with another request is refused. */
  readonly requestHash: string;
  /** Events written before this are outside the window. */
  readonly notBefore: Date;
}

/** The client's header value, checked: printable ASCII without spaces, 1 to 255 characters. */
export function parseIdempotencyKey(header: string | string[] | undefined): string | null {
  if (header === undefined) return null;
  if (typeof header !== 'string' || !KEY_SHAPE.test(header)) {
    throw badInput('Idempotency-Key', 'the Idempotency-Key header must be 1 to 255 printable ASCII characters without spaces, and sent once');
  }
  return header;
}

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

export const idempotencyOf = (accountId: string, clientKey: string, operation: string, request: unknown, now: Date): Idempotency => ({
  key: sha256(`keyhub-idempotency\0${accountId}\0${clientKey}`),
  requestHash: sha256(`${operation}\0${canonicalize(request ?? null)}`),
  notBefore: new Date(now.getTime() - IDEMPOTENCY_WINDOW_MS),
});

/**
 * A key id derived from the idempotency key (a UUID-shaped hash), so that a retried create lands on
 * the same key stream: the log then tells whether the first attempt created it.
 */
export function keyIdFor(idempotency: Idempotency): string {
  const hex = sha256(`key-id\0${idempotency.key}`);
  const variant = ((parseInt(hex.slice(16, 17), 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** Whether `recorded` was written by the request `idempotency` identifies, within the window; a reused key with another request is refused. */
export function isWrittenBy(recorded: RecordedEvent, idempotency: Idempotency): boolean {
  if (recorded.metadata?.['idempotencyKey'] !== idempotency.key || recorded.created < idempotency.notBefore) return false;
  if (recorded.metadata['requestHash'] !== idempotency.requestHash) {
    throw badInput('Idempotency-Key', 'this Idempotency-Key was used in the last 24 hours for a different request; use a new key for a new request');
  }
  return true;
}
