import { createHash } from 'node:crypto';
import { canonicalize } from 'json-canonicalize';

/**
 * The tamper-evident history: every event of a stream carries a link, SHA-256 (hex) over the
 * previous event's link and this event's content (RFC 8785 canonical JSON of `{type, data}`, plus
 * `actor` when the event names one: who did it is part of what an audit proves), the first event
 * chaining from GENESIS_LINK. Editing, inserting or removing an event anywhere but at
 * the end changes a link that a later event's link was computed from; anchor the head link
 * somewhere else (an audit ticket, a transparency log) to cover the end too.
 */
export const GENESIS_LINK = '0'.repeat(64);

export interface ChainableEvent {
  readonly type: string;
  readonly data: unknown;
  /** The actor from the event's metadata, when it has one. */
  readonly actor?: string | undefined;
}

export const chainLink = (previousLink: string | null, event: ChainableEvent): string =>
  createHash('sha256')
    .update(previousLink ?? GENESIS_LINK)
    .update('\n')
    .update(canonicalize(event.actor === undefined ? { type: event.type, data: event.data } : { type: event.type, data: event.data, actor: event.actor }))
    .digest('hex');

/** The links for events appended after one whose link is `previousLink` (null: the stream's first events). */
export function chainLinks(previousLink: string | null, events: readonly ChainableEvent[]): string[] {
  const links: string[] = [];
  let previous = previousLink;
  for (const event of events) {
    previous = chainLink(previous, event);
    links.push(previous);
  }
  return links;
}

export interface RecordedLink extends ChainableEvent {
  readonly id: string;
  /** The link stored with the event; undefined when it has none. */
  readonly link: string | undefined;
}

export type ChainProblem = 'MISSING_LINK' | 'LINK_MISMATCH';

export type ChainVerification =
  | { readonly intact: true; readonly eventCount: number; readonly headLink: string | null }
  | {
      readonly intact: false;
      readonly eventCount: number;
      readonly headLink: string | null;
      /** Index from 0 of the first event whose stored link is not what its content and predecessor give. */
      readonly firstBrokenIndex: number;
      readonly firstBrokenEventId: string;
      readonly problem: ChainProblem;
    };

/** Recomputes a stream's chain from its stored events and names the first event that does not match. */
export function verifyChain(events: readonly RecordedLink[]): ChainVerification {
  let previous: string | null = null;
  const headLink = events.length === 0 ? null : (events[events.length - 1]?.link ?? null);
  for (const [index, event] of events.entries()) {
    const expected = chainLink(previous, event);
    if (event.link !== expected) {
      return { intact: false, eventCount: events.length, headLink, firstBrokenIndex: index, firstBrokenEventId: event.id, problem: event.link === undefined ? 'MISSING_LINK' : 'LINK_MISMATCH' };
    }
    previous = expected;
  }
  return { intact: true, eventCount: events.length, headLink };
}
