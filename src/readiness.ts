import type { ProjectionProblem } from '../projections/runner';
import type { ReadinessProblem } from './application/readinessProblem';

/** The projection runner's problem as /readyz reports it. */
export function projectionReadiness(problem: ProjectionProblem | null): ReadinessProblem[] {
  if (problem === null) return [];
  const { code, message, position } = problem;
  return [{ component: 'projection', code, message, ...(position !== null ? { position } : {}), blocking: true }];
}
