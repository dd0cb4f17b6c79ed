/**
 * CPU cost of the firmware on the real interpreter: x86 instructions counted by valgrind's callgrind
 * on the release build (-Os, as the device runs it), turned into nRF52 cycles by a documented
 * calibration (CALIBRATION; docs/FIRMWARE.md §CPU budget explains the sources and the band).
 *
 * What is counted: everything Espruino's main loop does (jsiLoop: the idle loop, every JavaScript job,
 * the natives, the Waveform timer interrupts run from it) and nothing of the Budlink shim's own I/O
 * (reading commands, reporting events: excluded by name with --toggle-collect), nor the shim's watchdog
 * thread (only the main thread is read). The nRF52's ADC conversion time, which a Linux process does not
 * have, is added from its datasheet figures (ADC_US_PER_SAMPLE). A figure is the difference between a
 * long and a short run of the same scenario, so boot, connection and WELCOME cancel out.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BoardProfile } from '@budlink/firmware/boards';
import { EspruinoEarbud } from '../earbud';
import { SimHost } from '../../core/host';
import type { QueuedAudio } from '../../core/earbud';
import { readWav } from '@budlink/protocol/audio';

/**
 * x86 instructions (32-bit, -Os, callgrind) → nRF52 (Cortex-M4F, 64 MHz) cycles, central estimate and
 * band. Derivation (docs/FIRMWARE.md §CPU budget): Thumb-2 needs ~1.0–1.3 instructions per x86
 * instruction on integer code like an interpreter's (x86 folds loads into ALU operations, has no
 * conditional-execution block); the Cortex-M4 retires them at ~1.1–1.6 cycles each with the nRF52's
 * flash cache (loads and taken branches cost 2–3 cycles, ALU operations 1); double-precision arithmetic,
 * hardware on x86, is software on the M4F's single-precision FPU (a few percent of an interpreter's
 * work). Product: ~1.1–2.1, plus that margin: 0.9 (low) to 2.3 (high), 1.5 central.
 */
export const CALIBRATION = { low: 0.9, central: 1.5, high: 2.3 };

/** nRF52 core clock (Hz). */
export const NRF52_HZ = 64_000_000;

/**
 * Busy-wait per ADC sample on the nRF52 (µs), which the Linux build does not have: Espruino's
 * jshPinAnalogFast starts the SAADC, waits 3 µs of acquisition (NRF_SAADC_ACQTIME_3US) plus the
 * conversion (≤ 2 µs at 8 bits, nRF52832 Product Specification), and stops it again: ~5 µs central,
 * 4–8 µs band (the START/STOP event handshakes are not specified more tightly).
 */
export const ADC_US_PER_SAMPLE = { low: 4, central: 5, high: 8 };

/** Shim functions whose instructions are not the device's (see the comment at the top). */
export const SHIM_IO_FUNCTIONS = [
  'bhwReadCommands',
  'bhwReadConsole',
  'bhwFlush',
  'bhwOutFlush',
  'bhwMicFlushRun',
  'bhwReportMicRate',
  'bhwEmit',
  'bhwEmitHex',
];

/**
 * valgrind's command line for counting the device's instructions: only the interpreter's main loop
 * (jsiLoop), without the shim's I/O, each thread apart; the profile goes to `outFile` if given.
 */
export function callgrindPrefix(outFile?: string): string[] {
  return [
    'valgrind',
    '--tool=callgrind',
    ...(outFile ? [`--callgrind-out-file=${outFile}`] : []),
    '--separate-threads=yes',
    '--collect-atstart=no',
    '--toggle-collect=jsiLoop',
    ...SHIM_IO_FUNCTIONS.map((f) => `--toggle-collect=${f}`),
  ];
}

export type CpuScenario = 'listen' | 'stream';

export interface CpuRun {
  /** Device instructions counted. */
  instructions: number;
  /** Microphone samples the ADC took during the run. */
  samples: number;
  /** Frames the host received. */
  frames: number;
}

function silence(board: BoardProfile, s: number): QueuedAudio {
  return { samples: new Uint8Array(Math.round(board.sampleRate * s)).fill(128), rate: board.sampleRate };
}

/** Speech for `s` seconds: the fixture repeated (the gate stays open: no pause long enough to end it). */
function speech(board: BoardProfile, s: number, fixture: string): QueuedAudio {
  const w = readWav(fixture);
  const src = w.samples as Int16Array;
  const n = Math.round(w.sampleRate * s);
  const out = new Int16Array(n);
  for (let i = 0; i < n; i++) out[i] = src[i % src.length] ?? 0;
  void board;
  return { samples: out, rate: w.sampleRate };
}

/**
 * One run under callgrind: boot, connect, WELCOME, then the scenario until the microphone has taken
 * `seconds` of audio. Streaming: 1.5 s of silence, then speech (the utterance opens at the VAD wake).
 */
export async function countRun(
  board: BoardProfile,
  scenario: CpuScenario,
  seconds: number,
  fixture: string,
  timeScale = 0.1,
): Promise<CpuRun> {
  const dir = mkdtempSync(join(tmpdir(), 'budlink-cg-'));
  const audio =
    scenario === 'listen'
      ? [silence(board, seconds + 30)]
      : [silence(board, 1.5), speech(board, seconds + 30, fixture)];
  const prefix = callgrindPrefix(join(dir, 'cg.out'));
  const e = await EspruinoEarbud.start({ board: board.id, mode: 'release', timeScale, prefix, audio });
  try {
    const host = new SimHost(e, { mtu: 247 });
    host.connect();
    const target = Math.round(board.sampleRate * (1.5 + seconds));
    while (e.micSamples().length < target) await host.runFor(100);
    const samples = e.micSamples().length;
    await e.stop();
    return { instructions: mainThreadTotal(dir), samples, frames: host.frames.length };
  } finally {
    await e.stop();
    if (process.env.BUDLINK_KEEP_CALLGRIND) process.stderr.write(`callgrind output kept in ${dir}\n`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

/** The Ir total of the main thread's callgrind file (thread 1). */
function mainThreadTotal(dir: string): number {
  const files = readdirSync(dir).filter((f) => f.startsWith('cg.out'));
  const main = files.find((f) => f.endsWith('-01')) ?? files.find((f) => f === 'cg.out');
  if (!main) throw new Error(`no callgrind output in ${dir} (${files.join(', ')})`);
  const text = readFileSync(join(dir, main), 'utf8');
  const m = /^(?:totals|summary):\s+(\d+)/m.exec(text);
  if (!m) throw new Error(`no totals in ${main}`);
  return Number(m[1]);
}

export interface CpuFigure {
  /** x86 instructions per second of audio (difference of a long and a short run). */
  instructionsPerSecond: number;
  /** Share of a 64 MHz nRF52 (ADC conversion time included) at the calibration's low/central/high. */
  share: { low: number; central: number; high: number };
}

/** Instructions per audio second and the nRF52 CPU share, from a `short`- and a `long`-second run. */
export async function cpuFigure(
  board: BoardProfile,
  scenario: CpuScenario,
  fixture: string,
  short = 2,
  long = 6,
): Promise<CpuFigure> {
  // a run counts until the ADC has taken its samples: without a driven microphone it would never end
  if (board.mic.source !== 'analog')
    throw new Error(
      `${board.id}: no CPU figure, its ${board.mic.source} microphone is not driven by this build`,
    );
  const a = await countRun(board, scenario, short, fixture);
  const b = await countRun(board, scenario, long, fixture);
  const perSample = (b.instructions - a.instructions) / (b.samples - a.samples);
  const ips = perSample * board.sampleRate;
  const share = (k: 'low' | 'central' | 'high'): number =>
    (ips * CALIBRATION[k]) / NRF52_HZ + (board.sampleRate * ADC_US_PER_SAMPLE[k]) / 1e6;
  return {
    instructionsPerSecond: ips,
    share: { low: share('low'), central: share('central'), high: share('high') },
  };
}
