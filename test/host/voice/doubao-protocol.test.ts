/**
 * The Doubao realtime dialogue frame codec against the byte dumps in Volcengine's documentation
 * ("端到端实时语音大模型API接入文档", https://www.volcengine.com/docs/6561/1594356, section 2.3 notes),
 * then round trips and every way a frame can be malformed.
 */
import { expect } from 'chai';
import { gzipSync } from 'node:zlib';
import {
  audioRequest,
  ClientEvent,
  clientEvent,
  Compression,
  decodeFrame,
  DoubaoProtocolError,
  encodeFrame,
  jsonOf,
  MessageType,
  Serialization,
  ServerEvent,
} from '../../../host/src/voice/doubao-protocol';

/** The documentation's StartConnection example. */
const DOC_START_CONNECTION = [17, 20, 16, 0, 0, 0, 0, 1, 0, 0, 0, 2, 123, 125];

/** The documentation's StartSession example (SessionID 75a6126e-…, payload with bot_name 豆包). */
const DOC_START_SESSION = [
  17, 20, 16, 0, 0, 0, 0, 100, 0, 0, 0, 36, 55, 53, 97, 54, 49, 50, 54, 101, 45, 52, 50, 55, 102, 45, 52, 57,
  97, 49, 45, 97, 50, 99, 49, 45, 54, 50, 49, 49, 52, 51, 99, 98, 57, 100, 98, 51, 0, 0, 0, 60, 123, 34, 100,
  105, 97, 108, 111, 103, 34, 58, 123, 34, 98, 111, 116, 95, 110, 97, 109, 101, 34, 58, 34, 232, 177, 134,
  229, 140, 133, 34, 44, 34, 100, 105, 97, 108, 111, 103, 95, 105, 100, 34, 58, 34, 34, 44, 34, 101, 120, 116,
  114, 97, 34, 58, 110, 117, 108, 108, 125, 125,
];

/**
 * The documentation's TTSResponse example, as printed: the header says 2044 payload bytes (an OGG
 * page) but the dump stops after 48 of them.
 */
const DOC_TTS_RESPONSE_PREFIX = [
  17, 180, 0, 0, 0, 0, 1, 96, 0, 0, 0, 36, 51, 99, 55, 57, 49, 97, 55, 100, 45, 50, 50, 55, 97, 45, 52, 52,
  52, 54, 45, 57, 57, 51, 98, 45, 50, 52, 102, 57, 101, 51, 48, 50, 99, 99, 57, 56, 0, 0, 7, 252, 79, 103,
  103, 83, 0, 0, 64, 129, 32, 0, 0, 0, 0, 0, 132, 149, 185, 182, 172, 8, 0, 0, 169, 57, 249, 174, 1, 71, 104,
  139, 98, 229, 167, 232, 122, 108, 0, 183, 60, 54, 43, 137, 197, 126, 20, 248, 201, 174,
];

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n, 0);
  return b;
}

function malformed(bytes: number[] | Buffer): string {
  try {
    decodeFrame(Buffer.from(bytes));
  } catch (e) {
    expect(e).to.be.instanceOf(DoubaoProtocolError);
    return (e as Error).message;
  }
  return expect.fail('expected a DoubaoProtocolError');
}

describe('voice: Doubao realtime dialogue frame codec', () => {
  describe('golden vectors from the documentation', () => {
    it('StartConnection encodes to exactly the documented bytes', () => {
      expect([...clientEvent(ClientEvent.StartConnection, {})]).to.deep.equal(DOC_START_CONNECTION);
    });

    it('StartSession encodes to exactly the documented bytes', () => {
      const frame = clientEvent(
        ClientEvent.StartSession,
        { dialog: { bot_name: '豆包', dialog_id: '', extra: null } },
        '75a6126e-427f-49a1-a2c1-621143cb9db3',
      );
      expect([...frame]).to.deep.equal(DOC_START_SESSION);
    });

    it('decodes both documented client frames back', () => {
      const sc = decodeFrame(Buffer.from(DOC_START_CONNECTION));
      expect(sc).to.deep.include({
        type: MessageType.FullClient,
        flags: 0b0100,
        serialization: Serialization.Json,
        compression: Compression.None,
        event: ClientEvent.StartConnection,
      });
      expect(sc.connectId).to.equal(undefined);
      expect(jsonOf(sc)).to.deep.equal({});
      const ss = decodeFrame(Buffer.from(DOC_START_SESSION));
      expect(ss.sessionId).to.equal('75a6126e-427f-49a1-a2c1-621143cb9db3');
      expect(jsonOf(ss)).to.deep.equal({ dialog: { bot_name: '豆包', dialog_id: '', extra: null } });
    });

    it('reads the documented TTSResponse header; the printed dump is short of its 2044-byte payload', () => {
      expect(malformed(DOC_TTS_RESPONSE_PREFIX)).to.equal(
        'truncated frame: payload size 2044 but 48 bytes follow',
      );
      const whole = Buffer.concat([Buffer.from(DOC_TTS_RESPONSE_PREFIX), Buffer.alloc(2044 - 48)]);
      const f = decodeFrame(whole);
      expect(f).to.deep.include({
        type: MessageType.AudioOnlyServer,
        flags: 0b0100,
        serialization: Serialization.Raw,
        event: ServerEvent.TTSResponse,
        sessionId: '3c791a7d-227a-4446-993b-24f9e302cc98',
      });
      expect(f.payload.length).to.equal(2044);
      expect(f.payload.subarray(0, 4).toString('latin1')).to.equal('OggS');
    });
  });

  describe('round trips', () => {
    it('TaskRequest: audio-only request, raw, with the session id', () => {
      const pcm = Buffer.from([1, 2, 3, 4]);
      const bytes = audioRequest('sid', pcm);
      expect([...bytes.subarray(0, 4)]).to.deep.equal([0x11, 0x24, 0x00, 0x00]);
      const f = decodeFrame(bytes);
      expect(f).to.deep.include({ type: MessageType.AudioOnlyClient, event: 200, sessionId: 'sid' });
      expect([...f.payload]).to.deep.equal([1, 2, 3, 4]);
    });

    it("server connection events with and without a connect id (the demos read one, the client's has none)", () => {
      for (const connectId of ['c-1', '']) {
        const withId = encodeFrame({
          type: MessageType.FullServer,
          event: ServerEvent.ConnectionStarted,
          connectId,
          serialization: Serialization.Json,
          payload: Buffer.from('{}'),
        });
        expect(decodeFrame(withId)).to.deep.include({ event: 50, connectId });
      }
      const without = encodeFrame({
        type: MessageType.FullServer,
        event: ServerEvent.ConnectionFailed,
        serialization: Serialization.Json,
        payload: Buffer.from('{"error":"x"}'),
      });
      const f = decodeFrame(without);
      expect(f.connectId).to.equal(undefined);
      expect(jsonOf(f)).to.deep.equal({ error: 'x' });
    });

    it('error frames: code then payload, with or without an event and session id', () => {
      const plain = Buffer.concat([
        Buffer.from([0x11, 0xf0, 0x10, 0]),
        u32(45000003),
        Buffer.from([0, 0, 0, 13]),
        Buffer.from('{"error":"x"}'),
      ]);
      const f = decodeFrame(plain);
      expect(f).to.deep.include({ type: MessageType.Error, code: 45000003 });
      expect(f.event).to.equal(undefined);
      expect(jsonOf(f)).to.deep.equal({ error: 'x' });
      const full = encodeFrame({
        type: MessageType.Error,
        code: 55000001,
        event: ServerEvent.SessionFailed,
        sessionId: 's',
        serialization: Serialization.Json,
        payload: Buffer.from('{"error":"ServerError"}'),
      });
      expect(decodeFrame(full)).to.deep.include({ code: 55000001, event: 153, sessionId: 's' });
    });

    it('sequence numbers (positive and last-negative), gzip payloads', () => {
      for (const sequence of [7, -1]) {
        const f = decodeFrame(
          encodeFrame({
            type: MessageType.FullServer,
            event: ServerEvent.ChatResponse,
            sequence,
            sessionId: 's',
            serialization: Serialization.Json,
            compression: Compression.Gzip,
            payload: Buffer.from('{"content":"你好"}'),
          }),
        );
        expect(f.sequence).to.equal(sequence);
        expect(f.flags).to.equal(sequence > 0 ? 0b0101 : 0b0111);
        expect(jsonOf(f)).to.deep.equal({ content: '你好' });
      }
    });

    it('skips a header extension when the header size says so', () => {
      const f = decodeFrame(
        Buffer.from([0x12, 0x94, 0x10, 0, 9, 9, 9, 9, 0, 0, 0, 150, 0, 0, 0, 1, 115, 0, 0, 0, 2, 123, 125]),
      );
      expect(f).to.deep.include({ event: 150, sessionId: 's' });
    });
  });

  describe('malformed frames', () => {
    const ok = [...clientEvent(ClientEvent.StartSession, { a: 1 }, 'sid')];
    it('short, wrong version, unknown type, serialization or compression', () => {
      expect(malformed([0x11, 0x14])).to.match(/no header/);
      expect(malformed([0x21, ...ok.slice(1)])).to.match(/protocol version 2/);
      expect(malformed([0x11, 0x34, ...ok.slice(2)])).to.match(/unknown message type 0b0011/);
      expect(malformed([0x11, 0x14, 0x20, ...ok.slice(3)])).to.match(/unknown serialization 2/);
      expect(malformed([0x11, 0x14, 0x12, ...ok.slice(3)])).to.match(/unknown compression 2/);
      expect(malformed([0x1f, 0x14, 0x10, 0])).to.match(/header size 60 bytes/);
    });

    it('truncated anywhere, or bytes after the payload', () => {
      for (let n = 4; n < ok.length; n++) expect(malformed(ok.slice(0, n))).to.match(/truncated frame/);
      expect(malformed([...ok, 0])).to.equal('1 bytes after a payload of 7 bytes');
      expect(malformed([0x11, 0x94, 0x10, 0, 0, 0, 0, 150, 0xff, 0xff, 0xff, 0xff, 0, 0])).to.match(
        /session id size 4294967295 but 2 bytes follow/,
      );
    });

    it('a gzip flag on bytes that are not gzip; JSON payloads that are not objects', () => {
      const bad = encodeFrame({
        type: MessageType.FullServer,
        event: 150,
        sessionId: 's',
        serialization: Serialization.Json,
        payload: Buffer.from('{}'),
      });
      bad[2] = 0x11;
      expect(malformed(bad)).to.equal('gzip payload does not decompress');
      const json = (text: string): Error => {
        try {
          jsonOf(
            decodeFrame(
              encodeFrame({
                type: MessageType.FullServer,
                event: 451,
                sessionId: 's',
                serialization: Serialization.Json,
                payload: Buffer.from(text),
              }),
            ),
          );
        } catch (e) {
          return e as Error;
        }
        return expect.fail('expected an error');
      };
      expect(json('{').message).to.equal('event 451 payload is not valid JSON');
      expect(json('[1]').message).to.equal('event 451 payload is not a JSON object');
      const gz = decodeFrame(
        encodeFrame({
          type: MessageType.AudioOnlyServer,
          event: 352,
          sessionId: 's',
          serialization: Serialization.Raw,
          compression: Compression.Gzip,
          payload: gzipSync(Buffer.from([1])).subarray(0, 0),
        }),
      );
      expect(() => jsonOf(gz)).to.throw(DoubaoProtocolError, /not JSON-serialized/);
    });
  });
});
