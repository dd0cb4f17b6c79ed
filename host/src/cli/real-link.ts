import { NodeBleLink } from '@budlink/link';
import type { BudlinkConfig } from '../config/index';
import { UsageError, type CliIo } from './io';

/** The link to real earbuds (scan, bridge): node-ble on the system bus. */
export function realLink(config: BudlinkConfig, env: Record<string, string | undefined>): NodeBleLink {
  if (config.link === 'in-process') {
    throw new UsageError(
      "link 'in-process' has no real earbuds: use `budlink simulate` (or set link to auto / node-ble)",
    );
  }
  return new NodeBleLink({
    connectTimeoutMs: config.connectTimeoutMs,
    busAddress: env.DBUS_SYSTEM_BUS_ADDRESS,
  });
}

/**
 * The link to real earbuds, once its bus and adapter answer (NodeBleLink.probe); undefined after
 * saying on stderr why they don't, for the command to exit 2: a bus or adapter missing at start-up
 * will not come by itself.
 */
export async function readyLink(
  command: string,
  config: BudlinkConfig,
  io: CliIo,
): Promise<NodeBleLink | undefined> {
  const link = realLink(config, io.env);
  try {
    await link.probe();
    return link;
  } catch (e) {
    await link.close().catch(() => undefined);
    io.stderr(`budlink ${command}: ${e instanceof Error ? e.message : String(e)}; run \`budlink doctor\``);
    return undefined;
  }
}
