/** Errors the simulator raises towards its callers (tests, the BlueZ emulator, the CLI). */
export type SimErrorKind =
  | 'unknown-board'
  | 'no-bundle'
  | 'bad-input'
  | 'wrong-clock'
  | 'stopped'
  | 'not-connected'
  | 'already-connected'
  | 'gatt';

export class SimError extends Error {
  constructor(
    readonly kind: SimErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'SimError';
  }
}
