// `icebridge decode <hex | ->`: a STUN message as JSON; malformed input as {"error":{code,offset,reason}}, exit 2.
import { fromHex } from '../crypto/index.js';
import { decodeStunMessage, describeStunMessage, StunParseError } from '../stun/index.js';
import { missing, UsageError } from './args.js';
import type { CliIO } from './main.js';

export async function runDecode(args: string[], io: CliIO): Promise<number> {
  const [source] = args;
  if (source === undefined) throw missing('the message as hex (or - to read it from stdin)');
  if (args.length > 1) throw new UsageError(`one message only, got also ${JSON.stringify(args[1])}`);
  const text = source === '-' ? await io.stdin() : source;
  let bytes: Uint8Array;
  try {
    bytes = fromHex(text.replace(/^0x/i, ''));
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    io.stdout(JSON.stringify({ error: { code: 'BAD_HEX', offset: 0, reason } }));
    return 2;
  }
  try {
    io.stdout(JSON.stringify(describeStunMessage(decodeStunMessage(bytes)), null, 2));
    return 0;
  } catch (err) {
    if (err instanceof StunParseError) {
      io.stdout(JSON.stringify({ error: { code: err.code, offset: err.offset, reason: err.reason } }));
      return 2;
    }
    throw err;
  }
}
