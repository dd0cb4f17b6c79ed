/**
 * One run of the real Espruino interpreter (built by build/build.ts) as a child process:
 * its console on stdin/stdout, the Budlink hardware shim on fd 3 (commands in) and fd 4 (events out).
 * The wire between them is documented in docs/ESPRUINO-ENGINE.md; this class only frames it.
 *
 * The device clock: microseconds since the process started (CLOCK_MONOTONIC, the clock Node's
 * process.hrtime reads), times BUDLINK_TIME_SCALE. `deviceNowMs()` reads it from here.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import type { Readable, Writable } from 'node:stream';

export interface ShimEvent {
  kind: string;
  /** Device time (ms) the shim stamped the event with. */
  t: number;
  /** The rest of the line after kind and time. */
  args: string;
}

export interface InterpreterOptions {
  binary: string;
  /** Working directory: its `espruino.flash` is the device's flash (Storage). */
  dir: string;
  /** JsVars of this run (default: the build's). */
  jsVars?: number;
  /** Math.random seed (E.srand). */
  seed?: number;
  /** Device seconds per host second (a slow device clock for runs under valgrind). */
  timeScale?: number;
  /** Extra arguments: the interpreter runs as `prefix... binary` (e.g. valgrind). */
  prefix?: string[];
  onEvent: (e: ShimEvent) => void;
  /** One console line (prompt and ANSI codes removed). */
  onConsole: (line: string) => void;
  onExit: (code: number | null, signal: NodeJS.Signals | null) => void;
}

export class Interpreter {
  readonly child: ChildProcess;
  private readonly cmd: Writable;
  private t0: bigint | null = null;
  private scale = 1;
  private offsetUs = 0;
  private consoleBuf = '';
  private eventBuf = '';
  exited = false;

  constructor(private readonly o: InterpreterOptions) {
    const env: NodeJS.ProcessEnv = { ...process.env };
    if (o.jsVars !== undefined) env.ESPRUINO_JSVARS = String(o.jsVars);
    if (o.seed !== undefined) env.BUDLINK_SEED = String(o.seed >>> 0);
    if (o.timeScale !== undefined) env.BUDLINK_TIME_SCALE = String(o.timeScale);
    const argv = [...(o.prefix ?? []), resolve(o.binary)];
    this.child = spawn(argv[0]!, argv.slice(1), {
      cwd: o.dir,
      env,
      stdio: ['pipe', 'pipe', 'pipe', 'pipe', 'pipe'],
    });
    this.cmd = this.child.stdio[3] as Writable;
    // A write after the process died must not take the driver down with EPIPE.
    for (const s of [this.child.stdin, this.cmd]) s?.on('error', () => undefined);
    this.child.stdout!.setEncoding('latin1');
    this.child.stdout!.on('data', (d: string) => this.onStdout(d));
    this.child.stderr!.on('data', () => undefined);
    const evt = this.child.stdio[4] as Readable;
    evt.setEncoding('latin1');
    evt.on('data', (d: string) => this.onEvents(d));
    this.child.on('error', (e) => {
      // spawn failed (no such binary): report it as an exit, there is no process
      o.onConsole(`[espruino] cannot start ${argv[0]}: ${e.message}`);
      if (!this.exited) {
        this.exited = true;
        o.onExit(null, null);
      }
    });
    this.child.on('exit', (code, signal) => {
      if (this.exited) return;
      this.exited = true;
      this.flushConsole();
      o.onExit(code, signal);
    });
  }

  /** The device clock now, in ms (NaN before the shim said hello). */
  deviceNowMs(): number {
    if (this.t0 === null) return NaN;
    const us = Number(process.hrtime.bigint() - this.t0) / 1000;
    return (us * this.scale + this.offsetUs) / 1000;
  }

  /** Host ms until device time `t` (ms). */
  hostDelayMs(t: number): number {
    return (t - this.deviceNowMs()) / this.scale;
  }

  get timeScale(): number {
    return this.scale;
  }

  command(line: string): void {
    if (!this.exited) this.cmd.write(line + '\n');
  }

  /** Type at the console (the REPL); `\x10` at the start of a line turns its echo off. */
  type(text: string): void {
    if (!this.exited) this.child.stdin!.write(text, 'latin1');
  }

  kill(): void {
    if (!this.exited) this.child.kill('SIGKILL');
  }

  private onEvents(d: string): void {
    this.eventBuf += d;
    let nl: number;
    while ((nl = this.eventBuf.indexOf('\n')) >= 0) {
      const line = this.eventBuf.slice(0, nl);
      this.eventBuf = this.eventBuf.slice(nl + 1);
      const a = line.indexOf(' ');
      const b = line.indexOf(' ', a + 1);
      const kind = line.slice(0, a);
      const t = Number(line.slice(a + 1, b < 0 ? undefined : b)) / 1000;
      const args = b < 0 ? '' : line.slice(b + 1);
      if (kind === 'H') this.hello(args);
      this.o.onEvent({ kind, t, args });
    }
  }

  private hello(args: string): void {
    const [sec, nsec, scale, offset] = args.split(' ');
    this.t0 = BigInt(sec!) * 1_000_000_000n + BigInt(nsec!);
    this.scale = Number(scale);
    this.offsetUs = Number(offset);
  }

  private onStdout(d: string): void {
    this.consoleBuf += d;
    let nl: number;
    while ((nl = this.consoleBuf.indexOf('\n')) >= 0) {
      this.emitConsole(this.consoleBuf.slice(0, nl));
      this.consoleBuf = this.consoleBuf.slice(nl + 1);
    }
  }

  private flushConsole(): void {
    if (this.consoleBuf) this.emitConsole(this.consoleBuf);
    this.consoleBuf = '';
  }

  private emitConsole(raw: string): void {
    // The REPL redraws its prompt around output: drop "\r", ESC[J and leading ">" prompts.
    const line = raw.split('\r').join('').split('\x1b[J').join('').replace(/^>+/, '');
    if (line.length > 0) this.o.onConsole(line);
  }
}
