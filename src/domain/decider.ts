/** A stream's rules as three pure functions (emmett's and oskardudycz's decider): the command handler runs them. */
export interface Decider<State, Command, Event> {
  decide(command: Command, state: State): Event[];
  evolve(state: State, event: Event): State;
  initialState(): State;
  /**
   * Optional: the same as folding `events` one by one with `evolve`, for a state that is costly to
   * copy per event (an account's slots are copied once for the whole batch, not once per event).
   */
  evolveAll?(state: State, events: readonly Event[]): State;
}
