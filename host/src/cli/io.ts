/**
 * What a command talks to: stdout for results, stderr for logs and progress lines, the environment,
 * the working directory and the Ctrl-C signal. And the errors that mean "usage" (exit 2).
 */

export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: Record<string, string | undefined>;
  cwd: string;
  /** Aborted on SIGINT (Ctrl-C). */
  signal: AbortSignal;
  /** --quiet: no progress lines. */
  quiet?: boolean;
}

/** A mistake in the command line or a file it names: reported on stderr, exit code 2. */
export class UsageError extends Error {}

/** The process's own streams, environment and directory, for what `partial` leaves out. */
export function processIo(partial: Partial<CliIo> = {}): CliIo {
  return {
    stdout: partial.stdout ?? ((t) => void process.stdout.write(t + '\n')),
    stderr: partial.stderr ?? ((t) => void process.stderr.write(t + '\n')),
    env: partial.env ?? process.env,
    cwd: partial.cwd ?? process.cwd(),
    signal: partial.signal ?? new AbortController().signal,
  };
}

/** A progress / status line on stderr (JSON when --json). */
export function progress(io: CliIo, json: boolean): (line: string) => void {
  if (io.quiet) return () => undefined;
  return (line) =>
    io.stderr(
      json ? JSON.stringify({ time: new Date().toISOString(), level: 'info', msg: line }) : `… ${line}`,
    );
}

/** Resolves when `signal` aborts (at once if it has). */
export function waitAbort(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
}
