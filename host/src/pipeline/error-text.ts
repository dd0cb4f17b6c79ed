import { VoiceError } from '../voice/types';

/** An error as one log line: a VoiceError with its kind and HTTP status, else its message. */
export function errorText(e: unknown): string {
  if (e instanceof VoiceError) return `${e.kind}${e.status ? ` ${e.status}` : ''}: ${e.message}`;
  return e instanceof Error ? e.message : String(e);
}
