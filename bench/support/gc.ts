import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** A full GC for memory figures (--expose-gc turned on at run time), or undefined where V8 refuses. */
export function gcFn(): (() => void) | undefined {
  try {
    setFlagsFromString('--expose-gc');
    return runInNewContext('gc') as () => void;
  } catch {
    return undefined;
  }
}
