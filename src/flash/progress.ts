// Progress lines on stderr ("flash [3/7] copying node_modules: 86 packages, 31.2 MB"), so stdout
// carries only the summary (or the one JSON object of --json) and stays pipeable.

/** Decimal megabytes with one digit, as disk and SD card sizes are quoted. */
export function formatBytes(n: number): string {
  if (n < 1000) return `${n} B`;
  if (n < 1_000_000) return `${(n / 1000).toFixed(1)} kB`;
  return `${(n / 1_000_000).toFixed(1)} MB`;
}

export class Progress {
  private step = 0;
  constructor(
    private readonly out: NodeJS.WritableStream,
    private readonly total: number,
  ) {}

  /** Starts the next step. */
  next(message: string): void {
    this.step = Math.min(this.step + 1, this.total);
    this.out.write(`flash [${this.step}/${this.total}] ${message}\n`);
  }

  /** A note within the current step (warnings, created keys). */
  note(message: string): void {
    this.out.write(`flash: ${message}\n`);
  }
}
