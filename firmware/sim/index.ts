/**
 * `@budlink/firmware/sim`: the simulated earbud on the vm engine (earbud.ts), its protocol host
 * (host.ts) and errors. Re-exports only (the peripheral contract is `@budlink/link`'s, the WAV codec
 * `@budlink/protocol/audio`'s, the bundle paths `@budlink/firmware/bundle`'s).
 */
export { SimulatedEarbud, type EarbudStatsFull } from './earbud';
export { SimError, type SimErrorKind } from './errors';
export type { EarbudOptions, EarbudStats, LinkModelOptions, QueuedAudio } from './types';
export { COST_UNITS_PER_SECOND, NATIVE_COST_PER_ELEMENT } from './device';
export { SimHost, indexOfBytes, noise, type Utterance } from './host';
export { mulberry32 } from './link';
