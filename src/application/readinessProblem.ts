/**
 * One thing /readyz reports, typed for whoever turns readiness into a state. What it shows is safe
 * for an unauthenticated probe: codes and log positions, never an error's text or a tenant's stream
 * name (those are in the log).
 */
export interface ReadinessProblem {
  readonly component: 'projection' | 'eventStore';
  readonly code: string;
  readonly message: string;
  readonly position?: string;
  /** True: the instance must not take traffic. False: reported, but reads and verifications still work. */
  readonly blocking: boolean;
}
