/** `budlink scan`: list the Budlink earbuds advertising nearby. */
import { printable } from '../pipeline/printable';
import type { Subscription } from 'rxjs';
import { LinkError, type DiscoveredDevice } from '@budlink/link';
import { num, type Command, type CommandContext } from './command';
import { progress, type CliIo } from './io';
import { realLink } from './real-link';

const options = { timeout: { type: 'string' }, name: { type: 'string' } } as const;

export const scanCommand: Command<typeof options> = {
  summary: 'list Budlink earbuds advertising nearby',
  usage: `budlink scan [--timeout MS] [--name PREFIX]

Scans over BlueZ (node-ble) for devices advertising the Budlink service and prints one per line:
address, RSSI, name.

options:
      --timeout MS      scan duration (default: scanTimeoutMs, 5000)
      --name PREFIX     only names starting with PREFIX`,
  options,
  run: runScan,
};

async function runScan(a: CommandContext<typeof options>, io: CliIo): Promise<number> {
  const config = a.loaded.config;
  const timeoutMs = num(a.values.timeout, 'timeout', 100, 600000) ?? config.scanTimeoutMs;
  const namePrefix = a.values.name ?? (config.namePrefix || undefined);
  const link = realLink(config, io.env);
  const say = progress(io, a.json);
  say(`scanning for ${(timeoutMs / 1000).toFixed(1)} s`);
  const found: DiscoveredDevice[] = [];
  let sub: Subscription | undefined;
  try {
    await new Promise<void>((resolveScan, reject) => {
      sub = link.scan({ timeoutMs, namePrefix }).subscribe({
        next: (d) => {
          if (found.some((f) => f.id === d.id)) return;
          found.push(d);
          io.stdout(
            a.json
              ? JSON.stringify(d)
              : `${d.address}  ${d.rssi === undefined ? '   ?' : String(d.rssi).padStart(4)} dBm  ${printable(d.name)}`,
          );
        },
        error: reject,
        complete: resolveScan,
      });
      io.signal.addEventListener('abort', () => resolveScan(), { once: true });
    });
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    a.log.log(
      'error',
      `scan failed: ${msg}${e instanceof LinkError && e.kind === 'bluez-unavailable' ? ' (run `budlink doctor`)' : ''}`,
    );
    return 1;
  } finally {
    sub?.unsubscribe();
    await link.close().catch(() => undefined);
  }
  if (io.signal.aborted) return 130;
  if (!a.json) say(found.length === 0 ? 'no Budlink earbuds found' : `${found.length} earbud(s) found`);
  return 0;
}
