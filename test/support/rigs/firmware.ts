/**
 * The firmware's end-to-end rig (test/firmware/e2e/, and the CPU factor test/firmware/engines/ uses):
 * fixtures, earbuds stopped after each test, a connected host.
 */
import { fileURLToPath } from 'node:url';
import { SimHost, SimulatedEarbud, type VmEarbudOptions } from '@budlink/sim';

/** Path of an audio fixture in test/fixtures/audio. */
export const fixture = (name: string): string =>
  fileURLToPath(new URL(`../../fixtures/audio/${name}`, import.meta.url));

const live: SimulatedEarbud[] = [];

/**
 * These tests check the firmware's logic end to end (frames, pacing against the TX queue, recovery,
 * resume, playback), so they run it on a CPU ten times an nRF52's: with the cost model calibrated
 * against the real interpreter, the firmware needs most of a 64 MHz nRF52 while streaming at its
 * default rate (docs/FIRMWARE.md, "CPU budget"), and whether it keeps up in real time on the device is
 * a measured figure (`npm run bench`: firmware.max_rate_hz.*, firmware.real_*_cpu_share), not a test.
 * The same factor as firmware/sim/espruino/cost/ratios.ts uses to compare the engines' work.
 */
export const LOGIC_CPU_SPEED = 10;

/** Boot `board`'s built bundle (stopped again by `stopAll()` in afterEach). */
export function earbudOn(board: string, options: Omit<VmEarbudOptions, 'board'> = {}): SimulatedEarbud {
  const earbud = SimulatedEarbud.create({ cpuSpeed: LOGIC_CPU_SPEED, ...options, board });
  live.push(earbud);
  return earbud;
}

/** Boot `board` and connect a SimHost at MTU 247 (no time has run yet). */
export function connected(
  board: string,
  options: Omit<VmEarbudOptions, 'board'> = {},
): { earbud: SimulatedEarbud; host: SimHost } {
  const earbud = earbudOn(board, options);
  const host = new SimHost(earbud, { mtu: 247 });
  host.connect();
  return { earbud, host };
}

export function stopAll(): void {
  for (const e of live.splice(0)) e.stop();
}
