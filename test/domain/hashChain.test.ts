import { createHash } from 'node:crypto';
import { GENESIS_LINK, chainLink, chainLinks, verifyChain } from '../../src/domain/audit/hashChain';

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
      expect(verifyChain(events)).toEqual({ intact: true, eventCount: 3, headLink: events[2]?.link });
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
});
