/**
 * What both engines share: the `Earbud` interface and its options, the errors, the link model's options
 * and PRNG, and the protocol host (`SimHost`). Re-exports only (the scenario set is `scenarios.ts`,
 * imported on its own).
 */
export { SimError, type SimErrorKind } from './errors';
export type { CommonEarbudOptions, Earbud, EarbudCounters, QueuedAudio } from './earbud';
export { mulberry32, type LinkModelOptions } from './link';
export { SimHost, indexOfBytes, noise, type Utterance } from './host';
export { heardByMic } from './mic-input';
