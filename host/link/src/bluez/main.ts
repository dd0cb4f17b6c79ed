/**
 * Standalone BlueZ emulator: `npx tsx host/link/src/bluez/main.ts [options]`.
 *
 *   --bus ADDRESS     use this D-Bus (default: start a private one)
 *   --echo N          add N loopback peripherals (EchoPeripheral), default 1
 *   --mtu N           ATT MTU the emulated central asks for (default 247)
 *
 * Prints `DBUS_SYSTEM_BUS_ADDRESS=...`; point node-ble (or `budlink bridge`) at it. Ctrl-C stops.
 * Simulated earbuds behind the emulator are `budlink simulate --serve [--board ID] [--earbuds N]`:
 * the emulator hosts any SimPeripheral and knows nothing of the simulator (docs/adr/0005).
 */
import type { SimPeripheral } from '../peripheral';
import { EchoPeripheral } from './echo-peripheral';
import type { PeripheralOptions } from './emulator';
import { startEmulatedBluez } from './index';

interface Args {
  bus?: string;
  echo?: number;
  mtu?: number;
}

export function parseArgs(argv: string[]): Args {
  const out: Args = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = argv[i + 1];
    const need = (): string => {
      if (v === undefined || v.startsWith('--')) throw new Error(`${a} needs a value`);
      i++;
      return v;
    };
    if (a === '--bus') out.bus = need();
    else if (a === '--board')
      throw new Error('--board: simulated earbuds are served by `budlink simulate --serve --board ID`');
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
  const echoes = args.echo ?? 1;
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
