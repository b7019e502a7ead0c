import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { canonicalize } from 'json-canonicalize';

/**
 * The tamper-evident history: every event of a stream carries a link computed over the previous
 * event's link and this event's content (RFC 8785 canonical JSON of `{type, data}`, plus `actor`
 * when the event names one: who did it is part of what an audit proves), the first event chaining
 * from GENESIS_LINK. Editing, inserting or removing an event anywhere but at the end changes a
 * link that a later event's link was computed from; anchor the head link somewhere else (an audit
 * ticket, a transparency log) to cover the end too.
 *
 * Two versions of link, told apart by their text, so that histories written before a key was
 * configured still verify:
 * - unkeyed (version 1): 64 hex digits of SHA-256. Catches accidental and careless edits, but
 *   whoever can write the store can rewrite an event and recompute every later link.
 * - keyed (version 2): `hmac-sha256:<key id>:<64 hex digits>`, HMAC-SHA256 with the audit key
 *   (AUDIT_HMAC_KEY, kept outside the store). Without the key no one can compute a link that
 *   verifies, so a rewrite is caught even when every later link was recomputed. The key id (8 hex
 *   digits of a hash of the key) says which key, so keys can be rotated.
 */
export const GENESIS_LINK = '0'.repeat(64);

export interface ChainableEvent {
  readonly type: string;
  readonly data: unknown;
  /** The actor from the event's metadata, when it has one. */
  readonly actor?: string | undefined;
}

/** A secret that keys the chain: never stored with the events. */
export interface AuditKey {
  readonly id: string;
  readonly secret: Buffer;
}

/** The key new links are made with (null: unkeyed links), and every key links may have been made with. */
export interface AuditKeyring {
  readonly current: AuditKey | null;
  readonly byId: ReadonlyMap<string, AuditKey>;
  /** Unkeyed links are breaks (UNKEYED_LINK) everywhere, not only after a keyed one: for histories written with the key from their start. */
  readonly requireKeyed: boolean;
}

export const auditKey = (secret: string): AuditKey => ({
  id: createHash('sha256').update('keyhub audit key id\n').update(secret).digest('hex').slice(0, 8),
  secret: Buffer.from(secret, 'utf8'),
});

/** The current key first, then retired ones that older links were made with; none: unkeyed links. */
export function auditKeyring(current: string | null | undefined, retired: readonly string[] = [], options: { requireKeyed?: boolean } = {}): AuditKeyring {
  const keys = [...(current ? [current] : []), ...retired].map(auditKey);
  return { current: current ? (keys[0] as AuditKey) : null, byId: new Map(keys.map((key) => [key.id, key])), requireKeyed: options.requireKeyed ?? false };
}

export const UNKEYED: AuditKeyring = auditKeyring(null);

const KEYED_LINK = /^hmac-sha256:([0-9a-f]{8}):([0-9a-f]{64})$/;

const contentOf = (event: ChainableEvent): string =>
  canonicalize(event.actor === undefined ? { type: event.type, data: event.data } : { type: event.type, data: event.data, actor: event.actor });

/** The link of `event` after one whose link is `previousLink` (null: the stream's first event): keyed when a key is given. */
export function chainLink(previousLink: string | null, event: ChainableEvent, key: AuditKey | null = null): string {
  const hash = key ? createHmac('sha256', key.secret) : createHash('sha256');
  const digest = hash
    .update(previousLink ?? GENESIS_LINK)
    .update('\n')
    .update(contentOf(event))
    .digest('hex');
  return key ? `hmac-sha256:${key.id}:${digest}` : digest;
}

/** The links for events appended after one whose link is `previousLink` (null: the stream's first events). */
export function chainLinks(previousLink: string | null, events: readonly ChainableEvent[], key: AuditKey | null = null): string[] {
  const links: string[] = [];
  let previous = previousLink;
  for (const event of events) {
    previous = chainLink(previous, event, key);
    links.push(previous);
  }
  return links;
}

export interface RecordedLink extends ChainableEvent {
  readonly id: string;
  /** The link stored with the event; undefined when it has none. */
  readonly link: string | undefined;
}

/**
 * MISSING_LINK: an event without a link. LINK_MISMATCH: content or link edited. UNKEYED_LINK: an
 * unkeyed link after a keyed one (a rewrite that fell back to the unkeyed form), or anywhere when
 * keyed links are required. UNKNOWN_KEY: a keyed link made with a key this verifier does not hold
 * (it cannot tell).
 */
export type ChainProblem = 'MISSING_LINK' | 'LINK_MISMATCH' | 'UNKEYED_LINK' | 'UNKNOWN_KEY';

interface Verified {
  readonly eventCount: number;
  readonly headLink: string | null;
  /** Events whose link is unkeyed (version 1): only these could have been rewritten by a store writer without the key. */
  readonly unkeyedEventCount: number;
}

export type ChainVerification =
  | (Verified & { readonly intact: true })
  | (Verified & {
      readonly intact: false;
      /** Index from 0 of the first event whose stored link is not what its content and predecessor give. */
      readonly firstBrokenIndex: number;
      readonly firstBrokenEventId: string;
      readonly problem: ChainProblem;
    });

const sameText = (a: string, b: string): boolean => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

/** What is wrong with one stored link, given its predecessor's; null when it is right. */
function linkProblem(previous: string | null, event: RecordedLink, keyring: AuditKeyring, keyedBefore: boolean): ChainProblem | null {
  if (event.link === undefined) return 'MISSING_LINK';
  const keyed = KEYED_LINK.exec(event.link);
  if (!keyed) {
    if (keyedBefore || keyring.requireKeyed) return 'UNKEYED_LINK';
    return event.link === chainLink(previous, event) ? null : 'LINK_MISMATCH';
  }
  const key = keyring.byId.get(keyed[1] as string);
  if (!key) return 'UNKNOWN_KEY';
  return sameText(event.link, chainLink(previous, event, key)) ? null : 'LINK_MISMATCH';
}

/** Recomputes a stream's chain from its stored events (with the keys of `keyring` for keyed links) and names the first event that does not match. */
export function verifyChain(events: readonly RecordedLink[], keyring: AuditKeyring = UNKEYED): ChainVerification {
  const headLink = events.length === 0 ? null : (events[events.length - 1]?.link ?? null);
  let previous: string | null = null;
  let keyedBefore = false;
  let unkeyedEventCount = 0;
  for (const [index, event] of events.entries()) {
    const problem = linkProblem(previous, event, keyring, keyedBefore);
    if (problem) {
      return { intact: false, eventCount: events.length, headLink, unkeyedEventCount, firstBrokenIndex: index, firstBrokenEventId: event.id, problem };
    }
    if (KEYED_LINK.test(event.link as string)) keyedBefore = true;
    else unkeyedEventCount += 1;
    previous = event.link as string;
  }
  return { intact: true, eventCount: events.length, headLink, unkeyedEventCount };
}
