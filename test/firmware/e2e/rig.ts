/** Shared set-up of the built-bundle e2e tests: fixtures, earbuds stopped after each test, a connected host. */
import { fileURLToPath } from 'node:url';
import { SimHost, SimulatedEarbud, type EarbudOptions } from '@budlink/firmware/sim';

/** Path of an audio fixture in test/fixtures/audio. */
export const fixture = (name: string): string =>
  fileURLToPath(new URL(`../../fixtures/audio/${name}`, import.meta.url));

const live: SimulatedEarbud[] = [];

/** Boot `board`'s built bundle (stopped again by `stopAll()` in afterEach). */
export function earbudOn(board: string, options: Omit<EarbudOptions, 'board'> = {}): SimulatedEarbud {
  const earbud = SimulatedEarbud.create({ ...options, board });
  live.push(earbud);
  return earbud;
}

/** Boot `board` and connect a SimHost at MTU 247 (no time has run yet). */
export function connected(
  board: string,
  options: Omit<EarbudOptions, 'board'> = {},
): { earbud: SimulatedEarbud; host: SimHost } {
  const earbud = earbudOn(board, options);
  const host = new SimHost(earbud, { mtu: 247 });
  host.connect();
  return { earbud, host };
}

export function stopAll(): void {
  for (const e of live.splice(0)) e.stop();
}
