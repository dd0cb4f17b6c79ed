/**
 * ATT MTU exchange as a central performs it: the result is the smaller of what the central asks for
 * and what the peripheral supports. SimPeripheral has no field for the latter yet; a peripheral that
 * exposes a numeric `maxMtu` is honoured (else the central's value stands, as if the peripheral
 * accepted it).
 */
import type { SimPeripheral } from './peripheral';

export const MIN_ATT_MTU = 23;
export const MAX_ATT_MTU = 517;

export function negotiateMtu(centralMtu: number, peripheral: SimPeripheral): number {
  const max = (peripheral as SimPeripheral & { maxMtu?: unknown }).maxMtu;
  const limit = typeof max === 'number' && Number.isFinite(max) ? max : MAX_ATT_MTU;
  return Math.max(MIN_ATT_MTU, Math.min(centralMtu, limit, MAX_ATT_MTU));
}
