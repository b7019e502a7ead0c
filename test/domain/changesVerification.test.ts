import { API_KEY_EVENT_TYPES, changesVerification } from '../../src/domain/apiKey/events';

describe('ApiKey events › which can change verification', () => {
  it('should name creation, rename and description changes as the only ones that cannot', () => {
    expect(API_KEY_EVENT_TYPES.filter((type) => !changesVerification(type))).toEqual(['ApiKeyCreated', 'ApiKeyRenamed', 'ApiKeyDescriptionUpdated']);
  });

  it('should treat an event type it does not know (a newer writer) as one that can', () => {
    for (const type of ['ApiKeyArchived', 'toString', 'constructor', '']) expect(changesVerification(type)).toBe(true);
  });
});
