import type { Database } from '../ports/collection';
import type { ApiKeyDocument, KeyIndexDocument } from './documents';
import { COLLECTIONS } from './documents';

/** The hashed-key index by what it answers: the entry of a secret's hash (verification, leak reports). */
export interface KeyIndex {
  entryOf(secretHash: string): Promise<KeyIndexDocument | null>;
}

/** When a key was last used, as the read model knows it (uses are not lifecycle events, so no stream holds it per key). */
export interface KeyLastUse {
  lastUsedAt(keyId: string): Promise<Date | null>;
}

export function keyIndexIn(database: Database): KeyIndex {
  const entries = database.collection<KeyIndexDocument>(COLLECTIONS.keyIndex);
  return { entryOf: (secretHash) => entries.findOne({ _id: secretHash }) };
}

export function keyLastUseIn(database: Database): KeyLastUse {
  const keys = database.collection<ApiKeyDocument>(COLLECTIONS.apiKeys);
  return { lastUsedAt: async (keyId) => (await keys.findOne({ _id: keyId }, { projection: { lastUsedAt: 1 } }))?.lastUsedAt ?? null };
}

/** The accounts of keys that exist and are not deleted, by key id (token reports). */
export interface KeyOwners {
  accountsOf(keyIds: readonly string[]): Promise<Map<string, string>>;
}

export function keyOwnersIn(database: Database): KeyOwners {
  const keys = database.collection<ApiKeyDocument>(COLLECTIONS.apiKeys);
  return {
    // One lookup by _id per distinct key, in parallel: the in-process read model answers each from its map; MongoDB from the _id index.
    accountsOf: async (keyIds) => {
      const found = await Promise.all(keyIds.map((_id) => keys.findOne({ _id }, { projection: { accountId: 1, deletedAt: 1 } })));
      const owners = new Map<string, string>();
      for (const doc of found) if (doc && !doc.deletedAt) owners.set(doc._id, doc.accountId);
      return owners;
    },
  };
}
