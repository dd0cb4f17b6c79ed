/**
 * `@budlink/sim`: the simulated earbud. `core/` is what both engines share, `vm/` the vm engine,
 * `espruino/` the real Espruino interpreter. Re-exports only (the scenario set is `@budlink/sim/scenarios`;
 * the peripheral contract is `@budlink/link`'s, the WAV codec `@budlink/protocol/audio`'s, the bundle
 * paths `@budlink/firmware/bundle`'s).
 */
export * from './core/index';
export * from './vm/index';
export * from './espruino/index';
export { createEarbud, type EarbudEngine, type EarbudOptions } from './create-earbud';
