/**
 * Standalone BlueZ emulator: `npx tsx host/src/bluez/main.ts [options]`.
 *
 *   --bus ADDRESS     use this D-Bus (default: start a private one)
 *   --board ID        add a SimulatedEarbud running the built bundle for board ID, real-time clock
 *                     (repeatable; needs `npm run build -w firmware`)
 *   --echo N          add N loopback peripherals (EchoPeripheral), default 1 when no --board
 *   --mtu N           ATT MTU the emulated central asks for (default: the board's MTU, i.e. its
 *                     maxPayload + 3, as the exchange with the real chip would settle; 247 for echo)
 *
 * Prints `DBUS_SYSTEM_BUS_ADDRESS=...`; point node-ble (or `budlink bridge`) at it. Ctrl-C stops.
 */
import type { SimPeripheral } from '@budlink/link';
import { EchoPeripheral } from './echo-peripheral';
import type { PeripheralOptions } from './emulator';
import { startEmulatedBluez } from './index';

interface Args {
  bus?: string;
  boards: string[];
  echo?: number;
  mtu?: number;
}

export function parseArgs(argv: string[]): Args {
  const out: Args = { boards: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = argv[i + 1];
    const need = (): string => {
      if (v === undefined || v.startsWith('--')) throw new Error(`${a} needs a value`);
      i++;
      return v;
    };
    if (a === '--bus') out.bus = need();
    else if (a === '--board') out.boards.push(need());
    else if (a === '--echo') out.echo = Number(need());
    else if (a === '--mtu') out.mtu = Number(need());
    else throw new Error(`unknown option ${a}`);
  }
  if (out.echo !== undefined && !(Number.isInteger(out.echo) && out.echo >= 0 && out.echo <= 64)) {
    throw new Error('--echo takes a count 0..64');
  }
  if (out.mtu !== undefined && !(Number.isInteger(out.mtu) && out.mtu >= 23 && out.mtu <= 517)) {
    throw new Error('--mtu takes 23..517');
  }
  return out;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const peripherals: Array<{ peripheral: SimPeripheral; options: PeripheralOptions }> = [];
  const stopSims: Array<() => void> = [];
  if (args.boards.length > 0) {
    const { SimulatedEarbud } = await import('@budlink/firmware/sim');
    args.boards.forEach((board, i) => {
      const e = SimulatedEarbud.create({ board, clock: 'real', link: { seed: i + 1 } });
      peripherals.push({ peripheral: e, options: { mtu: args.mtu ?? e.board.maxPayload + 3 } });
      stopSims.push(() => e.stop());
    });
  }
  const echoes = args.echo ?? (args.boards.length === 0 ? 1 : 0);
  for (let i = 0; i < echoes; i++) {
    const n = (i + 1).toString(16).padStart(2, '0').toUpperCase();
    peripherals.push({
      peripheral: new EchoPeripheral({ name: `Budlink-echo-${i + 1}`, address: `C0:FF:EE:00:00:${n}` }),
      options: { mtu: args.mtu ?? 247 },
    });
  }
  const sys = await startEmulatedBluez({
    busAddress: args.bus,
    peripherals,
  });
  process.stdout.write(`DBUS_SYSTEM_BUS_ADDRESS=${sys.busAddress}\n`);
  for (const { peripheral: p, options } of peripherals) {
    process.stdout.write(`  ${p.address}  ${p.name}  (ATT MTU ${String(options.mtu)})\n`);
  }
  const stop = (): void => {
    for (const s of stopSims) s();
    void sys.stop().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].replace(/^.*\//, '/'))) {
  main().catch((e: unknown) => {
    process.stderr.write(`bluez emulator: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
}
