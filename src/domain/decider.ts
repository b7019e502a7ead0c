/** A stream's rules as three pure functions (emmett's and oskardudycz's decider): the command handler runs them. */
export interface Decider<State, Command, Event> {
  decide(command: Command, state: State): Event[];
  evolve(state: State, event: Event): State;
  initialState(): State;
}
