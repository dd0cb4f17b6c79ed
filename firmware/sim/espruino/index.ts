/**
 * The real engine: the built bundle on the real Espruino interpreter built for this machine.
 * Re-exports only.
 */
export { EspruinoEarbud, type EspruinoEarbudOptions, type EspruinoEarbudStats } from './earbud';
export type { EspruinoMemory } from './shim-events';
