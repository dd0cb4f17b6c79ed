/** The fake servers must reject what the real services reject, or the adapter tests prove little. */
import { expect } from 'chai';
import WebSocket from 'ws';
import { encodeWav } from '../../../host/src/audio/index';
import { FakeOpenAiRest, FakeRealtimeServer, FakeDoubaoServer } from '@budlink/test-support/fake-services';
import {
  audioRequest,
  ClientEvent,
  clientEvent,
  decodeFrame,
  encodeFrame,
  jsonOf,
  MessageType,
  Serialization,
} from '../../../host/src/voice/doubao-protocol';
import { DOUBAO_APP, DOUBAO_KEY, KEY } from './helpers';
import { until } from '@budlink/test-support/wait';

describe('voice: fake services validate what they receive', function () {
  this.timeout(10000);

  it('REST fake: auth, multipart fields, WAV content, chat and speech bodies', async () => {
    const fake = await new FakeOpenAiRest({ apiKey: KEY }).start();
    try {
      const auth = { authorization: `Bearer ${KEY}` };
      const noAuth = await fetch(`${fake.baseUrl}/chat/completions`, { method: 'POST', body: '{}' });
      expect(noAuth.status).to.equal(401);
      const form = new FormData();
      form.append('file', new Blob([encodeWav(new Int16Array(800), 8000)]), 'a.wav');
      const noModel = await fetch(`${fake.baseUrl}/audio/transcriptions`, {
        method: 'POST',
        headers: auth,
        body: form,
      });
      expect(noModel.status).to.equal(400);
      const bad = new FormData();
      bad.append('file', new Blob([new Uint8Array([1, 2, 3])]), 'a.wav');
      bad.append('model', 'whisper-1');
      expect(
        (await fetch(`${fake.baseUrl}/audio/transcriptions`, { method: 'POST', headers: auth, body: bad }))
          .status,
      ).to.equal(400);
      const noStream = await fetch(`${fake.baseUrl}/chat/completions`, {
        method: 'POST',
        headers: auth,
        body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }),
      });
      expect(noStream.status).to.equal(400);
      const badRole = await fetch(`${fake.baseUrl}/chat/completions`, {
        method: 'POST',
        headers: auth,
        body: JSON.stringify({ model: 'm', stream: true, messages: [{ role: 'robot', content: 'hi' }] }),
      });
      expect(badRole.status).to.equal(400);
      const noVoice = await fetch(`${fake.baseUrl}/audio/speech`, {
        method: 'POST',
        headers: auth,
        body: JSON.stringify({ model: 'tts', input: 'hi', response_format: 'pcm' }),
      });
      expect(noVoice.status).to.equal(400);
      expect(fake.violations).to.have.length(5);
    } finally {
      await fake.stop();
    }
  });

  it('Realtime fake: rejects the beta session shape on GA, bad appends and out-of-range truncates', async () => {
    const fake = await new FakeRealtimeServer({ generation: 'ga', apiKey: KEY }).start();
    const ws = new WebSocket(`${fake.url}?model=gpt-realtime`, {
      headers: { authorization: `Bearer ${KEY}` },
    });
    const errors: string[] = [];
    try {
      await new Promise<void>((resolve, reject) => {
        ws.on('open', () => resolve());
        ws.on('error', reject);
      });
      ws.on('message', (d) => {
        const ev = JSON.parse(String(d)) as { type: string; error?: { message: string } };
        if (ev.type === 'error') errors.push(ev.error!.message);
      });
      ws.send(
        JSON.stringify({
          type: 'session.update',
          session: { input_audio_format: 'pcm16', output_audio_format: 'pcm16' },
        }),
      );
      ws.send(JSON.stringify({ type: 'input_audio_buffer.append', audio: 'not base64!' }));
      ws.send(JSON.stringify({ type: 'input_audio_buffer.commit' }));
      ws.send(
        JSON.stringify({
          type: 'conversation.item.truncate',
          item_id: 'nope',
          content_index: 0,
          audio_end_ms: 10,
        }),
      );
      ws.send(JSON.stringify({ type: 'response.banana' }));
      await until('five errors', () => errors.length >= 5, 1000);
      expect(errors).to.have.length(5);
      expect(errors[0]).to.match(/GA session.update/);
      expect(errors[2]).to.match(/buffer too small/);
    } finally {
      ws.terminate();
      await fake.stop();
    }
  });

  it('Doubao fake: refuses missing headers, then wrong order, payloads, modes and truncates', async () => {
    const fake = await new FakeDoubaoServer({ appId: DOUBAO_APP, accessKey: DOUBAO_KEY }).start();
    const headers = {
      'X-Api-App-ID': DOUBAO_APP,
      'X-Api-Access-Key': DOUBAO_KEY,
      'X-Api-Resource-Id': 'volc.speech.dialog',
      'X-Api-App-Key': 'PlgvMymc7f3tQnJ6',
    };
    const noKey = new WebSocket(fake.url, { headers: { ...headers, 'X-Api-App-Key': '' } });
    const status = await new Promise<number>((resolve) =>
      noKey.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)),
    );
    expect(status).to.equal(400);
    const ws = new WebSocket(fake.url, { headers });
    const errors: Array<{ code?: number; error: unknown }> = [];
    try {
      await new Promise<void>((resolve, reject) => {
        ws.on('open', () => resolve());
        ws.on('error', reject);
      });
      ws.on('message', (d: Buffer) => {
        const f = decodeFrame(d);
        if (f.type === MessageType.Error) errors.push({ code: f.code, error: jsonOf(f).error });
      });
      ws.send(clientEvent(ClientEvent.StartSession, {}, 's1')); // before StartConnection
      ws.send(clientEvent(ClientEvent.StartConnection, {}));
      ws.send(clientEvent(ClientEvent.StartSession, { dialog: { extra: { model: 'O' } } }, 's1'));
      ws.send(clientEvent(ClientEvent.StartSession, { tts: { extra: null } }, 's1'));
      ws.send(clientEvent(ClientEvent.StartSession, { dialog: { extra: { model: '1.2.1.1' } } }, 's1'));
      ws.send(audioRequest('s1', Buffer.from([1, 2, 3]))); // half a sample
      ws.send(clientEvent(ClientEvent.EndASR, {}, 's1')); // not push_to_talk
      ws.send(clientEvent(ClientEvent.ConversationTruncate, { item_id: 'r', audio_end_ms: 1 }, 's1'));
      ws.send(
        encodeFrame({
          type: MessageType.FullClient,
          serialization: Serialization.Json,
          payload: Buffer.from('{}'),
        }),
      ); // no event
      ws.send('{"event":200}');
      await until('eight error frames', () => errors.length >= 8, 1000);
      expect(fake.violations).to.have.length(9); // the upgrade, then these eight
      expect(errors.map((e) => e.code)).to.deep.equal([
        45000001, 42000020, 42000020, 45000001, 45000001, 45000001, 45000001, 45000001,
      ]);
      expect(errors[2]!.error).to.equal('StartSession event payload tts extra is null');
      expect(errors[6]!.error).to.match(/without an event/);
    } finally {
      ws.terminate();
      await fake.stop();
    }
  });
});
