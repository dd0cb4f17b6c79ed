/**
 * `createEarbud`: a simulated earbud on the engine named by `engine` (docs/adr/0005), the vm
 * simulator or the real Espruino interpreter, with that engine's options. Resolves once the bundle has
 * booted (E.on('init') handlers run), as an `Earbud`, or as the engine's class when the engine is
 * known where it is called (for what only that engine has: the vm's virtual clock, the real engine's
 * memory report).
 */
import type { Earbud } from './core/earbud';
import { EspruinoEarbud, type EspruinoEarbudOptions } from './espruino/index';
import { SimulatedEarbud, type VmEarbudOptions } from './vm/index';

export type EarbudEngine = 'vm' | 'espruino';

/** The options of `createEarbud`: the engine and that engine's options. */
export type EarbudOptions =
  ({ engine: 'vm' } & VmEarbudOptions) | ({ engine: 'espruino' } & EspruinoEarbudOptions);

export function createEarbud(options: { engine: 'vm' } & VmEarbudOptions): Promise<SimulatedEarbud>;
export function createEarbud(
  options: { engine: 'espruino' } & EspruinoEarbudOptions,
): Promise<EspruinoEarbud>;
export function createEarbud(options: EarbudOptions): Promise<Earbud>;
export async function createEarbud(options: EarbudOptions): Promise<Earbud> {
  return options.engine === 'espruino' ? EspruinoEarbud.start(options) : SimulatedEarbud.create(options);
}
