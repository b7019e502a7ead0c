import type { JSONObject, Position } from '../src/application/ports/eventStore';

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
