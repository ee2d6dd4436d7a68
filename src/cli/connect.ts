// `uzpgw connect`: reach one slot of a gateway from a workstation, through an RN, with ordinary tools.
//   tail        readings as JSON lines
//   modbus-tcp  a local Modbus TCP endpoint (loopback only) forwarding to the slot's bus
//   serial      the remote serial slot on stdin/stdout, or as a local PTY (--pty PATH, via socat)
//   mqtt        subscribe (--sub) and publish (--pub TOPIC=PAYLOAD) on the bridged topics

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { parseCid } from '../uzp/identity/cid.js';
import { bool, helpText, list, parseArgs, requireStr, str, usageError, type FlagSpecs, type Parsed } from './args.js';
import type { Command, CommandIo } from './command.js';
import { connectOperator, type OperatorConnection } from '../operator/connect.js';
import { ModbusTcpEndpoint } from '../operator/modbus-tcp.js';
import { SlotChannel } from '../operator/slot-channel.js';
import { toHex } from '../uzp/bytes.js';
import type { HilMessage } from '../hil/messages.js';
import { nodeProvider } from '../uzp/crypto/node.js';
import { cborToJson } from '../uzp/cbor.js';
import { AttestationError } from '../operator/attest.js';
import { APPRAISAL_FLAGS, manifestFromFlags, policyFromFlags, renderAppraisal } from './attest-common.js';
import { CommonCode, LocalError } from '../lib/errors.js';

const FLAGS: FlagSpecs = {
  key: { type: 'string', describe: 'operator key file (mode 0600)', placeholder: 'FILE' },
  pcert: { type: 'string', describe: 'operator PCert', placeholder: 'FILE' },
  trust: { type: 'string', describe: 'trust anchor JSON of the domain', placeholder: 'FILE' },
  'rn-set': { type: 'string', describe: 'RN Set Statement (which RNs to attach to)', placeholder: 'FILE' },
  grant: { type: 'string', describe: 'Grant naming this operator, the gateway and the slot', placeholder: 'FILE' },
  revocations: { type: 'string', describe: 'revocation list (optional)', placeholder: 'FILE' },
  gateway: { type: 'string', describe: 'gateway CID (64 hex)', placeholder: 'CID' },
  slot: { type: 'string', describe: 'slot id on the gateway', placeholder: 'ID' },
  listen: { type: 'string', describe: 'modbus-tcp: local address, loopback only (default 127.0.0.1:1502)', placeholder: 'HOST:PORT' },
  pty: { type: 'string', describe: 'serial: expose the slot as a local PTY at PATH (needs socat)', placeholder: 'PATH' },
  sub: { type: 'list', describe: 'mqtt: topic filter to subscribe (repeatable)', placeholder: 'FILTER' },
  pub: { type: 'list', describe: 'mqtt: publish TOPIC=PAYLOAD once (repeatable)', placeholder: 'TOPIC=PAYLOAD' },
  count: { type: 'string', describe: 'tail/mqtt: exit after N readings or messages', placeholder: 'N' },
  ...APPRAISAL_FLAGS,
  json: { type: 'boolean', describe: 'attest: print the appraisal as one JSON object' },
};
const PTY_READY_MS = 5_000;
const USAGE = 'uzpgw connect --key F --pcert F --trust F --rn-set F --grant F --gateway CID --slot ID (tail|modbus-tcp|serial|mqtt) [--manifest M --manifest-signer CID] [options]\n       uzpgw connect --key F --pcert F --trust F --rn-set F --grant F --gateway CID attest --manifest M --manifest-signer CID [--json]';
const DESCRIPTION =
  'Opens an end-to-end session to a gateway through an RN (outbound only) and serves one slot locally. With --manifest, the gateway must first pass appraisal of its session-bound evidence against that reference manifest, or no slot is opened. Mode attest only prints the appraisal (exit 0 pass, 1 fail).';

export const command: Command = {
  summary: 'reach a gateway slot: tail readings, local Modbus TCP, serial/PTY, MQTT',
  async run(argv, io) {
    if (argv.includes('--help')) {
      io.stdout.write(helpText(USAGE, DESCRIPTION, FLAGS));
      return 0;
    }
    const p = parseArgs(argv, FLAGS);
    const [mode, ...extra] = p.positionals;
    if (mode === undefined || !['tail', 'modbus-tcp', 'serial', 'mqtt', 'attest'].includes(mode)) throw usageError('give a mode: tail, modbus-tcp, serial, mqtt or attest');
    if (extra.length > 0) throw usageError(`unexpected argument ${JSON.stringify(extra[0])}`);
    const count = p.flags.count === undefined ? Infinity : Number(p.flags.count);
    if (!(count >= 1)) throw usageError('--count: a whole number >= 1');
    const gateway = parseCid(requireStr(p, 'gateway'));
    const attest = mode === 'attest' || str(p, 'manifest') !== undefined;
    const slotId = mode === 'attest' ? '' : requireStr(p, 'slot');
    const attestation = attest ? { manifest: manifestFromFlags(nodeProvider, p).manifest, policy: policyFromFlags(p) } : undefined;
    let conn: OperatorConnection;
    try {
      conn = await connectOperator(
        {
          key: requireStr(p, 'key'),
          pcert: requireStr(p, 'pcert'),
          trust: requireStr(p, 'trust'),
          rnSet: requireStr(p, 'rn-set'),
          grant: requireStr(p, 'grant'),
          ...(str(p, 'revocations') ? { revocations: str(p, 'revocations')! } : {}),
        },
        gateway,
        attestation !== undefined ? { attestation } : {},
      );
    } catch (e) {
      // A failed appraisal is a result to show, check by check, not a bare error line.
      if (e instanceof AttestationError) {
        (mode === 'attest' ? io.stdout : io.stderr).write(renderAppraisal(e.result, mode === 'attest' && bool(p, 'json')));
        return 1;
      }
      throw e;
    }
    if (mode === 'attest') {
      io.stdout.write(renderAppraisal(conn.appraisal!, bool(p, 'json')));
      conn.close();
      return 0;
    }
    if (conn.appraisal !== undefined) io.stderr.write(`gateway attestation passed (${conn.appraisal.claims.filter((c) => c.status === 'pass').length} checks, ${conn.appraisal.slots.length} slots)\n`);
    try {
      const slot = await SlotChannel.open(conn.session, slotId, mode === 'modbus-tcp' ? 'modbus' : (mode as 'tail' | 'serial' | 'mqtt'));
      io.stderr.write(`connected: slot ${slotId}, device ${slot.opened!.device} (${slot.opened!.driver}), purposes ${slot.opened!.purposes.join(', ')}\n`);
      const done = runMode(mode, slot, p, io, count);
      return await untilDone(conn, done);
    } catch (e) {
      conn.close();
      throw e;
    }
  },
};

/** Resolves with the exit code when the mode ends, the session ends, or SIGINT/SIGTERM arrives. */
async function untilDone(conn: OperatorConnection, done: Promise<number>): Promise<number> {
  const signal = new Promise<number>((resolve) => {
    const stop = (): void => resolve(0);
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  const ended = new Promise<number>((resolve) => conn.session.once('close', (e?: Error) => resolve(e ? 1 : 0)));
  const code = await Promise.race([done, signal, ended]);
  conn.close();
  return code;
}

function runMode(mode: string, slot: SlotChannel, p: Parsed, io: CommandIo, count: number): Promise<number> {
  switch (mode) {
    case 'tail':
      return new Promise((resolve) => {
        let n = 0;
        slot.on('reading', (r: Extract<HilMessage, { t: 'reading' }>) => {
          io.stdout.write(JSON.stringify({ event: 'reading', slot: r.slot, device: r.device, kind: r.kind, seq: r.seq, ts: r.ts, value: cborToJson(r.value) }) + '\n');
          if (++n >= count) resolve(0);
        });
      });
    case 'modbus-tcp':
      return serveModbusTcp(slot, str(p, 'listen') ?? '127.0.0.1:1502', io);
    case 'serial':
      return str(p, 'pty') !== undefined ? servePty(slot, str(p, 'pty')!, io) : serveStdio(slot, io);
    default:
      return serveMqtt(slot, list(p, 'sub'), list(p, 'pub'), io, count);
  }
}

async function serveModbusTcp(slot: SlotChannel, listen: string, io: CommandIo): Promise<number> {
  const i = listen.lastIndexOf(':');
  const host = listen.slice(0, i).replace(/^\[|\]$/g, '');
  const port = Number(listen.slice(i + 1));
  if (i <= 0 || !Number.isInteger(port) || port < 0 || port > 65535) throw usageError(`--listen: expected HOST:PORT, got ${JSON.stringify(listen)}`);
  const ep = new ModbusTcpEndpoint((unit, pdu) => slot.modbus(unit, pdu));
  const address = await ep.listen(host, port);
  io.stdout.write(JSON.stringify({ event: 'listening', address, mode: 'modbus-tcp' }) + '\n');
  return new Promise((resolve) => slot.once('end', () => void ep.close().then(() => resolve(1))));
}

function serveStdio(slot: SlotChannel, io: CommandIo): Promise<number> {
  slot.on('data', (d: Uint8Array) => io.stdout.write(d));
  slot.on('refused', (code: string) => io.stderr.write(`refused: ${code}\n`));
  return new Promise((resolve) => {
    process.stdin.on('data', (chunk: Buffer) => void slot.write(new Uint8Array(chunk)).catch(() => resolve(1)));
    process.stdin.once('end', () => resolve(0));
  });
}

/** --pty: socat creates PATH as a PTY and bridges it to our pipes, so terminal programs can open it. */
function servePty(slot: SlotChannel, path: string, io: CommandIo): Promise<number> {
  const socat = spawn('socat', [`pty,link=${path},raw,echo=0`, 'STDIO'], { stdio: ['pipe', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    socat.once('error', (e) => reject(new LocalError(CommonCode.USAGE, `--pty needs socat (apt-get install socat): ${e.message}`)));
    // socat creates the link a moment after it starts: announce the PTY only once it can be opened.
    socat.once('spawn', () => {
      const deadline = Date.now() + PTY_READY_MS;
      const check = (): void => {
        if (existsSync(path)) io.stdout.write(JSON.stringify({ event: 'pty', path, pid: socat.pid }) + '\n');
        else if (Date.now() > deadline) {
          socat.kill('SIGTERM');
          reject(new LocalError(CommonCode.USAGE, `socat did not create ${path} within ${PTY_READY_MS} ms`));
        } else setTimeout(check, 20);
      };
      check();
    });
    slot.on('data', (d: Uint8Array) => socat.stdin.write(d));
    socat.stdout.on('data', (chunk: Buffer) => void slot.write(new Uint8Array(chunk)).catch(() => undefined));
    socat.once('exit', () => resolve(0));
    slot.once('end', () => {
      socat.kill('SIGTERM');
      resolve(1);
    });
    process.once('exit', () => socat.kill('SIGTERM'));
  });
}

/** JSON lines out: one per message received and per publication acknowledged. */
async function serveMqtt(slot: SlotChannel, subs: string[], pubs: string[], io: CommandIo, count: number): Promise<number> {
  let n = 0;
  let finish: (code: number) => void = () => {};
  const done = new Promise<number>((r) => (finish = r));
  slot.on('msg', (topic: string, payload: Uint8Array) => {
    const text = Buffer.from(payload).toString('utf8');
    io.stdout.write(JSON.stringify({ event: 'message', topic, payload: /^[\x20-\x7e]*$/.test(text) ? text : toHex(payload) }) + '\n');
    if (++n >= count) finish(0);
  });
  for (const f of subs) await slot.subscribe(f);
  for (const spec of pubs) {
    const eq = spec.indexOf('=');
    if (eq <= 0) throw usageError(`--pub: expected TOPIC=PAYLOAD, got ${JSON.stringify(spec)}`);
    await slot.publish(spec.slice(0, eq), Buffer.from(spec.slice(eq + 1)));
    io.stdout.write(JSON.stringify({ event: 'published', topic: spec.slice(0, eq) }) + '\n');
  }
  if (subs.length === 0) return 0;
  return done;
}
