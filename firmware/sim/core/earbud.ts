/** What both engines' earbuds share (docs/adr/0005). */

/** Microphone audio to queue: 16-bit signed (quantised like the ADC) or 8-bit unsigned samples. */
export interface QueuedAudio {
  samples: Int16Array | Uint8Array;
  rate: number;
}
