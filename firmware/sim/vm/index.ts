/** The vm engine: the built bundle in a Node vm context with emulated Espruino globals. Re-exports only. */
export { SimulatedEarbud, type EarbudStatsFull } from './earbud';
export type { EarbudStats, VmEarbudOptions } from './types';
export { COST_UNITS_PER_SECOND, NATIVE_COST_PER_ELEMENT } from './device';
