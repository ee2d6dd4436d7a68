// A bare pseudo-terminal for tests of the tty binding in both directions at once (bare-pty.py says
// why not socat). The helper process is stopped by its pid at close().

import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';

export class BarePty {
  private constructor(
    private readonly proc: ChildProcess,
    private readonly lines: AsyncIterator<string>,
    /** The tty a port opens. */
    readonly path: string,
  ) {}

  static async open(): Promise<BarePty> {
    const proc = spawn('python3', [fileURLToPath(new URL('./bare-pty.py', import.meta.url))], { stdio: ['pipe', 'pipe', 'inherit'] });
    const lines = createInterface({ input: proc.stdout! })[Symbol.asyncIterator]();
    const first = await lines.next();
    if (first.done === true) throw new Error('bare-pty.py ended before it printed its tty (is python3 installed?)');
    return new BarePty(proc, lines, first.value);
  }

  /** Writes `n` bytes towards the port; resolves with how many the tty took within 3 s. */
  send(n: number): Promise<number> {
    return this.ask(`send ${n}`);
  }

  /** Reads what the port wrote, up to `n` bytes or until 3 s pass without any; resolves with how many. */
  drain(n: number): Promise<number> {
    return this.ask(`drain ${n}`);
  }

  async close(): Promise<void> {
    this.proc.stdin!.end('quit\n');
    if (this.proc.exitCode === null && this.proc.pid !== undefined) {
      const exited = new Promise((r) => this.proc.once('exit', r));
      this.proc.kill('SIGTERM');
      await exited;
    }
  }

  private async ask(command: string): Promise<number> {
    this.proc.stdin!.write(`${command}\n`);
    const line = await this.lines.next();
    if (line.done === true) throw new Error(`bare-pty.py ended during "${command}"`);
    return Number(line.value.split(' ')[1]);
  }
}
