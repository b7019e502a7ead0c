import cliProgress from 'cli-progress';

/** Step lines and progress bars on stderr, so stdout carries only the results table. */
export class Progress {
  private step = 0;

  constructor(private readonly steps: number) {}

  announce(label: string): void {
    this.step += 1;
    process.stderr.write(`[${this.step}/${this.steps}] ${label}\n`);
  }

  note(text: string): void {
    process.stderr.write(`      ${text}\n`);
  }

  /** A bar over a count (seeding, trials). */
  counter(label: string, total: number): { update(done: number): void; stop(): void } {
    const bar = new cliProgress.SingleBar(
      { format: `      ${label} [{bar}] {value}/{total} {percentage}% {duration_formatted}`, stream: process.stderr, noTTYOutput: true, notTTYSchedule: 5000 },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, 0);
    return { update: (done) => bar.update(done), stop: () => bar.stop() };
  }

  /** A bar that fills over a timed run (a load test). */
  async timed<T>(label: string, seconds: number, run: () => Promise<T>): Promise<T> {
    const bar = this.counter(`${label} (${seconds} s)`, Math.max(1, Math.round(seconds)));
    const started = Date.now();
    const timer = setInterval(() => bar.update(Math.min(Math.round(seconds), Math.floor((Date.now() - started) / 1000))), 1000);
    try {
      return await run();
    } finally {
      clearInterval(timer);
      bar.update(Math.max(1, Math.round(seconds)));
      bar.stop();
    }
  }
}
