import { expect } from 'chai';
import { Codec } from '@budlink/protocol';
import { toDeviceAudio, encodeSamples } from '../../../host/src/pipeline/to-device-audio';
import { Subject } from 'rxjs';
import { VoiceError, type VoiceEvent } from '../../../host/src/voice/types';
import { scheduler } from './marbles';

const audio = (pcm: number[], sampleRate: number): VoiceEvent => ({
  kind: 'audio',
  pcm: Int16Array.from(pcm),
  sampleRate,
});

describe('pipeline/to-device-audio', () => {
  it('converts same-rate reply audio to the device codec and ignores other events', () => {
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const src = cold<VoiceEvent>('t-a-b-d|', {
        t: { kind: 'transcript', role: 'assistant', text: 'hi', final: true },
        a: audio([0, 32767, -32768], 8000),
        b: audio([256, -256], 8000),
        d: { kind: 'done' },
      });
      expectObservable(src.pipe(toDeviceAudio({ codec: Codec.PCM_U8, sampleRate: 8000 }))).toBe('--x-y--|', {
        x: new Uint8Array([128, 255, 0]),
        y: new Uint8Array([129, 127]),
      });
      expectSubscriptions(src.subscriptions).toBe('^------!');
    });
  });

  it('reply audio at a rate the resampler cannot take fails the reply (malformed), it does not throw', () => {
    const errors: unknown[] = [];
    const src = new Subject<VoiceEvent>();
    src
      .pipe(toDeviceAudio({ codec: Codec.PCM_U8, sampleRate: 8000 }))
      .subscribe({ error: (e) => errors.push(e) });
    expect(() => src.next(audio([1, 2, 3], 0.5))).not.to.throw();
    expect(errors).to.have.length(1);
    expect(errors[0]).to.be.instanceOf(VoiceError);
    expect((errors[0] as VoiceError).kind).to.equal('malformed');
    expect(src.observed, 'the service reply is let go').to.equal(false);
  });

  it('resamples 24 kHz service audio to the 8 kHz device rate without losing length, flushing the tail at the end', () => {
    const chunks: Uint8Array[] = [];
    scheduler().run(({ cold, flush }) => {
      const tone = Array.from({ length: 2400 }, (_, i) =>
        Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / 24000)),
      );
      const src = cold('a-b|', { a: audio(tone.slice(0, 1200), 24000), b: audio(tone.slice(1200), 24000) });
      src.pipe(toDeviceAudio({ codec: Codec.PCM_S16LE, sampleRate: 8000 })).subscribe((c) => chunks.push(c));
      flush();
      expect(src.subscriptions).to.have.length(1);
      expect(src.subscriptions[0]?.unsubscribedFrame).to.equal(3);
    });
    expect(chunks).to.have.length(3); // one per event, then the filter tail at completion
    const total = chunks.reduce((n, c) => n + c.length, 0);
    expect(total).to.equal(800 * 2); // 2400 samples at 24 kHz = 800 at 8 kHz, 2 bytes each
    const view = new DataView(chunks[1]!.buffer);
    let peak = 0;
    for (let i = 0; i < chunks[1]!.length / 2; i++)
      peak = Math.max(peak, Math.abs(view.getInt16(i * 2, true)));
    expect(peak).to.be.within(7000, 9000);
  });

  it('encodes s16 little-endian explicitly', () => {
    expect(Array.from(encodeSamples(Int16Array.from([1, -2]), Codec.PCM_S16LE))).to.deep.equal([
      1, 0, 0xfe, 0xff,
    ]);
  });
});
