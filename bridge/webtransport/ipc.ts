// The child's side of the pipe to the Node bridge: JSON lines out on stdout, in on stdin (ipc-types.ts).
// The first line in is the configuration; every later one is a ParentMessage.
import type { ChildMessage, ParentMessage, WebTransportChildConfig } from './ipc-types.js';

const encoder = new TextEncoder();

export class ParentPipe {
  private writing: Promise<void> = Promise.resolve();
  private readonly lines: AsyncIterator<string>;

  constructor() {
    this.lines = readLines(Deno.stdin.readable);
  }

  /** The configuration line; throws if stdin ends first or it is not JSON. */
  async config(): Promise<WebTransportChildConfig> {
    const first = await this.lines.next();
    if (first.done) throw new Error('no configuration on stdin');
    return JSON.parse(first.value) as WebTransportChildConfig;
  }

  /** Every later message, until the parent closes stdin (then the child should exit). */
  async *messages(): AsyncGenerator<ParentMessage> {
    for (;;) {
      const next = await this.lines.next();
      if (next.done) return;
      if (next.value.trim() === '') continue;
      try {
        yield JSON.parse(next.value) as ParentMessage;
      } catch {
        // A line that is not JSON is the parent's bug; it must not end every session.
      }
    }
  }

  /** Writes one message; lines never interleave (each write waits for the one before). */
  send(message: ChildMessage): Promise<void> {
    const bytes = encoder.encode(`${JSON.stringify(message)}\n`);
    this.writing = this.writing.then(() => writeAll(bytes)).catch(() => {});
    return this.writing;
  }
}

async function writeAll(bytes: Uint8Array): Promise<void> {
  let at = 0;
  while (at < bytes.length) at += await Deno.stdout.write(bytes.subarray(at));
}

async function* readLines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of stream) {
    buffer += decoder.decode(chunk, { stream: true });
    let nl = buffer.indexOf('\n');
    while (nl >= 0) {
      yield buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      nl = buffer.indexOf('\n');
    }
  }
  if (buffer.length > 0) yield buffer;
}
