/**
 * @budlink/test-support: what the tests and benches share (test/support/README.md). Importers take a
 * subpath (`@budlink/test-support/wait`, `.../fake-services`, ...) so they load only what they use.
 */
export * from './wait';
export * from './virtual-time';
export * from './rng';
export * from './scripted-earbud';
export * from './fake-services/index';
export * from './fail-fast-cases';
export * from './speech-score';
export * as bridgeRig from './rigs/bridge';
export * as firmwareRig from './rigs/firmware';
