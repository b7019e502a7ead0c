/** Where the service stands; /readyz reports it, and requests are served only when it is `ready` (or finishing while `stopping`). */
export type LifecycleState =
  | { status: 'starting' }
  | { status: 'ready' }
  /** The engines do not answer (at start, or lost at run time); `reason` says which and why. */
  | { status: 'unavailable'; reason: string }
  | { status: 'stopping' };

/**
 * The service's one lifecycle state. The composition root moves it (starting → ready → stopping,
 * unavailable while the engines cannot be reached at start); once ready, `health` (the projection
 * runner's) can make it unavailable at run time, and ready again without anyone moving it back.
 */
export class Lifecycle {
  private state: LifecycleState = { status: 'starting' };

  /** `health` answers null while healthy, else why not. */
  constructor(private readonly health: () => string | null = () => null) {}

  get current(): LifecycleState {
    if (this.state.status !== 'ready') return this.state;
    const reason = this.health();
    return reason === null ? this.state : { status: 'unavailable', reason };
  }

  /** Whether a request is answered: when ready, and while stopping (in-flight and keep-alive requests drain). */
  get serving(): boolean {
    const { status } = this.current;
    return status === 'ready' || status === 'stopping';
  }

  ready(): void {
    if (this.state.status !== 'stopping') this.state = { status: 'ready' };
  }

  unavailable(reason: string): void {
    if (this.state.status !== 'stopping') this.state = { status: 'unavailable', reason };
  }

  stopping(): void {
    this.state = { status: 'stopping' };
  }
}
