/** Small hand-written Espruino programs in the simulator (no firmware bundle needed). */
import { SimulatedEarbud, type VmEarbudOptions } from '@budlink/sim';
import type { SimCentral } from '@budlink/link';

export const SVC = 'b1d10001-5a1e-4c6e-9a3b-6275646c6e6b';
export const UP = 'b1d10002-5a1e-4c6e-9a3b-6275646c6e6b';
export const DOWN = 'b1d10003-5a1e-4c6e-9a3b-6275646c6e6b';

const live: SimulatedEarbud[] = [];

/** Boot `source` on `board` (stopped again by `stopAll()` in afterEach). */
export function program(source: string, options: Partial<VmEarbudOptions> = {}): SimulatedEarbud {
  const e = SimulatedEarbud.create({ board: 'nrf52840dk', ...options, source });
  live.push(e);
  return e;
}

export function stopAll(): void {
  for (const e of live.splice(0)) e.stop();
}

/** A central recording notifications. */
export function recorder(): SimCentral & { got: { uuid: string; value: Uint8Array }[]; disc: string[] } {
  const got: { uuid: string; value: Uint8Array }[] = [];
  const disc: string[] = [];
  return {
    got,
    disc,
    onNotify: (uuid, value) => got.push({ uuid, value: new Uint8Array(value) }),
    onDisconnect: (r) => disc.push(r),
  };
}

/** A program declaring the Budlink service; `extra` is appended (inside the same scope). */
export function serviceProgram(extra: string, maxLen = 128): string {
  return `
var defs = {}; defs['${SVC}'] = {};
defs['${SVC}']['${UP}'] = { value: new Uint8Array(0), maxLen: ${maxLen}, notify: true, readable: true };
defs['${SVC}']['${DOWN}'] = { value: new Uint8Array(0), maxLen: ${maxLen}, writable: true,
  onWrite: function (evt) { if (global.onDown) global.onDown(evt); } };
NRF.setServices(defs, { uart: true, advertise: ['${SVC}'] });
function notify(bytes) { var u = {}; u['${SVC}'] = {}; u['${SVC}']['${UP}'] = { value: bytes, notify: true }; NRF.updateServices(u); }
${extra}
`;
}
