import { DomainError } from '../../src/domain/errors';

/**
 * Given events / when command / then events or error, for any decider:
 *   spec.given([...]).when(command).then([...])
 *   spec.given([...]).when(command).thenThrows('CONFLICT')
 */
export function deciderSpecification<State, Command, Event>(decider: {
  decide(command: Command, state: State): Event[];
  evolve(state: State, event: Event): State;
  initialState(): State;
}) {
  return {
    given(events: Event[]) {
      return {
        when(command: Command) {
          const run = () => decider.decide(command, events.reduce(decider.evolve, decider.initialState()));
          return {
            then(expected: Event[]) {
              expect(run()).toEqual(expected);
            },
            thenNothingHappens() {
              expect(run()).toEqual([]);
            },
            thenThrows(code: DomainError['code'], field?: string) {
              let thrown: unknown;
              try {
                run();
              } catch (error) {
                thrown = error;
              }
              expect(thrown).toBeInstanceOf(DomainError);
              expect((thrown as DomainError).code).toBe(code);
              if (field !== undefined) expect((thrown as DomainError).field).toBe(field);
            },
          };
        },
      };
    },
  };
}
