/**
 * Program text run on the device outside the boot code: the REPL on the Nordic UART (line by line,
 * echoed as EspruinoTools expects) and `SimulatedEarbud.repl()` (one job, now).
 */
import vm from 'node:vm';
import type { Device } from './device';
import { instrument } from './instrument';

export class Repl {
  private line = '';

  constructor(private readonly dev: Device) {}

  /**
   * Run `code` now as if typed at the REPL (one job, instrumented and charged like any other) and
   * return its completion value. Errors are reported on the console like the REPL does, and rethrown.
   */
  evaluate(code: string): unknown {
    const script = new vm.Script(instrument(code).code, { filename: 'repl' });
    const run = this.run(script, 'repl');
    if (run.threw) throw run.error;
    return run.result;
  }

  /**
   * Run `script` as one job of `kind` as soon as the CPU is free (errors are reported like any job's)
   * and say what it returned or threw.
   */
  run(script: vm.Script, kind: string): { result: unknown; threw: boolean; error: unknown } {
    const out = { result: undefined as unknown, threw: false, error: undefined as unknown };
    this.dev.loop.runNow({
      fn: () => {
        try {
          out.result = script.runInContext(this.dev.ctx);
        } catch (e) {
          out.threw = true;
          out.error = e;
          throw e;
        }
      },
      args: [],
      thisArg: undefined,
      kind,
    });
    return out;
  }

  /**
   * Nordic UART RX is Espruino's REPL: characters are collected into a line; on Enter the line runs as
   * one job (as the console device event). `\x10` at the start of a line runs it without echo (what
   * EspruinoTools sends); `\x03` (Ctrl-C) clears the line. With echo, the result prints as `=value`.
   */
  input(bytes: Uint8Array): void {
    for (const b of bytes) {
      if (b === 3) {
        this.line = '';
        continue;
      }
      if (b !== 10 && b !== 13) {
        this.line += String.fromCharCode(b);
        continue;
      }
      if (b === 13) continue;
      let line = this.line;
      this.line = '';
      const echo = !line.startsWith('\x10');
      if (!echo) line = line.slice(1);
      if (line.trim() === '') continue;
      this.dev.loop.queue({ fn: () => this.runLine(line, echo), args: [], thisArg: undefined, kind: 'repl' });
    }
  }

  private runLine(line: string, echo: boolean): void {
    const radio = this.dev.radio;
    if (echo) radio.uartWrite(line + '\r\n');
    let script: vm.Script;
    try {
      script = new vm.Script(instrument(line).code, { filename: 'repl' });
    } catch (e) {
      radio.print(`Uncaught SyntaxError: ${(e as Error).message}\n`);
      return;
    }
    const r = script.runInContext(this.dev.ctx) as unknown;
    if (echo) radio.uartWrite(`=${this.formatValue(r)}\r\n>`);
  }

  private formatValue(v: unknown): string {
    if (v === undefined) return 'undefined';
    if (typeof v === 'function') return 'function () { [code] }';
    if (typeof v === 'string') return JSON.stringify(v);
    try {
      return this.dev.builtins.JSON.stringify(v) ?? String(v);
    } catch {
      return String(v);
    }
  }
}
