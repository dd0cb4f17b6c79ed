/**
 * `@budlink/firmware/sim`: the simulated earbud. `core/` is what both engines share, `vm/` the vm
 * engine, `espruino/` the real interpreter (imported on its own). Re-exports only (the peripheral
 * contract is `@budlink/link`'s, the WAV codec `@budlink/protocol/audio`'s, the bundle paths
 * `@budlink/firmware/bundle`'s).
 */
export * from './core/index';
export * from './vm/index';
