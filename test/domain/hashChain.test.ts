import { createHash, createHmac } from 'node:crypto';
import type { ChainableEvent, RecordedLink } from '../../src/domain/audit/hashChain';
import { GENESIS_LINK, auditKeyring, chainLink, chainLinks, verifyChain } from '../../src/domain/audit/hashChain';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const created = { type: 'ApiKeyCreated', data: { name: 'prod', keyId: 'k1', scope: { mode: 'ALL', models: [] } } };
const renamed = { type: 'ApiKeyRenamed', data: { name: 'staging', previousName: 'prod' } };
const disabled = { type: 'ApiKeyStatusChanged', data: { status: 'DISABLED', reason: 'OWNER' } };

describe('Hash chain', () => {
  it('should link the first event to the genesis link with SHA-256 over canonical JSON (sorted keys, no spaces)', () => {
    const expected = sha256(`${GENESIS_LINK}\n{"data":{"keyId":"k1","name":"prod","scope":{"mode":"ALL","models":[]}},"type":"ApiKeyCreated"}`);
    expect(chainLink(null, created)).toBe(expected);
  });

  it('should cover the actor when the event names one', () => {
    const byAlice = chainLink(null, { ...renamed, actor: 'alice' });
    expect(byAlice).toBe(sha256(`${GENESIS_LINK}\n{"actor":"alice","data":{"name":"staging","previousName":"prod"},"type":"ApiKeyRenamed"}`));
    expect(chainLink(null, { ...renamed, actor: 'mallory' })).not.toBe(byAlice);
  });

    it('should not depend on the order of fields', () => {
    expect(chainLink(null, { type: 'ApiKeyRenamed', data: { previousName: 'prod', name: 'staging' } })).toBe(chainLink(null, renamed));
  });

  it('should make each link depend on the previous one', () => {
    const [first, second] = chainLinks(null, [created, renamed]);
    expect(second).toBe(chainLink(first as string, renamed));
    expect(second).not.toBe(chainLink(null, renamed));
  });

  it('should continue a stream from its last link', () => {
    const links = chainLinks(null, [created, renamed, disabled]);
    expect(chainLinks(links[1] as string, [disabled])).toEqual([links[2]]);
  });

  describe('verification', () => {
    const recorded = () => {
      const events = [created, renamed, disabled];
      const links = chainLinks(null, events);
      return events.map((event, index) => ({ ...event, id: `e${index}`, link: links[index] }));
    };

    it('should find an untouched chain intact and report its head', () => {
      const events = recorded();
      expect(verifyChain(events)).toEqual({ intact: true, eventCount: 3, headLink: events[2]?.link, unkeyedEventCount: 3 });
    });

    it('should name the first event whose content was edited', () => {
      const events = recorded();
      events[1] = { ...renamed, data: { name: 'evil', previousName: 'prod' }, id: 'e1', link: events[1]?.link };
      expect(verifyChain(events)).toMatchObject({ intact: false, firstBrokenIndex: 1, firstBrokenEventId: 'e1', problem: 'LINK_MISMATCH' });
    });

    it('should catch an edit whose link was recomputed too, at the next event', () => {
      const events = recorded();
      const forged = { ...renamed, data: { name: 'evil', previousName: 'prod' } };
      events[1] = { ...forged, id: 'e1', link: chainLink(events[0]?.link ?? null, forged) };
      expect(verifyChain(events)).toMatchObject({ intact: false, firstBrokenIndex: 2, problem: 'LINK_MISMATCH' });
    });

    it('should catch a removed event and an event without a link', () => {
      const events = recorded();
      expect(verifyChain([events[0]!, events[2]!])).toMatchObject({ intact: false, firstBrokenIndex: 1, firstBrokenEventId: 'e2' });
      expect(verifyChain([{ ...created, id: 'e0', link: undefined }])).toMatchObject({ intact: false, firstBrokenIndex: 0, problem: 'MISSING_LINK' });
    });
  });

  describe('keyed with an audit key held outside the store', () => {
    const KEY = 'an-audit-key-of-at-least-32-characters-0001';
    const keyring = auditKeyring(KEY);
    const key = keyring.current!;
    const withLinks = (events: ChainableEvent[], links: string[]): RecordedLink[] => events.map((event, index) => ({ ...event, id: `e${index}`, link: links[index] }));
    /** What a store writer without the key can do at best: rewrite an event and recompute every later link, unkeyed or with a guessed key. */
    const rewriteFrom = (events: RecordedLink[], index: number, forged: ChainableEvent, relink: (previous: string | null, event: ChainableEvent) => string): RecordedLink[] => {
      const rewritten = events.map((event, i) => (i === index ? { ...forged, id: event.id, link: undefined } : { ...event }));
      let previous: string | null = index === 0 ? null : (rewritten[index - 1]?.link ?? null);
      for (let i = index; i < rewritten.length; i += 1) {
        const link = relink(previous, rewritten[i] as ChainableEvent);
        rewritten[i] = { ...(rewritten[i] as RecordedLink), link };
        previous = link;
      }
      return rewritten;
    };
    const events = [created, renamed, disabled];

    it('should make HMAC-SHA256 links that name the key, over the same text as the unkeyed ones', () => {
      const link = chainLink(null, created, key);
      const digest = createHmac('sha256', KEY).update(`${GENESIS_LINK}\n{"data":{"keyId":"k1","name":"prod","scope":{"mode":"ALL","models":[]}},"type":"ApiKeyCreated"}`).digest('hex');
      expect(link).toBe(`hmac-sha256:${key.id}:${digest}`);
      expect(key.id).toMatch(/^[0-9a-f]{8}$/);
      expect(auditKeyring('another-audit-key-of-at-least-32-characters').current?.id).not.toBe(key.id);
    });

    it('should verify a keyed chain only with the key, and count no unkeyed events', () => {
      const chain = withLinks(events, chainLinks(null, events, key));
      expect(verifyChain(chain, keyring)).toEqual({ intact: true, eventCount: 3, headLink: chain[2]?.link, unkeyedEventCount: 0 });
      expect(verifyChain(chain)).toMatchObject({ intact: false, firstBrokenIndex: 0, problem: 'UNKNOWN_KEY' });
    });

    it('should catch an event rewritten with every later link recomputed, unkeyed or with another key', () => {
      const chain = withLinks(events, chainLinks(null, events, key));
      const forged = { ...renamed, data: { name: 'evil', previousName: 'prod' } };
      const unkeyedRewrite = rewriteFrom(chain, 1, forged, (previous, event) => chainLink(previous, event));
      expect(verifyChain(unkeyedRewrite, keyring)).toMatchObject({ intact: false, firstBrokenIndex: 1, firstBrokenEventId: 'e1', problem: 'UNKEYED_LINK' });
      const guessedKey = { id: key.id, secret: Buffer.from('a-guess-of-the-key-of-32-characters-or-more') };
      const keyedRewrite = rewriteFrom(chain, 1, forged, (previous, event) => chainLink(previous, event, guessedKey));
      expect(verifyChain(keyedRewrite, keyring)).toMatchObject({ intact: false, firstBrokenIndex: 1, firstBrokenEventId: 'e1', problem: 'LINK_MISMATCH' });
      // Without the key the same rewrite of an unkeyed history goes unnoticed: what the key adds.
      const legacy = withLinks(events, chainLinks(null, events));
      expect(verifyChain(rewriteFrom(legacy, 1, forged, (previous, event) => chainLink(previous, event)), keyring)).toMatchObject({ intact: true });
    });

    it('should still verify histories written before the key (unkeyed, then keyed), counting their unkeyed events', () => {
      const before = chainLinks(null, [created, renamed]);
      const after = chainLinks(before[1] as string, [disabled], key);
      const chain = withLinks(events, [...before, ...after]);
      expect(verifyChain(chain, keyring)).toEqual({ intact: true, eventCount: 3, headLink: after[0], unkeyedEventCount: 2 });
      // An edit in the unkeyed part is still caught by the keyed link after it, even with the unkeyed links recomputed.
      const forged = { ...renamed, data: { name: 'evil', previousName: 'prod' } };
      const rewritten = chain.map((event) => ({ ...event }));
      rewritten[1] = { ...forged, id: 'e1', link: chainLink(rewritten[0]?.link ?? null, forged) };
      expect(verifyChain(rewritten, keyring)).toMatchObject({ intact: false, firstBrokenIndex: 2, problem: 'LINK_MISMATCH' });
    });

    it('should count an unkeyed link anywhere as a break where keyed links are required, catching a history rewritten whole', () => {
      const strict = auditKeyring(KEY, [], { requireKeyed: true });
      const chain = withLinks(events, chainLinks(null, events, key));
      expect(verifyChain(chain, strict)).toMatchObject({ intact: true, unkeyedEventCount: 0 });
      const rewrittenWhole = rewriteFrom(chain, 0, { ...created, data: { ...created.data, name: 'evil' } }, (previous, event) => chainLink(previous, event));
      expect(verifyChain(rewrittenWhole, keyring)).toMatchObject({ intact: true, unkeyedEventCount: 3 });
      expect(verifyChain(rewrittenWhole, strict)).toMatchObject({ intact: false, firstBrokenIndex: 0, problem: 'UNKEYED_LINK' });
    });

    it('should verify links of a retired key, and make new ones with the current key', () => {
      const old = auditKeyring('the-retired-audit-key-of-32-characters-00');
      const rotated = auditKeyring(KEY, ['the-retired-audit-key-of-32-characters-00']);
      const first = chainLinks(null, [created, renamed], old.current);
      const chain = withLinks(events, [...first, ...chainLinks(first[1] as string, [disabled], rotated.current)]);
      expect(verifyChain(chain, rotated)).toMatchObject({ intact: true, unkeyedEventCount: 0 });
      expect(verifyChain(chain, keyring)).toMatchObject({ intact: false, firstBrokenIndex: 0, problem: 'UNKNOWN_KEY' });
    });
  });
});
