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

/**
 * Inside the device: something the program can never catch for long (out of memory, a hung job, a
 * reboot). Every further statement of the job re-throws it (instrument.ts's limit check).
 */
export class Interrupt extends Error {}
