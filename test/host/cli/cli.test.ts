/**
 * The budlink CLI as a user meets it: help everywhere, configuration errors that name the key and
 * the file, doctor's checks, the demo's exit code and summary, Ctrl-C.
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  findDbusDaemon,
  startPrivateBus,
  startBluezEmulator,
  EchoPeripheral,
  type PrivateBus,
  type BluezEmulator,
} from '@budlink/link/bluez';
import { SimulatedEarbud } from '@budlink/sim';
import { DEFAULT_UTTERANCE } from '../../../host/src/cli/demo';
import { main } from '../../../host/src/cli/main';
import { loadConfig, ConfigError } from '../../../host/src/config/index';
import { FakeOpenAiRest } from '@budlink/test-support/fake-services';
import { until } from '@budlink/test-support/wait';
import { FAIL_FAST_CASES, prepareFailFast, runFailFast } from '@budlink/test-support/fail-fast-cases';

const HEARD = 'what is the weather in Paris';
const ANSWER = 'Sunny and mild.';

/** The fake OpenAI service, hearing HEARD and answering ANSWER (0.15 s of speech). */
const startFakeOpenAi = (options: { apiKey?: string; models?: string[] } = {}): Promise<FakeOpenAiRest> =>
  new FakeOpenAiRest({ transcript: HEARD, reply: () => ANSWER, ...options }).start();

const BIN = fileURLToPath(new URL('../../../host/bin/budlink.js', import.meta.url));
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

interface Run {
  code: number;
  out: string;
  err: string;
}

async function run(
  args: string[],
  opts: { env?: Record<string, string | undefined>; cwd?: string } = {},
): Promise<Run> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, {
    stdout: (t) => out.push(t),
    stderr: (t) => err.push(t),
    env: opts.env ?? {},
    cwd: opts.cwd ?? tmp,
  });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

let tmp = '';

describe('cli: budlink', function () {
  this.timeout(30000);
  beforeEach(() => {
    tmp = mkdtempSync(join(tmpdir(), 'budlink-cli-'));
  });
  afterEach(() => rmSync(tmp, { recursive: true, force: true }));

  describe('help', () => {
    it('lists every command, the environment and exit codes', async () => {
      const r = await run(['--help']);
      expect(r.code).to.equal(0);
      for (const c of ['scan', 'bridge', 'simulate', 'doctor', 'demo'])
        expect(r.out).to.match(new RegExp(`^  ${c} `, 'm'));
      expect(r.out)
        .to.include('BUDLINK_DEVICES')
        .and.include('OPENAI_API_KEY')
        .and.include('130 interrupted');
    });

    it('gives each command its own --help (exit 0) and usage errors exit 2', async () => {
      for (const c of ['scan', 'bridge', 'simulate', 'doctor', 'demo']) {
        const r = await run([c, '--help']);
        expect(r.code, c).to.equal(0);
        expect(r.out).to.match(new RegExp(`^budlink ${c}`));
        expect(r.out).to.include('--config FILE');
      }
      expect((await run([])).code).to.equal(2);
      const typo = await run(['simulat']);
      expect(typo.code).to.equal(2);
      expect(typo.err).to.include("unknown command 'simulat' (did you mean 'simulate'?)");
      const bad = await run(['demo', '--sped', '3']);
      expect(bad.code).to.equal(2);
      expect(bad.err).to.include("'--sped'");
      const range = await run(['demo', '--speed', 'fast']);
      expect(range.code).to.equal(2);
      expect(range.err).to.include('--speed must be a number');
    });

    it('global options may come before the command', async () => {
      const r = await run(['--log-level', 'debug', '--json', 'demo', '--help']);
      expect(r.code).to.equal(0);
      expect(r.out).to.match(/^budlink demo/);
      expect((await run(['--log-level=warn', 'simulat'])).err).to.include("unknown command 'simulat'");
    });

    it('fails fast (exit 2, before anything boots) on what can be checked first', async () => {
      prepareFailFast(tmp);
      for (const c of FAIL_FAST_CASES) {
        const r = await runFailFast(c, tmp);
        const what = c.args.join(' ');
        expect(r.code, what).to.equal(2);
        expect(r.err, what).to.include(c.message);
        expect(r.err, what).not.to.include('starting');
        expect(r.ms, `${what} answers at once`).to.be.below(2000);
      }
    });
  });

  describe('configuration', () => {
    const write = (obj: unknown): void =>
      writeFileSync(join(tmp, 'budlink.config.json'), JSON.stringify(obj));

    it('names an unknown key, the file, and the key it probably meant', async () => {
      write({ voise: { adapter: 'loopback' } });
      const r = await run(['doctor']);
      expect(r.code).to.equal(2);
      expect(r.err).to.equal("config: unknown key 'voise' in ./budlink.config.json (did you mean 'voice'?)");
      write({ session: { keepAlivMs: 100 } });
      expect((await run(['doctor'])).err).to.equal(
        "config: unknown key 'session.keepAlivMs' in ./budlink.config.json (did you mean 'session.keepAliveMs'?)",
      );
      write({ voice: { baseURL: 'http://x' } });
      expect((await run(['doctor'])).err).to.equal(
        "config: unknown key 'voice.baseURL' in ./budlink.config.json (did you mean 'voice.baseUrl'?)",
      );
    });

    it('refuses keys named like Object.prototype members as unknown keys', () => {
      // Found by test/fuzz: {"hasOwnProperty":1e999} loaded, and set config.hasOwnProperty to Infinity.
      const cases: [string, string][] = [
        ['{"hasOwnProperty":1e999}', 'hasOwnProperty'],
        ['{"toString":1}', 'toString'],
        ['{"session":{"constructor":"x"}}', 'session.constructor'],
        ['{"__proto__":{"link":"auto"}}', '__proto__'],
      ];
      for (const [text, key] of cases) {
        writeFileSync(join(tmp, 'budlink.config.json'), text);
        expect(() => loadConfig({ cwd: tmp, env: {} }), text).to.throw(
          ConfigError,
          `config: unknown key '${key}' in ./budlink.config.json`,
        );
      }
    });

    it('names a wrongly typed key with what it must be', async () => {
      write({ session: { keepAliveMs: '2s' } });
      expect((await run(['doctor'])).err).to.equal(
        `config: 'session.keepAliveMs' in ./budlink.config.json must be an integer, got the string "2s"`,
      );
      write({ devices: ['AA:BB'] });
      expect((await run(['doctor'])).err).to.include(
        "'devices[0]' in ./budlink.config.json must be a BLE address",
      );
      writeFileSync(join(tmp, 'other.json'), '{ nope');
      const r = await run(['doctor', '--config', 'other.json']);
      expect(r.code).to.equal(2);
      expect(r.err).to.match(/^config: \.\/other\.json is not valid JSON/);
      write({});
      expect((await run(['doctor'], { env: { BUDLINK_KEEPALIVE_MS: 'often' } })).err).to.equal(
        `config: 'session.keepAliveMs' (from BUDLINK_KEEPALIVE_MS) must be an integer, got the string "often"`,
      );
    });

    it('merges defaults < file < environment < flags', () => {
      write({ scanTimeoutMs: 1000, session: { keepAliveMs: 500 }, log: { level: 'warn' } });
      const c = loadConfig({
        cwd: tmp,
        env: { BUDLINK_KEEPALIVE_MS: '700', BUDLINK_DEVICES: 'aa:bb:cc:dd:ee:ff, 11:22:33:44:55:66' },
        overrides: { log: { level: 'debug' } },
      });
      expect(c.file).to.equal('./budlink.config.json');
      expect(c.config.scanTimeoutMs).to.equal(1000);
      expect(c.config.session.keepAliveMs).to.equal(700);
      expect(c.config.session.nackIntervalMs).to.equal(150);
      expect(c.config.devices).to.deep.equal(['aa:bb:cc:dd:ee:ff', '11:22:33:44:55:66']);
      expect(c.config.log.level).to.equal('debug');
      expect(c.voice.adapter).to.equal('loopback');
      expect(() => loadConfig({ cwd: tmp, env: {}, path: 'missing.json' })).to.throw(
        ConfigError,
        'cannot read ./missing.json',
      );
    });
  });

  describe('doctor', () => {
    let fake: FakeOpenAiRest | undefined;
    let bus: PrivateBus | undefined;
    let emu: BluezEmulator | undefined;
    afterEach(async () => {
      await fake?.stop();
      await emu?.stop();
      await bus?.stop();
      fake = undefined;
      emu = undefined;
      bus = undefined;
    });

    it('fails every bus check with a fix hint when there is no system bus, and exits 1', async () => {
      const r = await run(['doctor'], { env: { DBUS_SYSTEM_BUS_ADDRESS: `unix:path=${join(tmp, 'none')}` } });
      expect(r.code).to.equal(1);
      expect(r.out).to.match(/^✗ D-Bus system bus: .*no socket at/m);
      expect(r.out).to.include('fix: install and start D-Bus');
      expect(r.out).to.match(/^✗ BlueZ on D-Bus/m);
      expect(r.out).to.match(/^✓ voice service: loopback/m);
    });

    it('checks every voice server the config uses offers its models, and says which is missing', async () => {
      fake = await startFakeOpenAi({ models: ['gpt-4o-mini-transcribe', 'gpt-4o-mini-tts', 'llama3'] });
      const none = `unix:path=${join(tmp, 'none')}`;
      const env = { DBUS_SYSTEM_BUS_ADDRESS: none, OPENAI_BASE_URL: fake.baseUrl };
      const r = await run(['doctor'], { env });
      expect(r.out).to.match(
        /^✗ voice service http:\/\/127\.0\.0\.1:\d+\/v1: does not offer gpt-4o-mini \(it offers: /m,
      );
      const ok = await run(['doctor'], { env: { ...env, BUDLINK_CHAT_MODEL: 'llama3' } });
      expect(ok.out).to.match(/^✓ voice service .*offers gpt-4o-mini-transcribe, llama3, gpt-4o-mini-tts$/m);
    });

    it('as root needs no policy file; --write-policy writes one that dbus-daemon accepts', async function () {
      const r = await run(['doctor'], { env: { DBUS_SYSTEM_BUS_ADDRESS: `unix:path=${join(tmp, 'none')}` } });
      if (process.getuid?.() === 0)
        expect(r.out).to.match(/^✓ node-ble D-Bus policy: not needed: running as root$/m);
      expect(r.out).to.match(/^(✓|!) BlueZ version: /m);
      const w = await run(['doctor', '--write-policy', 'node-ble.conf']);
      expect(w.code).to.equal(0);
      expect(w.out).to.include('sudo cp');
      const policy = readFileSync(join(tmp, 'node-ble.conf'), 'utf8');
      expect(policy).to.match(/<policy user="[A-Za-z0-9._-]+">/);
      expect(policy).not.to.include('$USER');
      const daemon = findDbusDaemon();
      if (daemon === undefined) this.skip();
      // The real dbus-daemon is the judge: a config that includes the file must start.
      const conf = join(tmp, 'bus.conf');
      writeFileSync(
        conf,
        `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig><listen>unix:path=${join(tmp, 'sock')}</listen><auth>EXTERNAL</auth>
<policy context="default"><allow user="*"/></policy><include>${join(tmp, 'node-ble.conf')}</include></busconfig>`,
      );
      const bus = spawn(daemon, [`--config-file=${conf}`, '--nofork', '--print-address'], { stdio: 'pipe' });
      let printed = '';
      let errors = '';
      bus.stderr.on('data', (d: Buffer) => (errors += d.toString()));
      const started = await new Promise<boolean>((resolve) => {
        bus.stdout.on('data', (d: Buffer) => {
          printed += d.toString();
          if (printed.includes('unix:')) resolve(true);
        });
        bus.on('exit', () => resolve(false));
      });
      bus.kill();
      expect(started, errors).to.equal(true);
    });

    it('names the Doubao service without probing it (it has no read-only request)', async () => {
      const r = await run(['doctor'], {
        env: {
          DBUS_SYSTEM_BUS_ADDRESS: `unix:path=${join(tmp, 'none')}`,
          BUDLINK_VOICE: 'doubao',
          BUDLINK_DOUBAO_APP_ID: '123456789',
          BUDLINK_DOUBAO_ACCESS_KEY: 'dbk-test-secret',
        },
      });
      expect(r.out).to.match(
        /^✓ voice service: wss:\/\/openspeech\.bytedance\.com\/api\/v3\/realtime\/dialogue \(doubao, app 123456789\): configured, not probed/m,
      );
      expect(r.out).to.not.include('dbk-test-secret');
    });

    it('sees BlueZ and a powered adapter on the bus, checks the voice service over HTTP', async function () {
      if (findDbusDaemon() === undefined) this.skip();
      bus = await startPrivateBus();
      emu = await startBluezEmulator({ busAddress: bus.address });
      fake = await startFakeOpenAi();
      const env = { DBUS_SYSTEM_BUS_ADDRESS: bus.address, OPENAI_BASE_URL: fake.baseUrl };
      const r = await run(['doctor'], { env });
      expect(r.out).to.match(/^✓ D-Bus system bus/m);
      expect(r.out).to.match(/^✓ BlueZ on D-Bus/m);
      expect(r.out).to.match(/^✓ Bluetooth adapter: hci0 \(.*\) powered/m);
      expect(r.out).to.match(
        new RegExp(
          `^✓ voice service ${fake.baseUrl.replace(/\./g, '\\.')}: answers \\(HTTP 200, rest\\)`,
          'm',
        ),
      );
      expect(fake.calls).to.include('GET /v1/models');
      // The policy file decides the exit code on this machine.
      const policyOk = /^✓ node-ble D-Bus policy/m.test(r.out);
      expect(r.code).to.equal(policyOk ? 0 : 1);
      if (!policyOk) expect(r.out).to.include('fix: budlink doctor --write-policy node-ble.conf');
      const json = await run(['doctor', '--json'], { env });
      const checks = json.out.split('\n').map((l) => JSON.parse(l) as { name: string; ok: boolean });
      expect(checks.map((c) => c.name)).to.include.members([
        'D-Bus system bus',
        `voice service ${fake.baseUrl}`,
        'Bluetooth adapter',
      ]);
    });

    it('reports a refused API key', async () => {
      fake = await startFakeOpenAi({ apiKey: 'sk-the-right-one' });
      const r = await run(['doctor'], {
        env: {
          DBUS_SYSTEM_BUS_ADDRESS: `unix:path=${join(tmp, 'none')}`,
          OPENAI_BASE_URL: fake.baseUrl,
          OPENAI_API_KEY: 'sk-test',
        },
      });
      expect(r.out).to.match(/^✗ voice service .*: answers 401 \(rest\): the API key is refused/m);
      expect(r.out).to.not.include('sk-test');
    });
  });

  describe('demo', () => {
    let fake: FakeOpenAiRest | undefined;
    afterEach(async () => {
      await fake?.stop();
      fake = undefined;
    });

    it('runs the main job in-process against an OpenAI-compatible service: exit 0 and a timed summary', async () => {
      fake = await startFakeOpenAi();
      const r = await run(['demo', '--transport', 'in-process'], { env: { OPENAI_BASE_URL: fake.baseUrl } });
      expect(r.code, r.out + r.err).to.equal(0);
      expect(r.out).to.match(/^budlink demo: OK/);
      expect(r.out).to.include('link        in-process');
      expect(r.out).to.include('device clock accelerated ×4');
      expect(r.out).to.include(`heard       ${HEARD}`);
      expect(r.out).to.include(`reply       ${ANSWER}`);
      for (const stage of [
        'end of utterance',
        'service request',
        'first reply audio',
        'first PLAY frame',
        'playback end',
      ]) {
        expect(r.out).to.match(new RegExp(`${stage} +\\d+\\.\\d`));
      }
      expect(fake.calls).to.include.members([
        'POST /v1/audio/transcriptions',
        'POST /v1/chat/completions',
        'POST /v1/audio/speech',
      ]);
      expect(r.err).to.include('… earbud speaks');
    });

    it('--quiet prints only warnings and errors; --log-file keeps every line as JSON', async () => {
      const r = await run([
        '--quiet',
        'demo',
        '--transport',
        'in-process',
        '--speed',
        '6',
        '--log-file',
        'run.jsonl',
      ]);
      expect(r.code, r.err).to.equal(0);
      expect(r.out).to.include('budlink demo: OK');
      expect(r.err.split('\n').filter((l) => l.startsWith('… ') || / info /.test(l))).to.deep.equal([]);
      const lines = readFileSync(join(tmp, 'run.jsonl'), 'utf8').trim().split('\n');
      const records = lines.map((l) => JSON.parse(l) as { level: string; msg: string });
      expect(records.some((x) => x.level === 'info' && /^utterance 1: complete/.test(x.msg))).to.equal(true);
    });

    it('as a process: the bin shim exits 0 from demo, 130 on Ctrl-C in bridge', async function () {
      fake = await startFakeOpenAi();
      const spawnBin = (args: string[], env: Record<string, string>) =>
        spawn(process.execPath, [BIN, ...args], {
          cwd: ROOT,
          env: { ...process.env, ...env },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
      const demo = spawnBin(['demo', '--transport', 'in-process'], { OPENAI_BASE_URL: fake.baseUrl });
      let out = '';
      demo.stdout.on('data', (d: Buffer) => (out += d.toString()));
      const code = await new Promise<number | null>((resolve) => demo.on('exit', resolve));
      expect(code, out).to.equal(0);
      expect(out).to.include('budlink demo: OK');

      if (findDbusDaemon() === undefined) return; // the bridge needs a bus (and BlueZ) to start
      const bus = await startPrivateBus();
      const emu = await startBluezEmulator({ busAddress: bus.address });
      try {
        const bridge = spawnBin(['bridge', '--link', 'node-ble'], { DBUS_SYSTEM_BUS_ADDRESS: bus.address });
        let err = '';
        const up = new Promise<void>((resolve) =>
          bridge.stderr.on('data', (d: Buffer) => {
            err += d.toString();
            if (err.includes('bridge up')) resolve();
          }),
        );
        await up;
        bridge.kill('SIGINT');
        const bcode = await new Promise<number | null>((resolve) => bridge.on('exit', resolve));
        expect(bcode, err).to.equal(130);
        expect(err).to.include('stopping: disconnecting earbuds');
      } finally {
        await emu.stop();
        await bus.stop();
      }
    });
  });
  describe('scan, bridge and simulate over the BlueZ emulator', () => {
    let bus: PrivateBus | undefined;
    let emu: BluezEmulator | undefined;
    let earbud: SimulatedEarbud | undefined;
    afterEach(async () => {
      await emu?.stop();
      await bus?.stop();
      earbud?.stop();
      emu = undefined;
      bus = undefined;
      earbud = undefined;
    });

    it('scan lists the earbuds advertising the Budlink service (text and --json)', async function () {
      if (findDbusDaemon() === undefined) this.skip();
      bus = await startPrivateBus();
      emu = await startBluezEmulator({ busAddress: bus.address });
      emu.addPeripheral(new EchoPeripheral({ name: 'Budlink-echo', address: 'C0:FF:EE:00:00:07' }), {
        rssi: -61,
      });
      const env = { DBUS_SYSTEM_BUS_ADDRESS: bus.address };
      const r = await run(['scan', '--timeout', '600'], { env });
      expect(r.code, r.err).to.equal(0);
      expect(r.out).to.match(/^C0:FF:EE:00:00:07 +-61 dBm +Budlink-echo$/m);
      expect(r.err).to.include('1 earbud(s) found');
      const j = await run(['scan', '--timeout', '600', '--json', '--name', 'Budlink'], { env });
      expect(JSON.parse(j.out)).to.include({ address: 'C0:FF:EE:00:00:07', name: 'Budlink-echo', rssi: -61 });
      const none = await run(['scan', '--timeout', '300', '--name', 'Nope'], { env });
      expect(none.code).to.equal(0);
      expect(none.out).to.equal('');
    });

    it('bridge finds the earbud by scanning, relays an utterance, and stops cleanly on Ctrl-C (130)', async function () {
      if (findDbusDaemon() === undefined) this.skip();
      bus = await startPrivateBus();
      emu = await startBluezEmulator({ busAddress: bus.address });
      earbud = SimulatedEarbud.create({ board: 'nrf52840dk', clock: 'real', speed: 4 });
      emu.addPeripheral(earbud);
      const ctrl = new AbortController();
      const err: string[] = [];
      const done = main(['bridge', '--link', 'node-ble'], {
        stdout: () => undefined,
        stderr: (t) => err.push(t),
        env: { DBUS_SYSTEM_BUS_ADDRESS: bus.address, BUDLINK_SCAN_TIMEOUT_MS: '500' },
        cwd: tmp,
        signal: ctrl.signal,
      });
      const waitFor = (re: RegExp, ms: number): Promise<void> =>
        until(String(re), () => err.some((l) => re.test(l)), ms).catch((e: unknown) => {
          throw new Error(`${e instanceof Error ? e.message : String(e)} in:\n${err.join('\n')}`);
        });
      await waitFor(/session with nrf52840dk/, 15000);
      earbud.feedSilence(600);
      earbud.feedWav(DEFAULT_UTTERANCE);
      earbud.feedSilence(2000);
      await waitFor(/utterance 1: complete/, 20000);
      ctrl.abort();
      expect(await done).to.equal(130);
      expect(err.join('\n')).to.include(`found ${earbud.name} (${earbud.address})`);
      expect(emu.isConnected(earbud.address)).to.equal(false);
    });

    it("config reads an earbud's settings, sets them (kept by the earbud), and says why it refuses one", async function () {
      if (findDbusDaemon() === undefined) this.skip();
      bus = await startPrivateBus();
      emu = await startBluezEmulator({ busAddress: bus.address });
      earbud = SimulatedEarbud.create({ board: 'nrf52840dk', clock: 'real', speed: 4 });
      emu.addPeripheral(earbud);
      const env = { DBUS_SYSTEM_BUS_ADDRESS: bus.address };
      const config = (...args: string[]) =>
        run(['config', '--link', 'node-ble', '--device', earbud!.address, ...args], { env });
      const all = await config();
      expect(all.code, all.err).to.equal(0);
      expect(all.out.split('\n')).to.include.members([
        'sample-rate = 8000',
        'volume = 255',
        'name = Budlink nrf52840',
      ]);
      const set = await config('--set', 'volume=200', '--set', 'name=Left bud');
      expect(set.out.split('\n')).to.deep.equal(['volume = 200', 'name = Left bud']);
      expect((await config('--get', 'volume')).out).to.equal('volume = 200');
      const refused = await config('--set', 'vad-threshold=3');
      expect(refused.code).to.equal(1);
      expect(refused.out).to.match(/^vad-threshold: refused \(vadThreshold: 3 not in 17\.\.255\)$/);
      const usage = await config('--set', 'volume=300');
      expect(usage.code).to.equal(2);
      expect(usage.err).to.include('--set volume: a whole number from 0 to 255');
    });

    it('bridge with no system bus, or a bus without BlueZ, says so and exits 2 at once', async function () {
      const none = await run(['bridge', '--link', 'node-ble'], {
        env: {
          DBUS_SYSTEM_BUS_ADDRESS: `unix:path=${join(tmp, 'none')}`,
          BUDLINK_CONNECT_TIMEOUT_MS: '1000',
        },
      });
      expect(none.code).to.equal(2);
      expect(none.err).to.match(
        /^budlink bridge: cannot reach the D-Bus system bus at unix:path=.*none: .*; run `budlink doctor`$/m,
      );
      if (findDbusDaemon() === undefined) return;
      bus = await startPrivateBus();
      const noBluez = await run(['bridge', '--link', 'node-ble'], {
        env: { DBUS_SYSTEM_BUS_ADDRESS: bus.address, BUDLINK_CONNECT_TIMEOUT_MS: '1000' },
      });
      expect(noBluez.code).to.equal(2);
      expect(noBluez.err).to.match(/^budlink bridge: .*adapter.*; run `budlink doctor`$/m);
    });

    it('bridge says why a configured earbud does not connect, and keeps trying until Ctrl-C', async function () {
      if (findDbusDaemon() === undefined) this.skip();
      bus = await startPrivateBus();
      emu = await startBluezEmulator({ busAddress: bus.address });
      const ctrl = new AbortController();
      const err: string[] = [];
      const done = main(['bridge', '--link', 'node-ble', '--device', 'AA:BB:CC:DD:EE:99'], {
        stdout: () => undefined,
        stderr: (t) => err.push(t),
        env: { DBUS_SYSTEM_BUS_ADDRESS: bus.address, BUDLINK_CONNECT_TIMEOUT_MS: '300' },
        cwd: tmp,
        signal: ctrl.signal,
      });
      // A timeout here is reported by the expectation below, with what was logged.
      await until(
        'the first failed attempt',
        () => err.some((l) => l.includes('cannot connect to AA:BB:CC:DD:EE:99 (attempt 1)')),
        10000,
      ).catch(() => undefined);
      ctrl.abort();
      expect(await done).to.equal(130);
      expect(err.join('\n')).to.match(/cannot connect to AA:BB:CC:DD:EE:99 \(attempt 1\): .+; retrying/);
    });

    it('simulate runs earbuds against the bridge and reports each utterance; a bad scenario is a usage error', async () => {
      const r = await run(['simulate', '--transport', 'in-process', '--speed', '6']);
      expect(r.code, r.err).to.equal(0);
      expect(r.out).to.match(
        /utterance 1: complete, \d\.\d\d s, voice-activity to silence, 0 recovered, reply \d+ samples/,
      );
      expect(r.err).to.include('1 of 1 utterance(s) answered');
      writeFileSync(join(tmp, 'bad.json'), JSON.stringify({ steps: [{ sing: 'x.wav' }] }));
      const bad = await run(['simulate', '--scenario', 'bad.json']);
      expect(bad.code).to.equal(2);
      expect(bad.err).to.include('step 0 must have one of say, tap, silence, wait, dropLink, powerCycle');
    });

    it('simulate --engine espruino runs the firmware on the real Espruino interpreter', async function () {
      this.timeout(180000);
      const r = await run([
        'simulate',
        '--engine',
        'espruino',
        '--board',
        'puckjs',
        '--transport',
        'in-process',
      ]);
      expect(r.code, r.err).to.equal(0);
      expect(r.err).to.include('earbud(s) booted on the Espruino interpreter');
      expect(r.out).to.match(
        /utterance 1: complete, \d\.\d\d s, [a-z-]+ to [a-z-]+, \d+ recovered, reply \d+ samples/,
      );
      expect(r.err).to.include('1 of 1 utterance(s) answered');
      const bad = await run(['simulate', '--engine', 'jerryscript']);
      expect(bad.code).to.equal(2);
      expect(bad.err).to.include("--engine must be vm or espruino, got 'jerryscript'");
      const fast = await run(['simulate', '--engine', 'espruino', '--speed', '4']);
      expect(fast.code).to.equal(2);
      expect(fast.err).to.include('--engine espruino runs at --speed 1 only');
    });

    it('simulate gives a puckjs the payload its radio carries (ATT MTU 53 → 50 B frames)', async () => {
      // --cpu-speed 10: the payload is under test, not whether a Puck.js keeps up in real time
      const r = await run([
        'simulate',
        '--board',
        'puckjs',
        '--transport',
        'in-process',
        '--speed',
        '6',
        '--cpu-speed',
        '10',
      ]);
      expect(r.code, r.err).to.equal(0);
      expect(r.err).to.include('payload 50 B');
      expect(r.err).not.to.match(/payload 244 B/);
      expect(r.out).to.match(/utterance 1: complete/);
    });

    it('simulate --serve puts the earbuds behind the BlueZ emulator for another central until Ctrl-C', async function () {
      if (findDbusDaemon() === undefined) this.skip();
      const ctrl = new AbortController();
      const out: string[] = [];
      const err: string[] = [];
      const done = main(['simulate', '--serve', '--board', 'puckjs', '--earbuds', '2'], {
        stdout: (t) => out.push(t),
        stderr: (t) => err.push(t),
        env: {},
        cwd: tmp,
        signal: ctrl.signal,
      });
      try {
        await until('the bus address', () => out.length >= 3, 20000).catch((e: unknown) => {
          throw new Error(`${e instanceof Error ? e.message : String(e)} in:\n${err.join('\n')}`);
        });
        const [busLine = '', ...earbuds] = out;
        expect(busLine).to.match(/^DBUS_SYSTEM_BUS_ADDRESS=unix:/);
        for (const l of earbuds)
          expect(l).to.match(/^ {2}([0-9A-F]{2}:){5}[0-9A-F]{2} {2}Budlink .+ {2}\(ATT MTU 53\)$/);
        const env = { DBUS_SYSTEM_BUS_ADDRESS: busLine.slice('DBUS_SYSTEM_BUS_ADDRESS='.length) };
        const scan = await run(['scan', '--timeout', '1500'], { env });
        expect(scan.code, scan.err).to.equal(0);
        expect(scan.out.split('\n')).to.have.length(2);
      } finally {
        ctrl.abort();
      }
      expect(await done).to.equal(130);
      expect(err.join('\n')).to.include('serving until Ctrl-C');
    });

    it('simulate --serve needs the BlueZ emulator and no audio to speak', async () => {
      const inProcess = await run(['simulate', '--serve', '--transport', 'in-process']);
      expect(inProcess.code).to.equal(2);
      expect(inProcess.err).to.include('--serve needs the BlueZ emulator');
      const wav = await run(['simulate', '--serve', '--wav', 'a.wav']);
      expect(wav.code).to.equal(2);
      expect(wav.err).to.include('--serve takes no --wav or --scenario');
    });
  });
});
