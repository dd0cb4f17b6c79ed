/**
 * The arguments of the hardware shim's events (fd 4: docs/ESPRUINO-ENGINE.md), parsed. interpreter.ts
 * frames the lines into `{ kind, t, args }`; earbud.ts acts on what these functions read out of `args`.
 */

export interface EspruinoMemory {
  /** JsVars in use after a garbage collection, now. */
  used: number;
  total: number;
  /** Highest `used` sampled since peak tracking started (0 when off). */
  peak: number;
  /** Espruino's error flags (E.getErrorFlags as bits: 8 LOW_MEMORY, 16 MEMORY). */
  errorFlags: number;
}

export interface GattCharacteristic {
  service: string;
  uuid: string;
  flags: string[];
}

/** `S`: the GATT database declared, one `<service>/<uuid>/<handle>/<props>` per characteristic. */
export function parseServices(args: string): GattCharacteristic[] {
  const parts = args.split(' ');
  return parts.slice(1).map((p) => {
    const [service, uuid, , props] = p.split('/');
    const flags: string[] = [];
    if (props!.includes('r')) flags.push('read');
    if (props!.includes('w')) flags.push('write', 'write-without-response');
    if (props!.includes('n')) flags.push('notify');
    return { service: service!, uuid: uuid!, flags };
  });
}

/** `A`: the advertised service UUIDs. */
export function parseAdvertised(args: string): string[] {
  return args ? args.split(' ') : [];
}

/** `V`: the advertised name (hex, after the advertising data's type). */
export function parseName(args: string): string {
  return Buffer.from(args.split(' ')[1] ?? '', 'hex').toString('latin1');
}

/** `I`: the connection interval requested (ms), or null for Espruino's automatic one. */
export function parseInterval(args: string): number | null {
  return args === 'auto' ? null : Number(args);
}

/** `N` / `U`: a characteristic's new value. */
export function parseValue(args: string): { uuid: string; value: Uint8Array } {
  const [uuid, hex] = args.split(' ');
  return { uuid: uuid!, value: new Uint8Array(Buffer.from(hex ?? '', 'hex')) };
}

/** `L`: an LED's level. */
export function parseLed(args: string): { pin: string; level: number } {
  const [pin, v] = args.split(' ');
  return { pin: pin!, level: Number(v) };
}

/** `O`: the PWM values written to each speaker pin, in order. */
export function parseSpeakerWrites(args: string): { pin: string; values: number[] }[] {
  return args.split(' ').map((group) => {
    const [pin, list] = group.split(':');
    return { pin: pin!, values: list!.split(',').map((hex) => parseInt(hex, 16)) };
  });
}

/** `a`: the ADC's samples since the last report, as runs of fed (`f`) and silent (`s`) samples. */
export function parseMicRuns(args: string): { kind: string; n: number }[] {
  return args.split(' ').map((run) => ({ kind: run[0]!, n: Number(run.slice(1)) }));
}

/** `m`: a memory report. */
export function parseMemory(args: string): EspruinoMemory {
  const [used, total, peak, flags] = args.split(' ').map(Number);
  return { used: used!, total: total!, peak: peak!, errorFlags: flags! };
}
