/**
 * Inside the device: something the program can never catch for long (out of memory, a hung job, a
 * reboot). Every further statement of the job re-throws it (instrument.ts's limit check).
 */
export class Interrupt extends Error {}
