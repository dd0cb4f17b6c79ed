import { expect } from 'chai';
import type { Observable } from 'rxjs';
import {
  voiceConfigFromEnv,
  VoiceError,
  type VoiceConfig,
  type VoiceEvent,
} from '../../../host/src/voice/index';
import { missingLocalTools } from '../../../host/src/voice/local-tools';
import { FakeOpenAiRest } from '@budlink/test-support/fake-services';

export const KEY = 'sk-proj-CANARYKEY-9f8e7d6c5b4a3210';

export interface Outcome {
  events: VoiceEvent[];
  error?: VoiceError;
}

/** Subscribe and collect everything until complete or error (bounded by timeoutMs). */
export function collect(obs: Observable<VoiceEvent>, timeoutMs = 10000): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const events: VoiceEvent[] = [];
    const t = setTimeout(() => {
      sub.unsubscribe();
      reject(
        new Error(`no completion within ${String(timeoutMs)} ms; got ${events.map((e) => e.kind).join(',')}`),
      );
    }, timeoutMs);
    const sub = obs.subscribe({
      next: (e) => events.push(e),
      complete: () => {
        clearTimeout(t);
        resolve({ events });
      },
      error: (e: unknown) => {
        clearTimeout(t);
        if (!(e instanceof VoiceError)) reject(e instanceof Error ? e : new Error(String(e)));
        else resolve({ events, error: e });
      },
    });
  });
}

export function audioOf(events: VoiceEvent[]): Array<Extract<VoiceEvent, { kind: 'audio' }>> {
  return events.filter((e): e is Extract<VoiceEvent, { kind: 'audio' }> => e.kind === 'audio');
}

export function restConfig(baseUrl: string, extra: Record<string, string> = {}): VoiceConfig {
  return voiceConfigFromEnv({
    BUDLINK_VOICE: 'rest',
    OPENAI_API_KEY: KEY,
    OPENAI_BASE_URL: baseUrl,
    BUDLINK_TIMEOUT_MS: '2000',
    BUDLINK_IDLE_TIMEOUT_MS: '2000',
    BUDLINK_RETRY_BASE_MS: '5',
    BUDLINK_RETRY_MAX_MS: '200',
    ...extra,
  });
}

/** Credentials the Doubao fake expects; the access key is recognisable in any error text. */
export const DOUBAO_APP = '123456789';
export const DOUBAO_KEY = 'dbk-CANARYACCESS-7e6d5c4b3a291807';

/** A Doubao adapter config for a fake service at url (short timeouts). */
export function doubaoConfig(url: string, extra: Record<string, string> = {}): VoiceConfig {
  return voiceConfigFromEnv({
    BUDLINK_VOICE: 'doubao',
    BUDLINK_DOUBAO_URL: url,
    BUDLINK_DOUBAO_APP_ID: DOUBAO_APP,
    BUDLINK_DOUBAO_ACCESS_KEY: DOUBAO_KEY,
    BUDLINK_TIMEOUT_MS: '1000',
    BUDLINK_IDLE_TIMEOUT_MS: '1000',
    ...extra,
  });
}

export function tone(n: number, hz: number, rate: number, amp = 8000): Int16Array {
  const x = new Int16Array(n);
  for (let i = 0; i < n; i++) x[i] = Math.round(amp * Math.sin((2 * Math.PI * hz * i) / rate));
  return x;
}

/** The VoiceError of kind 'config' that f throws (the test fails if it throws none). */
export function configError(f: () => unknown): VoiceError {
  try {
    f();
  } catch (e) {
    expect(e).to.be.instanceOf(VoiceError);
    expect((e as VoiceError).kind).to.equal('config');
    return e as VoiceError;
  }
  return expect.fail('expected a config VoiceError');
}

/** Assert nothing about the error exposes the key. */
export function keyFree(err: unknown): string {
  const e = err as Error;
  return [e.message, String(e), JSON.stringify(e), e.stack ?? ''].join('\n');
}

/**
 * A fresh FakeOpenAiRest for each test of the enclosing suite (checking KEY, no language
 * expected), handed to `use`; stopped after the test, which fails if the fake rejected a request.
 */
export function useFakeRest(use: (fake: FakeOpenAiRest) => void): void {
  let fake: FakeOpenAiRest;
  beforeEach(async () => {
    fake = await new FakeOpenAiRest({ apiKey: KEY, language: undefined }).start();
    use(fake);
  });
  afterEach(async () => {
    await fake.stop();
    expect(fake.violations, 'requests the fake server rejected as malformed').to.deep.equal([]);
  });
}

/**
 * The fakes and services the tests of the enclosing suite make: after each test the services are
 * closed, the fakes stopped, and the test fails if a fake rejected what it received.
 */
export function tracked(what: string): {
  fake<F extends { stop(): Promise<void>; violations: string[] }>(f: F): F;
  service<S extends { close(): Promise<void> }>(s: S): S;
} {
  const fakes: Array<{ stop(): Promise<void>; violations: string[] }> = [];
  const services: Array<{ close(): Promise<void> }> = [];
  afterEach(async () => {
    for (const s of services.splice(0)) await s.close();
    for (const f of fakes.splice(0)) {
      await f.stop();
      expect(f.violations, what).to.deep.equal([]);
    }
  });
  return {
    fake: (f) => (fakes.push(f), f),
    service: (s) => (services.push(s), s),
  };
}

/** Why the local voice service cannot run here (what is not installed), or undefined when it can. */
export function localToolsMissing(): string | undefined {
  const m = missingLocalTools(process.env);
  if (m.length === 0) return undefined;
  return `not installed: ${m.map((x) => x.pkg).join(', ')} (scripts/install-system-deps.sh)`;
}

/** One pending test that says why the enclosing suite cannot run here. */
export function pendingBecause(reason: string): void {
  it(`is pending: ${reason}`, function () {
    this.skip();
  });
}
