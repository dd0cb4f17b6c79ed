/**
 * A tiny OpenAI-compatible server on 127.0.0.1 for the CLI tests: transcription, streamed chat
 * (SSE), and speech as raw 24 kHz s16le PCM (a short tone, so the reply fits the earbud's buffer).
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeOpenAi {
  baseUrl: string;
  calls: string[];
  close(): Promise<void>;
}

export const HEARD = 'what is the weather in Paris';
export const ANSWER = 'Sunny and mild.';

function drain(req: IncomingMessage): Promise<void> {
  return new Promise((resolve) => {
    req.on('data', () => undefined);
    req.on('end', () => resolve());
  });
}

export async function startFakeOpenAi(options: { status?: number } = {}): Promise<FakeOpenAi> {
  const calls: string[] = [];
  const server: Server = createServer((req, res) => {
    void drain(req).then(() => {
      const path = (req.url ?? '').split('?')[0] ?? '';
      calls.push(`${req.method} ${path}`);
      if (options.status !== undefined) {
        res.writeHead(options.status, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { message: 'nope' } }));
        return;
      }
      if (path === '/v1/models') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ object: 'list', data: [] }));
      } else if (path === '/v1/audio/transcriptions') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ text: HEARD }));
      } else if (path === '/v1/chat/completions') {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write(`data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: ANSWER } }] })}\n\n`);
        res.write(
          `data: ${JSON.stringify({ choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] })}\n\n`,
        );
        res.end('data: [DONE]\n\n');
      } else if (path === '/v1/audio/speech') {
        const n = 7200; // 0.3 s at 24 kHz
        const pcm = Buffer.alloc(n * 2);
        for (let i = 0; i < n; i++)
          pcm.writeInt16LE(Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / 24000)), i * 2);
        res.writeHead(200, { 'content-type': 'audio/pcm' });
        res.end(pcm);
      } else {
        res.writeHead(404).end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    calls,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
