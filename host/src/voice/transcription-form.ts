/** The multipart/form-data body of a transcription upload, with the WAV written straight into it. */
import { randomBytes } from 'node:crypto';
import { writeS16LE, writeWavHeader } from '../audio/index';

const utf8 = new TextEncoder();

/**
 * The transcription upload as one multipart/form-data body: the text fields and the file part's
 * headers are encoded once per service, the 16-bit WAV is written straight into the body (no
 * intermediate WAV, Blob or FormData). The boundary is random per service and replaced in the rare
 * case the audio happens to contain it.
 */
export class TranscriptionForm {
  private boundary = '';
  private head = new Uint8Array(0);
  private tail = new Uint8Array(0);

  constructor(private readonly fields: Array<[string, string]>) {
    this.reset();
  }

  get contentType(): string {
    return `multipart/form-data; boundary=${this.boundary}`;
  }

  private reset(): void {
    this.boundary = `----budlink${randomBytes(16).toString('hex')}`;
    let head = '';
    for (const [name, value] of this.fields)
      head += `--${this.boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`;
    head += `--${this.boundary}\r\nContent-Disposition: form-data; name="file"; filename="utterance.wav"\r\nContent-Type: audio/wav\r\n\r\n`;
    this.head = utf8.encode(head);
    this.tail = utf8.encode(`\r\n--${this.boundary}--\r\n`);
  }

  /** The body for these samples (16-bit mono WAV at `rate`). */
  build(pcm: Int16Array, rate: number): Uint8Array {
    for (;;) {
      const body = this.encode(pcm, rate);
      const wav = Buffer.from(body.buffer, body.byteOffset + this.head.length, 44 + pcm.length * 2);
      // The boundary is preceded by CRLF + "--" in the body; the WAV must not contain that line.
      if (wav.indexOf(`--${this.boundary}`, 0, 'latin1') < 0) return body;
      this.reset();
    }
  }

  private encode(pcm: Int16Array, rate: number): Uint8Array {
    const dataBytes = pcm.length * 2;
    const out = new Uint8Array(this.head.length + 44 + dataBytes + this.tail.length);
    out.set(this.head, 0);
    const o = this.head.length;
    writeWavHeader(out, o, rate, 16, dataBytes);
    const at = o + 44;
    writeS16LE(out, at, pcm);
    out.set(this.tail, at + dataBytes);
    return out;
  }
}
