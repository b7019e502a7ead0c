import type { JSONObject, Position, RecordedEvent } from '../ports/eventStore';

/** An event as the projections see it: what was recorded, where, and in which order. */
export interface ProjectedEvent {
  readonly id: string;
  readonly type: string;
  readonly data: JSONObject;
  readonly metadata: JSONObject | undefined;
  readonly streamId: string;
  /** Revision within its stream, from 0 (a key's version is revision + 1). */
  readonly revision: number;
  readonly position: Position;
}

export const toProjectedEvent = (event: RecordedEvent): ProjectedEvent => ({
  id: event.id,
  type: event.type,
  data: event.data,
  metadata: event.metadata,
  streamId: event.streamId,
  revision: Number(event.revision),
  position: event.position,
});
