// What `uzpgw connect` serves locally once a slot channel is open, one function per mode. Each
// resolves with the exit code when the mode is done (count reached, stdin ended, slot ended).
// stdout carries JSON lines (or, for `serial` without --pty, the raw serial stream).

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Readable } from 'node:stream';
import type { HilMessage } from '../hil/messages.js';
import { payloadValue } from '../hil-devices/mqtt-bridge.js';
import { CommonCode, LocalError } from '../lib/errors.js';
import { isTopicFilter, isTopicName } from '../lib/mqtt-topics.js';
import { jsonLine, printable } from '../lib/terminal-text.js';
import { ModbusTcpEndpoint } from '../operator/modbus-tcp.js';
import type { SlotChannel } from '../operator/slot-channel.js';
import { toHex } from '../uzp/bytes.js';
import { markedField } from '../uzp/cbor-marked.js';
import type { CommandIo } from './command.js';
import { usageError } from './flags.js';

const PTY_READY_MS = 5_000;
/**
 * Serial bytes from the gateway queued for a local reader (stdout, socat's stdin) beyond which they
 * are dropped: ~90 s of a 115200-baud line, so a reader that reads never loses any.
 */
export const SERIAL_OUT_MAX_QUEUED = 1024 * 1024;
/** What socat's address syntax splits on or reads as quoting (`,` options, `:` parameters, `!!`, brackets). */
const SOCAT_SPECIAL = /[,:!{}[\]()'"\\\s]/;

/**
 * --pty PATH goes into a socat address (`pty,link=PATH,…`): a `,` or `:` in it would become socat
 * options or parameters, so such a path is a usage error (exit 2) naming the flag.
 */
export function checkPtyPath(path: string): void {
  if (path === '' || SOCAT_SPECIAL.test(path)) {
    throw usageError(`--pty: ${JSON.stringify(path)} cannot be given to socat; use a path without , : ! ( ) [ ] { } quotes, backslashes or spaces`);
  }
  if (!existsSync(dirname(path))) throw usageError(`--pty ${path}: the directory ${dirname(path)} does not exist`);
}

/**
 * Serial bytes from the gateway to `out`, which may not keep up (a paused pipe, a PTY nobody has
 * opened). The HIL serial stream cannot push back: the gateway already drops what its session
 * cannot carry, as a serial line without flow control loses bytes nobody reads. So beyond
 * SERIAL_OUT_MAX_QUEUED queued we drop too, count, and say so once on stderr (and the total at the end).
 */
export function serialOut(out: NodeJS.WritableStream, io: CommandIo, json: boolean, what: string): { write(d: Uint8Array): void; done(): void } {
  let dropped = 0;
  // A stream without writableLength: queued is unknown, so "write() said full until 'drain'" stands in.
  let full = false;
  const queued = (): number => (out as { writableLength?: number }).writableLength ?? (full ? Infinity : 0);
  return {
    write(d) {
      if (queued() >= SERIAL_OUT_MAX_QUEUED) {
        if (dropped === 0) notice(io, json, { event: 'serial_dropping', to: what }, `${what} is not reading fast enough: dropping the gateway's serial bytes while ${SERIAL_OUT_MAX_QUEUED} are queued for it`);
        dropped += d.length;
        return;
      }
      if (!out.write(d) && !full) {
        full = true;
        out.once('drain', () => (full = false));
      }
    },
    done() {
      if (dropped > 0) notice(io, json, { event: 'serial_dropped', to: what, bytes: dropped }, `${dropped} serial bytes from the gateway were dropped (${what} did not read them)`);
    },
  };
}

/**
 * A status line on stderr: human text, or with --json one JSON object per line. Either may carry what
 * the gateway sent (a refusal code, the topics it bridges, why a session ended): made inert for the
 * terminal here, once for every notice (src/lib/terminal-text.ts).
 */
export function notice(io: CommandIo, json: boolean, fields: { readonly event: string } & Record<string, unknown>, text: string): void {
  io.stderr.write(json ? jsonLine(fields) : printable(text) + '\n');
}

/** What tail printed so far, across the sessions of a reopen: how many, and the last (epoch, seq). */
export interface TailProgress {
  n: number;
  last?: { readonly epoch: number; readonly seq: number };
}

/** tail: one JSON line per reading, its byte strings marked (uzp/cbor-marked.ts). */
export function serveTail(slot: SlotChannel, io: CommandIo, count: number, printed: TailProgress = { n: 0 }): Promise<number> {
  return new Promise((resolve) => {
    if (printed.n >= count) return resolve(0);
    slot.on('reading', (r: Extract<HilMessage, { t: 'reading' }>) => {
      // Exactly `count`: readings that arrive in the same block after the last one are not printed.
      if (printed.n >= count) return;
      io.stdout.write(jsonLine({ event: 'reading', slot: r.slot, device: r.device, kind: r.kind, ...(r.epoch !== undefined ? { epoch: r.epoch } : {}), seq: r.seq, ts: r.ts, ...markedField('value', r.value) }));
      if (r.epoch !== undefined) printed.last = { epoch: r.epoch, seq: r.seq };
      if (++printed.n >= count) resolve(0);
    });
  });
}

/** modbus-tcp, step 1, before any network: the loopback listener (refuses a non-loopback or busy address). */
export async function listenModbusTcp(listen: string): Promise<{ serve(slot: SlotChannel, io: CommandIo, onRefused: (code: string, exception: number | undefined) => void): Promise<number>; close(): Promise<void> }> {
  const i = listen.lastIndexOf(':');
  const host = listen.slice(0, i).replace(/^\[|\]$/g, '');
  const port = Number(listen.slice(i + 1));
  if (i <= 0 || !/^\d{1,5}$/.test(listen.slice(i + 1)) || port > 65535) throw usageError(`--listen: expected HOST:PORT, got ${JSON.stringify(listen)}`);
  let current: SlotChannel | undefined;
  let refused: (code: string, exception: number | undefined) => void = () => {};
  // Until the slot is open there is nothing to forward to: a client that connects early gets 0x0A.
  const ep = new ModbusTcpEndpoint(async (unit, pdu) => {
    if (current === undefined) throw new LocalError(CommonCode.ABORTED, 'the slot is not open yet');
    const r = await current.modbus(unit, pdu);
    // The exception the client gets (fc | 0x80, code) says which refusal it was (ILLEGAL_REQUEST has several).
    if (r.refused !== undefined) refused(r.refused, r.pdu.length === 2 && (r.pdu[0]! & 0x80) !== 0 ? r.pdu[1] : undefined);
    return r;
  });
  const address = await ep.listen(host, port);
  return {
    // modbus-tcp, step 2: forward to the open slot; announces the address once requests can flow.
    serve(slot, io, onRefused) {
      current = slot;
      refused = onRefused;
      io.stdout.write(JSON.stringify({ event: 'listening', address, mode: 'modbus-tcp' }) + '\n');
      return new Promise((resolve) => slot.once('end', () => resolve(1)));
    },
    close: () => ep.close(),
  };
}

/**
 * Chunks of `from` to the slot one after another, `from` paused while one waits for room in the
 * session: in order (each write waits on its own, so a later, smaller chunk could pass a larger one
 * held at a full send buffer), and a fast producer (`cat big-file |`) waits instead of growing our
 * memory. `failed` when a write fails (the slot or the session ended).
 */
export function forwardInOrder(from: Readable, slot: Pick<SlotChannel, 'write'>, failed: () => void): void {
  from.on('data', (chunk: Buffer) => {
    from.pause();
    slot.write(new Uint8Array(chunk)).then(
      () => from.resume(),
      () => failed(),
    );
  });
}

/** Whether a serial write was refused (by the gateway, or here for a Grant without serial.write). */
export interface SerialRefusals {
  any: boolean;
}

/**
 * What the serial mode writes to the slot through: refusals are said on stderr and remembered, so
 * that connect exits 1 (its --help: "1 refused") instead of 0 at the end of stdin. A Grant without
 * serial.write still opens the mode (serial.read: watching the line), and the gateway would refuse
 * every write, but with a refusal that may arrive after stdin ended and the session closed: that is
 * known here already (the purposes the gateway granted come in `opened`), so such input is refused
 * here, once, and not sent.
 */
export function serialInput(slot: SlotChannel, io: CommandIo, json: boolean, explain: (code: string) => string, refusals: SerialRefusals): Pick<SlotChannel, 'write'> {
  const say = (code: string, extra = ''): void => notice(io, json, { event: 'refused', code, reason: explain(code) + extra }, `refused: ${explain(code)}${extra} (${code})`);
  slot.on('refused', (code: string) => {
    refusals.any = true;
    say(code);
  });
  const purposes = slot.opened?.purposes;
  if (purposes === undefined || purposes.includes('serial.write')) return slot;
  let said = false;
  return {
    write: async () => {
      refusals.any = true;
      if (said) return;
      said = true;
      say('PURPOSE_NOT_GRANTED', '; writing needs serial.write, so input is not sent');
    },
  };
}

/** serial without --pty: the slot's bytes on stdout, stdin to the slot. */
export function serveStdio(slot: SlotChannel, io: CommandIo, json: boolean, explain: (code: string) => string, stdin: Readable = process.stdin, refusals: SerialRefusals = { any: false }): Promise<number> {
  const out = serialOut(io.stdout, io, json, 'stdout');
  slot.on('data', (d: Uint8Array) => out.write(d));
  const input = serialInput(slot, io, json, explain, refusals);
  return new Promise<number>((resolve) => {
    forwardInOrder(stdin, input, () => resolve(1));
    stdin.once('end', () => resolve(0));
    slot.once('end', () => resolve(1));
  }).finally(() => {
    // Done (the slot or the session ended, a signal): stdin must not keep the process alive, on a
    // terminal until the next key press.
    stdin.removeAllListeners('data');
    stdin.pause();
    out.done();
  });
}

/** --pty: socat creates PATH as a PTY and bridges it to our pipes, so terminal programs can open it. */
export function servePty(slot: SlotChannel, path: string, io: CommandIo, json = false, explain: (code: string) => string = (c) => c, refusals: SerialRefusals = { any: false }): Promise<number> {
  try {
    checkPtyPath(path);
  } catch (e) {
    return Promise.reject(e);
  }
  const socat = spawn('socat', [`pty,link=${path},raw,echo=0`, 'STDIO'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let socatErr = '';
  socat.stderr.on('data', (b: Buffer) => {
    socatErr = (socatErr + b.toString()).slice(-2000);
    io.stderr.write(b);
  });
  let announced = false;
  // Until a terminal program opens the PTY, socat stops reading us once the PTY's buffer is full.
  const out = serialOut(socat.stdin, io, json, `the PTY ${path}`);
  return new Promise<number>((resolve, reject) => {
    // 'on', not 'once': a child process may emit 'error' again (a failed kill), and one nobody hears ends us.
    socat.on('error', (e) => reject(new LocalError(CommonCode.USAGE, `--pty needs socat (apt-get install socat): ${e.message}`)));
    // socat gone (killed, its PTY torn down) while the gateway still sends: EPIPE here, and 'exit' says the rest.
    socat.stdin.on('error', () => undefined);
    // socat creates the link a moment after it starts: announce the PTY only once it can be opened.
    socat.once('spawn', () => {
      const deadline = Date.now() + PTY_READY_MS;
      const check = (): void => {
        if (socat.exitCode !== null) return;
        if (existsSync(path)) {
          announced = true;
          io.stdout.write(JSON.stringify({ event: 'pty', path, pid: socat.pid }) + '\n');
        } else if (Date.now() > deadline) {
          socat.kill('SIGTERM');
          reject(new LocalError(CommonCode.USAGE, `socat did not create ${path} within ${PTY_READY_MS} ms`));
        } else setTimeout(check, 20);
      };
      check();
    });
    slot.on('data', (d: Uint8Array) => out.write(d));
    forwardInOrder(socat.stdout, serialInput(slot, io, json, explain, refusals), () => undefined);
    // socat that ends before the PTY was there could not make it (a bad path, no permission): exit 1.
    socat.once('exit', (code) => {
      if (announced) resolve(code === 0 || code === null ? 0 : 1);
      else reject(new LocalError(CommonCode.USAGE, `--pty ${path}: socat could not create it (exit ${code}): ${socatErr.trim().split('\n').at(-1) ?? ''}`));
    });
    slot.once('end', () => {
      socat.kill('SIGTERM');
      resolve(1);
    });
    process.once('exit', () => socat.kill('SIGTERM'));
  }).finally(() => out.done());
}

/** --pub TOPIC=PAYLOAD; checked for every --pub before any network (connect.ts), and again here. */
export function parsePub(spec: string): { topic: string; payload: Uint8Array } {
  const eq = spec.indexOf('=');
  if (eq <= 0) throw usageError(`--pub: expected TOPIC=PAYLOAD, got ${JSON.stringify(spec)}`);
  const topic = spec.slice(0, eq);
  if (!isTopicName(topic)) throw usageError(`--pub ${JSON.stringify(topic.slice(0, 64))}: not an MQTT topic name (a topic to publish has no + or # wildcards)`);
  return { topic, payload: Buffer.from(spec.slice(eq + 1)) };
}

/** --sub FILTER, checked before any network (connect.ts) as pantheon checks a Grant's topics. */
export function subFilter(filter: string): string {
  if (!isTopicFilter(filter)) throw usageError(`--sub ${JSON.stringify(filter.slice(0, 64))}: not an MQTT topic filter (+ is a whole level, # the whole last level)`);
  return filter;
}

/**
 * A received payload in a JSON line: `payload` when it is text by the rule the gateway's readings
 * use (hil-devices payloadValue: well-formed UTF-8, no control characters but tab, CR, LF), else
 * `payload_hex`. Two keys, not one: a text payload that looks like hex ("deadbeef") and the bytes
 * de ad be ef printed the same `"payload":"deadbeef"`, and a reader could not tell which it got.
 */
export function mqttPayloadJson(payload: Uint8Array): { payload: string } | { payload_hex: string } {
  const v = payloadValue(payload);
  return typeof v === 'string' ? { payload: v } : { payload_hex: toHex(payload) };
}

/** mqtt: JSON lines out, one per message received and per publication acknowledged. */
export async function serveMqtt(slot: SlotChannel, subs: readonly string[], pubs: readonly string[], io: CommandIo, count: number): Promise<number> {
  let n = 0;
  let finish: (code: number) => void = () => {};
  const done = new Promise<number>((r) => (finish = r));
  slot.on('msg', (topic: string, payload: Uint8Array) => {
    if (n >= count) return;
    io.stdout.write(jsonLine({ event: 'message', topic, ...mqttPayloadJson(payload) }));
    if (++n >= count) finish(0);
  });
  for (const f of subs) await slot.subscribe(f);
  for (const { topic, payload } of pubs.map(parsePub)) {
    await slot.publish(topic, payload);
    io.stdout.write(JSON.stringify({ event: 'published', topic }) + '\n');
  }
  if (subs.length === 0) return 0;
  return done;
}
