import type { Collection } from '../src/ports/collection';
import type { Position } from '../src/ports/eventStore';
import type { CheckpointDocument } from '../src/readModel/documents';

/** A position as a string that sorts like the position: both parts zero-padded to 20 digits (2^64 has 20). */
export const positionOrder = (position: Position): string => `${position.commit.toString().padStart(20, '0')}/${position.prepare.toString().padStart(20, '0')}`;

/**
 * Moves the shared checkpoint forward to `position`, never back: instances share it, and one that
 * is behind (a slow batch, a replay after a failure) must not undo another's progress. A guarded
 * update first (no upsert: a guard that fails must not try to insert a second document with the
 * same _id, MongoDB's E11000 pitfall), then an insert for a read model that has none yet.
 */
export async function advanceCheckpoint(checkpoints: Collection<CheckpointDocument>, id: string, position: Position): Promise<void> {
  const fields = { commit: position.commit.toString(), prepare: position.prepare.toString(), order: positionOrder(position) };
  const behind = { _id: id, $or: [{ order: { $lt: fields.order } }, { order: { $exists: false } }] };
  const moved = await checkpoints.updateOne(behind, { $set: fields });
  if (moved.matchedCount > 0) return;
  await checkpoints.updateOne({ _id: id }, { $setOnInsert: fields }, { upsert: true });
}
