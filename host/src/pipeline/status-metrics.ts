/**
 * Operator: uplink frames -> device health metrics, one per STATUS frame (other frames ignored).
 * Counters that wrap at 65536 on the device (overruns, drops, errors) are unwrapped into running
 * totals, so a dashboard never sees them go backwards.
 */
import { Observable, type OperatorFunction } from 'rxjs';
import { FrameType, type Frame } from '@budlink/protocol';
import type { DeviceMetrics } from './types';

export function statusMetrics(
  deviceId: string,
  now: () => number = () => Date.now(),
): OperatorFunction<Frame, DeviceMetrics> {
  return (source) =>
    new Observable<DeviceMetrics>((subscriber) => {
      let last: { overruns: number; drops: number; errors: number; uptimeS: number } | undefined;
      const total = { overruns: 0, drops: 0, errors: 0 };
      return source.subscribe({
        next: (frame) => {
          if (frame.type !== FrameType.STATUS) return;
          if (last && frame.uptimeS >= last.uptimeS) {
            total.overruns += (frame.overruns - last.overruns + 0x10000) & 0xffff;
            total.drops += (frame.drops - last.drops + 0x10000) & 0xffff;
            total.errors += (frame.errors - last.errors + 0x10000) & 0xffff;
          } else {
            // First report, or the device rebooted (uptime went back): its counters restarted.
            total.overruns += frame.overruns;
            total.drops += frame.drops;
            total.errors += frame.errors;
          }
          last = {
            overruns: frame.overruns,
            drops: frame.drops,
            errors: frame.errors,
            uptimeS: frame.uptimeS,
          };
          subscriber.next({
            deviceId,
            battery: frame.battery === 255 ? undefined : frame.battery,
            freeVars: frame.freeVars,
            overruns: total.overruns,
            drops: total.drops,
            errors: total.errors,
            uptimeS: frame.uptimeS,
            at: now(),
          });
        },
        error: (e: unknown) => subscriber.error(e),
        complete: () => subscriber.complete(),
      });
    });
}
