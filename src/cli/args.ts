// Option parsing shared by the commands, with the one exit-code convention: a UsageError (exit 2) names the
// option and what was wrong with it in one line (every mistake of the command line: UsageChecks); anything
// else that fails at run time exits 1.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { parseCidr } from '../net/address-policy.js';
import { IceServerUriError, parseIceServerUri, type IceServerUri } from '../net/ice-server-uri.js';
import { isIp } from '../net/ip.js';

/** A mistake in the command line: main prints `icebridge <command>: <message>` and exits 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export const EXIT_OK = 0;
export const EXIT_RUNTIME = 1;
export const EXIT_USAGE = 2;

type Options = NonNullable<ParseArgsConfig['options']>;

/**
 * node:util parseArgs, its errors turned into UsageErrors that name the option. A negative number after an
 * option that takes a value (`--ttl -5`) is taken as its value, so that the check of the value can say
 * what is wrong with it rather than parseArgs calling it ambiguous.
 */
export function parseCommandArgs<O extends Options>(args: string[], options: O, allowPositionals = true) {
  const joined: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const name = a.startsWith('--') && !a.includes('=') ? a.slice(2) : undefined;
    const next = args[i + 1];
    if (name !== undefined && options[name]?.type === 'string' && next !== undefined && /^-\d/.test(next)) {
      joined.push(`${a}=${next}`);
      i++;
    } else joined.push(a);
  }
  try {
    return parseArgs({ args: joined, options, allowPositionals, strict: true });
  } catch (err) {
    if ((err as { code?: unknown }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      const unknown = unknownOptions(joined, options);
      if (unknown.length > 1) throw new UsageError(`unknown options ${unknown.join(', ')}`);
    }
    throw new UsageError(describeParseError(err));
  }
}

/** Every option parseArgs does not know, so that one run names them all (it stops at the first). */
function unknownOptions(args: string[], options: Options): string[] {
  const { tokens } = parseArgs({ args, options, allowPositionals: true, strict: false, tokens: true });
  const names = tokens.flatMap((t) => (t.kind === 'option' && !Object.hasOwn(options, t.name) ? [t.rawName] : []));
  return [...new Set(names)];
}

/**
 * A command line's mistakes, collected so that one run names all of them in one line (`; ` between)
 * rather than only the first: fix it, run again, meet the next.
 */
export class UsageChecks {
  readonly #problems: string[] = [];

  /** What `check` returns; undefined when it throws a UsageError, whose message is kept. */
  take<T>(check: () => T): T | undefined {
    try {
      return check();
    } catch (err) {
      if (!(err instanceof UsageError)) throw err;
      this.#problems.push(err.message);
      return undefined;
    }
  }

  /** Keeps `message` as a mistake when `wrong`. */
  fail(wrong: boolean, message: string): void {
    if (wrong) this.#problems.push(message);
  }

  /** All the mistakes in one line, or undefined when there are none. */
  get message(): string | undefined {
    return this.#problems.length > 0 ? this.#problems.join('; ') : undefined;
  }

  /** Throws one UsageError naming every mistake kept. */
  done(): void {
    const message = this.message;
    if (message !== undefined) throw new UsageError(message);
  }
}

function describeParseError(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const option = /'(-{1,2}[^' <=]+)/.exec(message)?.[1];
  const code = (err as { code?: unknown }).code;
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && option) return `unknown option ${option}`;
  if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
    const arg = /'([^']*)'/.exec(message)?.[1];
    return arg === undefined ? 'this command takes no arguments besides its options' : `unexpected argument "${arg}"`;
  }
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && option) {
    if (/does not take an argument/.test(message)) return `${option} takes no value`;
    return `${option} needs a value`;
  }
  return message.split('\n')[0];
}

/** `--name must be <what>, got "<text>"`: the value quoted as the user typed it. */
function invalid(name: string, what: string, text: string): UsageError {
  return new UsageError(`--${name} must be ${what}, got ${JSON.stringify(text)}`);
}

/** A whole number > 0 (counts, milliseconds, seconds); undefined when the option was not given. */
export function positiveInteger(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(n) || n <= 0) throw invalid(name, 'a positive integer', text);
  return n;
}

/** One of `choices`, as typed: `--name must be a or b, got "c"`. */
export function oneOf<const C extends readonly string[]>(name: string, text: string, choices: C): C[number] {
  if (choices.includes(text)) return text;
  throw invalid(name, choices.length > 2 ? `${choices.slice(0, -1).join(', ')} or ${choices.at(-1)}` : choices.join(' or '), text);
}

/** A whole number >= 0 (0 meaning none). */
export function nonNegativeInteger(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(n)) throw invalid(name, 'a whole number (0 or more)', text);
  return n;
}

/** A port, 0..65535 (0: pick a free one) or 1..65535 with `allowZero` false. */
export function portNumber(name: string, text: string | undefined, allowZero = true): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  const min = allowZero ? 0 : 1;
  if (!/^\d{1,5}$/.test(text) || n < min || n > 65535) throw invalid(name, `a port (${min}..65535)`, text);
  return n;
}

/** A port range `MIN-MAX` within 1..65535. */
export function portRangeOption(name: string, text: string | undefined): [number, number] | undefined {
  if (text === undefined) return undefined;
  const m = /^(\d{1,5})-(\d{1,5})$/.exec(text);
  const range: [number, number] | undefined = m ? [Number(m[1]), Number(m[2])] : undefined;
  if (!range || range[0] < 1 || range[0] > range[1] || range[1] > 65535) throw invalid(name, 'MIN-MAX within 1-65535', text);
  return range;
}

/** A CIDR block (`10.0.0.0/8`, `fd00::/8`) for --allow/--deny. */
export function cidrOption(name: string, text: string): string {
  try {
    parseCidr(text);
  } catch {
    throw invalid(name, 'a CIDR block such as 10.0.0.0/8 or fd00::/8', text);
  }
  return text;
}

/** An IP address literal (IPv6 without brackets). */
export function ipOption(name: string, text: string): string {
  if (!isIp(text)) throw invalid(name, 'an IP address', text);
  return text;
}

/**
 * A name given to --host that does not resolve is the user's typo, not a failure of the moment: say so as a
 * usage error naming the flag. Returns undefined for any other error.
 */
export function hostLookupError(err: unknown, hosts: readonly string[]): UsageError | undefined {
  const e = err as { code?: unknown; hostname?: unknown };
  if ((e.code === 'ENOTFOUND' || e.code === 'EAI_AGAIN') && typeof e.hostname === 'string' && hosts.includes(e.hostname)) {
    return new UsageError(`--host must be an address of this machine (or a name of one), got ${JSON.stringify(e.hostname)}: it does not resolve`);
  }
  return undefined;
}

/** A required option or argument that is absent. */
export function missing(what: string): UsageError {
  return new UsageError(`missing ${what}`);
}

/**
 * An Origin for `--allow-origin`: scheme://host[:port], as browsers send it (RFC 6454 §6.2), so that a typo
 * is refused at start rather than silently matching nothing. Returns the serialized origin.
 */
export function originOption(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw invalid('allow-origin', 'an origin such as https://app.example.com', text);
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.origin === 'null' || !/^[a-z]+:\/\//i.test(text)) {
    throw invalid('allow-origin', 'an http:// or https:// origin', text);
  }
  if (url.pathname !== '/' || url.search || url.hash || url.username || url.password || /\/./.test(text.replace(/^[a-z]+:\/\//i, ''))) {
    throw invalid('allow-origin', 'an origin (scheme://host[:port], no path)', text);
  }
  return url.origin;
}

/**
 * A STUN server as the user typed it: host[:port], [v6]:port, stun:URI or stuns:URI. Errors quote `text`
 * itself, never a form rewritten from it.
 */
export function stunServerArgument(text: string, command: string): IceServerUri {
  const scheme = /^([a-z][a-z0-9+.-]*):(?!\d+$)/i.exec(text)?.[1]?.toLowerCase();
  if (scheme === 'turn' || scheme === 'turns') {
    throw new UsageError(`${JSON.stringify(text)} is a TURN URI; ${command} takes host:port, stun:host[:port] or stuns:host[:port]${command === 'stun' ? ' (--tcp for STUN over TCP)' : ''}`);
  }
  if (scheme !== undefined && scheme !== 'stun' && scheme !== 'stuns' && !text.startsWith('[')) {
    throw new UsageError(`${JSON.stringify(text)} is not a STUN server: give host:port, stun:host[:port] or stuns:host[:port]`);
  }
  try {
    return parseIceServerUri(scheme === undefined ? `stun:${text}` : text);
  } catch (err) {
    if (err instanceof IceServerUriError) throw new UsageError(`${JSON.stringify(text)} is not a STUN server: ${err.reason}`);
    throw err;
  }
}

/** A turn:/turns: URI argument; errors quote it as typed. */
export function turnServerArgument(text: string): IceServerUri {
  try {
    const uri = parseIceServerUri(text);
    if (uri.scheme !== 'turn' && uri.scheme !== 'turns') throw new UsageError(`${JSON.stringify(text)} is not a turn: or turns: URI`);
    return uri;
  } catch (err) {
    if (err instanceof IceServerUriError) throw new UsageError(`${JSON.stringify(text)} is not a TURN URI: ${err.reason}`);
    throw err;
  }
}
