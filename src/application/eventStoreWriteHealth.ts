import type { EventStore } from '../ports/eventStore';
import { EventStoreUnavailableError } from '../ports/eventStore';
import type { Logger } from '../logger';
import type { ReadinessProblem } from './readinessProblem';

/**
 * Whether the event store takes writes: a failed append (the store unavailable: a full disk, an I/O
 * error, a server down) marks it failing until an append succeeds. Reported on /readyz without
 * making the instance unready: reads and key verifications still work, and an instance taken out
 * of rotation would never append again to find out the disk has room. Logged once per change (the
 * GraphQL layer answers SERVICE_UNAVAILABLE to each writer and does not log it).
 */
export class EventStoreWriteHealth {
  private failingSince: Date | null = null;

  constructor(
    private readonly logger: Logger,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /** The store, its appends observed. */
  observe(store: EventStore): EventStore {
    return {
      appendToStream: async (...args) => {
        try {
          const result = await store.appendToStream(...args);
          this.succeeded();
          return result;
        } catch (error) {
          if (error instanceof EventStoreUnavailableError) this.failed(error);
          throw error;
        }
      },
      readStream: (...args) => store.readStream(...args),
      readAll: (...args) => store.readAll(...args),
      subscribeToAll: (...args) => store.subscribeToAll(...args),
      dispose: () => store.dispose(),
    };
  }

  get writable(): boolean {
    return this.failingSince === null;
  }

  problems(): ReadinessProblem[] {
    if (this.failingSince === null) return [];
    const since = this.failingSince.toISOString();
    return [{ component: 'eventStore', code: 'EVENT_STORE_WRITES_FAILING', message: `appends to the event store fail since ${since} (writes answer SERVICE_UNAVAILABLE; see the log); reads and verifications still work`, blocking: false }];
  }

  private failed(error: EventStoreUnavailableError): void {
    if (this.failingSince !== null) return;
    this.failingSince = this.clock();
    this.logger.error({ err: error }, `the event store refuses writes: ${error.message}; writes answer SERVICE_UNAVAILABLE until an append succeeds`);
  }

  private succeeded(): void {
    if (this.failingSince === null) return;
    this.logger.info({ failingSince: this.failingSince.toISOString() }, 'the event store takes writes again');
    this.failingSince = null;
  }
}
