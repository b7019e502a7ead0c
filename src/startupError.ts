/** A reason not to start that the operator must act on: main prints its message alone (no stack) and exits 2. */
export class StartupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}
