/**
 * An API key that cannot leak by accident: String(), JSON.stringify() and util.inspect() all show
 * "[redacted]"; only reveal() returns the value, and only the HTTP/WebSocket adapters call it to
 * build an Authorization header.
 */
import { inspect } from 'node:util';

export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  reveal(): string {
    return this.#value;
  }

  get empty(): boolean {
    return this.#value.length === 0;
  }

  toString(): string {
    return '[redacted]';
  }

  toJSON(): string {
    return '[redacted]';
  }

  [inspect.custom](): string {
    return 'Secret([redacted])';
  }
}

/** Replace every occurrence of the secret (and of any long-enough prefix shown by servers) in text. */
export function redact(text: string, secret: Secret | undefined): string {
  if (!secret || secret.empty) return text;
  const v = secret.reveal();
  let out = text.split(v).join('[redacted]');
  // Servers often echo a prefix of a wrong key ("sk-abc***xyz"); remove any 8+ char prefix as well.
  if (v.length >= 12) {
    for (let n = v.length - 1; n >= 8; n--) {
      const p = v.slice(0, n);
      if (out.includes(p)) out = out.split(p).join('[redacted]');
    }
  }
  return out;
}
