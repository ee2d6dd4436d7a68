// `uzpgw connect`: reach one slot of a gateway from a workstation, through an RN, with ordinary tools.
// The mode word may stand anywhere among the flags:
//   tail        readings as JSON lines
//   modbus-tcp  a local Modbus TCP endpoint (loopback only) forwarding to the slot's bus
//   serial      the remote serial slot on stdin/stdout, or as a local PTY (--pty PATH, via socat)
//   mqtt        subscribe (--sub) and publish (--pub TOPIC=PAYLOAD) on the bridged topics
//   diag        the slot's per-slave diagnostics (Modbus: state, counters, response times)
//   attest      only appraise the gateway's session-bound evidence (exit 0 pass, 1 fail)
//   ui          the web console for the slots the Grant covers (loopback only; connect-ui.ts)

import { SLOT_ID } from '../config/board-schema.js';
import type { Mode } from '../hil/messages.js';
import { AttestationError } from '../operator/attest.js';
import { connectOperator, type OperatorConnection } from '../operator/connect.js';
import { RefusedByGateway } from '../operator/errors.js';
import { explainIllegalRequest, explainRefusal } from '../operator/grant-text.js';
import { validityText } from '../operator/preflight.js';
import { HilRefusedError, SlotChannel, type TailFrom } from '../operator/slot-channel.js';
import { nodeProvider } from '../uzp/crypto/node.js';
import { toHex } from '../uzp/bytes.js';
import { APPRAISAL_FLAGS, manifestFromFlags, policyFromFlags, renderAppraisal, type AppraisalFlags } from './attest-common.js';
import type { CommandIo } from './command.js';
import { checkPtyPath, listenModbusTcp, notice, parsePub, serveMqtt, servePty, serveStdio, serveTail, subFilter, type SerialRefusals, type TailProgress } from './connect-serve.js';
import { REOPEN, reopenWithin, untilDone } from './connect-session.js';
import { serveDiag } from './connect-diag.js';
import { DEFAULT_UI_LISTEN, serveUi } from './connect-ui.js';
import { prepareConsole } from './console-serve.js';
import { defineCommand, defineGroup } from './define.js';
import { checkReportPath } from './report-path.js';
import { cidFlag, usageError, type FlagValues } from './flags.js';

/** What every mode needs to open a session to the gateway. */
const SESSION_FLAGS = {
  key: { type: 'string', placeholder: 'FILE', required: true, describe: 'operator key file (mode 0600)' },
  pcert: { type: 'string', placeholder: 'FILE', required: true, describe: 'operator PCert' },
  trust: { type: 'string', placeholder: 'FILE', required: true, describe: 'trust anchor JSON of the domain' },
  'rn-set': { type: 'string', placeholder: 'FILE', required: true, describe: 'RN Set Statement (which RNs to attach to)' },
  grant: { type: 'string', placeholder: 'FILE', required: true, describe: 'Grant naming this operator, the gateway and the slot' },
  gateway: { type: 'string', placeholder: 'CID', required: true, describe: 'gateway CID (64 hex)' },
  revocations: { type: 'string', placeholder: 'FILE', describe: 'revocation list' },
  'por-log': { type: 'string', placeholder: 'FILE', describe: 'append every Proof-of-Reachability accepted from the gateway as a signed por-evidence artefact (JSON lines; for audits)' },
  'max-wait': { type: 'int', placeholder: 'S', min: 1, max: 3600, default: 30, describe: 'when the RN is lost, wait up to S seconds for the session to be re-stitched at another RN, then exit 3' },
} as const;
const SLOT_FLAG = { slot: { type: 'string', placeholder: 'ID', required: true, describe: 'slot id on the gateway' } } as const;
const COUNT_FLAG = { count: { type: 'int', placeholder: 'N', min: 1, describe: 'exit after N readings or messages' } } as const;

type SessionFlags = FlagValues<typeof SESSION_FLAGS> & AppraisalFlags & { readonly json: boolean };

/**
 * --slot / --show as the config defines slot ids (config/board-schema.ts SLOT_ID), worded as
 * `pantheon grant --slot` words it: no gateway has any other slot, so it is a usage error before any
 * file or network, not a Grant check (exit 1) after the files are read.
 */
function slotFlag(value: string, flag: string): string {
  if (!SLOT_ID.test(value)) throw usageError(`--${flag} ${JSON.stringify(value.slice(0, 64))}: a slot id is lowercase letters, digits, _ and - (e.g. rs485-1)`);
  return value;
}

const DESCRIPTION =
  'Opens an end-to-end session to a gateway through an RN (outbound only) and serves one slot locally. Before any network it checks, and explains, what would only fail later: the key is the one the PCert was issued for, the Grant is valid now for this operator and gateway, covers --slot and gives a purpose that opens the mode, and (modbus-tcp) --listen is a free loopback address. A refusal by the gateway is explained with the Grant you hold. With --manifest, the gateway must first pass appraisal of its session-bound evidence against that reference manifest (trusting --manifest-signer), or no slot is opened. Mode attest only prints the appraisal. When the RN carrying the session is lost, connect says so and rides through: the session is re-stitched at another RN of the set (it keeps links to two) and every message arrives once and in order; after --max-wait seconds without an RN it gives up. If the gateway refuses the re-stitch (it restarted), tail and modbus-tcp open a fresh session by themselves, and tail resumes from the reading after the last one it printed (from the reading log of the gateway), so none is skipped; serial and mqtt end, since a resent command could act twice. Exit status: 0 done (--count reached, stdin ended, SIGINT/SIGTERM; attest: appraisal passed), 1 refused, failed or the session ended with an error, or the gateway ended the session (it stopped, the Grant expired or was revoked, too many refusals: connect says which and what to do; ui: after a stop of the gateway it opens a fresh session instead) (serial: also when a write was refused, however the mode ended; attest: appraisal failed), 2 usage error, 3 the RN was lost and no re-stitch within --max-wait, 141 the reader of stdout went away (`| head -n1`: the session is closed first).';
const STDERR_JSON = '--json also makes the status lines on stderr JSON ({"event":"connected"|"attestation_passed",...}) and prints a failed appraisal there as one JSON object';
const STREAM_JSON = `stdout is JSON lines in any case; ${STDERR_JSON}`;

/** Opens the session (appraising the gateway first when asked); a failed appraisal is printed, not thrown. */
async function open(f: SessionFlags, io: CommandIo, attestOnly: boolean, use?: { slot: string; mode: Mode }): Promise<OperatorConnection | number> {
  const gateway = cidFlag(f.gateway, 'gateway');
  // Before any file or network, as `hil run --junit`: a path the records cannot be appended to (a
  // directory, a missing directory, a FIFO nobody reads) was found only at the first PoR, as one
  // por_log_failed line while the session went on and exited 0 without them.
  if (f['por-log'] !== undefined) checkReportPath('--por-log', f['por-log']);
  const attest = attestOnly || f.manifest !== undefined;
  // The policy's flag values (--trusted-ak) before the manifest file is read: a bad one is a usage error.
  const policy = policyFromFlags(f);
  const attestation = attest ? { manifest: manifestFromFlags(nodeProvider, f).manifest, policy } : undefined;
  const files = { key: f.key, pcert: f.pcert, trust: f.trust, rnSet: f['rn-set'], grant: f.grant, ...(f.revocations ? { revocations: f.revocations } : {}) };
  try {
    const porLog = f['por-log'] === undefined ? {} : { porLog: { file: f['por-log'], onError: (e: Error) => notice(io, f.json, { event: 'por_log_failed', reason: e.message }, `--por-log: cannot write (${e.message}); PoR records stop, the session goes on`) } };
    return await connectOperator(files, gateway, { maxWaitMs: f['max-wait'] * 1000, ...porLog, ...(attestation !== undefined ? { attestation } : {}), ...(use ?? {}) });
  } catch (e) {
    // A failed appraisal is a result to show, check by check, not a bare error line.
    if (e instanceof AttestationError) {
      (attestOnly ? io.stdout : io.stderr).write(renderAppraisal(e.result, f.json));
      return 1;
    }
    throw e;
  }
}

/**
 * Connects, opens the slot in the HIL mode and serves it until done. With `reopen` (tail and
 * modbus-tcp, whose local side can carry on), a session the gateway refuses to re-stitch (it
 * restarted, draft §11.4: "otherwise a fresh authorised re-stitch") is replaced by a fresh one and
 * the slot opened again, for up to --max-wait; serial and mqtt end instead (a resent command could
 * act twice).
 */
async function serveSlot(
  f: SessionFlags & { readonly slot: string },
  io: CommandIo,
  hilMode: Mode,
  serve: (slot: SlotChannel, explain: (code: string) => string, stop: AbortSignal) => Promise<number>,
  reopen = false,
  from: () => TailFrom | undefined = () => undefined,
): Promise<number> {
  slotFlag(f.slot, 'slot');
  let conn = await open(f, io, false, { slot: f.slot, mode: hilMode });
  for (;;) {
    if (typeof conn === 'number') return conn;
    const code = await serveOnce(conn, f, io, hilMode, serve, reopen, from());
    if (code !== REOPEN) return code;
    notice(io, f.json, { event: 'reopening' }, 'the gateway refused to re-stitch the session (it restarted?): opening a fresh session');
    conn = await reopenWithin(() => open(f, io, false, { slot: f.slot, mode: hilMode }), f['max-wait'] * 1000, io, f.json);
  }
}

async function serveOnce(
  conn: OperatorConnection,
  f: SessionFlags & { readonly slot: string },
  io: CommandIo,
  hilMode: Mode,
  serve: (slot: SlotChannel, explain: (code: string) => string, stop: AbortSignal) => Promise<number>,
  reopen: boolean,
  from: TailFrom | undefined,
): Promise<number> {
  const explain = (code: string, bridged?: readonly string[]): string => explainRefusal(code, conn.grant.body, f.slot, bridged);
  if (conn.appraisal !== undefined) {
    const passed = conn.appraisal.claims.filter((c) => c.status === 'pass').length;
    notice(io, f.json, { event: 'attestation_passed', checks: passed, slots: conn.appraisal.slots.length }, `gateway attestation passed (${passed} checks, ${conn.appraisal.slots.length} slots)`);
  }
  try {
    const slot = await SlotChannel.open(conn.session, f.slot, hilMode, from);
    const o = slot.opened!;
    const validity = validityText(conn.grant, Date.now());
    notice(
      io,
      f.json,
      { event: 'connected', slot: f.slot, device: o.device, driver: o.driver, purposes: o.purposes, grant_expires_at: new Date(conn.grant.expiresAt * 1000).toISOString(), ...(conn.session.rnCid ? { rn: toHex(conn.session.rnCid) } : {}) },
      `connected: slot ${f.slot}, device ${o.device} (${o.driver}), purposes ${o.purposes.join(', ')}; Grant ${validity}`,
    );
    // Aborted when the mode stops for any reason untilDone sees (SIGINT/SIGTERM, stdout closed, the
    // session ended): a mode that waits between steps (diag --watch) must not keep the process alive.
    const stop = new AbortController();
    try {
      return await untilDone(conn, serve(slot, explain, stop.signal), io, f.json, reopen);
    } finally {
      stop.abort();
    }
  } catch (e) {
    conn.close();
    // The gateway says only a code; the Grant we hold says what it covers.
    if (e instanceof HilRefusedError) throw new RefusedByGateway(e.refusal, e.what, explain(e.refusal, e.bridged));
    throw e;
  }
}

const tail = defineCommand({
  name: 'connect tail',
  summary: 'print the slot readings as JSON lines',
  description: DESCRIPTION,
  flags: {
    ...SESSION_FLAGS,
    ...SLOT_FLAG,
    ...COUNT_FLAG,
    'from-epoch': { type: 'int', placeholder: 'E', min: 0, max: 4294967295, describe: "with --from-seq: start at that reading of the gateway's log (the epoch and seq a previous tail printed) instead of the next one" },
    'from-seq': { type: 'int', placeholder: 'N', min: 0, describe: 'with --from-epoch: the seq to start at' },
    ...APPRAISAL_FLAGS,
  },
  json: `stdout is JSON lines in any case: {"event":"reading",slot,device,kind,epoch,seq,ts,value} per reading; a byte string in value is hex under its key with _hex added (payload_hex, bytes_hex; value_hex for a value that is one; {"hex":...} in an array), so bytes never print like text. ${STDERR_JSON}`,
  run: ({ flags }, io) => {
    if ((flags['from-epoch'] === undefined) !== (flags['from-seq'] === undefined)) throw usageError('--from-epoch and --from-seq go together (both from a reading tail printed)');
    // --count spans the sessions of a reopen, and so does the position: a fresh session resumes after the last printed reading.
    const printed: TailProgress = flags['from-epoch'] !== undefined && flags['from-seq'] !== undefined && flags['from-seq'] > 0 ? { n: 0, last: { epoch: flags['from-epoch'], seq: flags['from-seq'] - 1 } } : { n: 0 };
    const start = flags['from-epoch'] !== undefined && flags['from-seq'] === 0 ? { epoch: flags['from-epoch'], seq: 0 } : undefined;
    const from = (): TailFrom | undefined => (printed.last !== undefined ? { epoch: printed.last.epoch, seq: printed.last.seq + 1 } : start);
    return serveSlot(flags, io, 'tail', (slot) => serveTail(slot, io, flags.count ?? Infinity, printed), true, from);
  },
});

const modbusTcp = defineCommand({
  name: 'connect modbus-tcp',
  summary: 'a local Modbus TCP endpoint (loopback only) forwarding to the slot bus',
  description: DESCRIPTION,
  flags: { ...SESSION_FLAGS, ...SLOT_FLAG, listen: { type: 'string', placeholder: 'HOST:PORT', default: '127.0.0.1:1502', describe: 'local address, loopback only' }, ...APPRAISAL_FLAGS },
  json: STREAM_JSON,
  async run({ flags }, io) {
    // The local listener first: a busy or non-loopback --listen is refused before any network.
    const local = await listenModbusTcp(flags.listen);
    try {
      return await serveSlot(flags, io, 'modbus', (slot, explain) =>
        local.serve(slot, io, (code, exception) => {
          const why = code === 'ILLEGAL_REQUEST' ? explainIllegalRequest(exception) : explain(code);
          const ex = exception !== undefined ? ` 0x${exception.toString(16).padStart(2, '0')}` : '';
          notice(io, flags.json, { event: 'refused', code, reason: why, ...(exception !== undefined ? { exception } : {}) }, `refused: ${why} (${code}); the Modbus client got exception${ex}`);
        }),
        true,
      );
    } finally {
      await local.close();
    }
  },
});

const serial = defineCommand({
  name: 'connect serial',
  summary: 'the serial slot on stdin/stdout, or as a local PTY (--pty, needs socat)',
  description: DESCRIPTION,
  flags: { ...SESSION_FLAGS, ...SLOT_FLAG, pty: { type: 'string', placeholder: 'PATH', describe: 'expose the slot as a local PTY at PATH (needs socat)' }, ...APPRAISAL_FLAGS },
  json: 'stdout is the raw serial stream without --pty and a JSON line {"event":"pty",...} with it; --json makes the status lines on stderr JSON ({"event":"connected"|"refused",...})',
  run: async ({ flags }, io) => {
    // Before any network, as --listen of modbus-tcp: a path socat would misread is a usage error.
    if (flags.pty !== undefined) checkPtyPath(flags.pty);
    // A refused write makes it exit 1 however the mode ended (stdin, socat, a signal): DESCRIPTION.
    const refusals: SerialRefusals = { any: false };
    const code = await serveSlot(flags, io, 'serial', (slot, explain) =>
      flags.pty !== undefined ? servePty(slot, flags.pty, io, flags.json, explain, refusals) : serveStdio(slot, io, flags.json, explain, process.stdin, refusals),
    );
    return code === 0 && refusals.any ? 1 : code;
  },
});

const mqtt = defineCommand({
  name: 'connect mqtt',
  summary: 'subscribe and publish on the bridged MQTT topics',
  description: DESCRIPTION,
  flags: {
    ...SESSION_FLAGS,
    ...SLOT_FLAG,
    sub: { type: 'list', placeholder: 'FILTER', describe: 'topic filter to subscribe' },
    pub: { type: 'list', placeholder: 'TOPIC=PAYLOAD', describe: 'publish TOPIC=PAYLOAD once' },
    ...COUNT_FLAG,
    ...APPRAISAL_FLAGS,
  },
  json: 'stdout is JSON lines in any case: {"event":"message",topic,payload} per message received, payload_hex (its bytes as hex) instead of payload when they are not UTF-8 text; {"event":"published",topic} per --pub. --json also makes the status lines on stderr JSON',
  run: ({ flags }, io) => {
    // Every --sub and --pub before any network: a bad one after the session opened left the earlier
    // ones published, and a filter no broker takes came back as the gateway's BAD_TOPIC (exit 1).
    flags.sub.forEach(subFilter);
    flags.pub.forEach(parsePub);
    return serveSlot(flags, io, 'mqtt', (slot) => serveMqtt(slot, flags.sub, flags.pub, io, flags.count ?? Infinity));
  },
});

const diag = defineCommand({
  name: 'connect diag',
  summary: 'per-slave diagnostics of a Modbus slot (needs diag.read)',
  description: DESCRIPTION,
  flags: {
    ...SESSION_FLAGS,
    ...SLOT_FLAG,
    watch: { type: 'int', placeholder: 'S', min: 1, max: 3600, describe: 'print a fresh report every S seconds (until --count reports, SIGINT or SIGTERM) instead of once' },
    count: { type: 'int', placeholder: 'N', min: 1, describe: 'exit after N reports (default 1; with --watch, none)' },
    ...APPRAISAL_FLAGS,
  },
  json: 'stdout: one JSON object per report ({"event":"diag",slot,device,at,port,all,units,line}, fields as docs/PROFILE.md §HIL "diag mode"); --json also makes the status lines on stderr JSON',
  run: ({ flags }, io) => {
    const count = flags.count ?? (flags.watch !== undefined ? Infinity : 1);
    return serveSlot(flags, io, 'diag', (slot, _explain, stop) => serveDiag(slot, io, flags.json, (flags.watch ?? 1) * 1000, count, stop));
  },
});

const attest = defineCommand({
  name: 'connect attest',
  summary: "appraise the gateway's session-bound evidence and print the result",
  description: DESCRIPTION,
  // --slot is accepted so that one set of session flags serves every mode (README: `connect $C attest`).
  flags: { ...SESSION_FLAGS, slot: { type: 'string', placeholder: 'ID', describe: 'not used: the appraisal covers every slot' }, ...APPRAISAL_FLAGS },
  json: 'the appraisal as one JSON object: {ok, gateway, claims, slots}',
  async run({ flags }, io) {
    const conn = await open(flags, io, true);
    if (typeof conn === 'number') return conn;
    io.stdout.write(renderAppraisal(conn.appraisal!, flags.json));
    conn.close();
    return 0;
  },
});

const ui = defineCommand({
  name: 'connect ui',
  summary: 'the web console: live plots, per-slave diagnostics, audit (loopback)',
  description: DESCRIPTION,
  flags: {
    ...SESSION_FLAGS,
    show: { type: 'list', placeholder: 'SLOT', describe: 'a slot to show (repeat it); default: every slot the Grant names' },
    listen: { type: 'string', placeholder: 'HOST:PORT', default: DEFAULT_UI_LISTEN, describe: 'serve the console here, loopback only (port 0: a free one)' },
    ...APPRAISAL_FLAGS,
  },
  json: 'stdout: {"event":"listening","url":URL,"mode":"ui","slots":[...]} once the console serves; --json makes the status lines on stderr JSON',
  async run({ flags }, io) {
    // The address (loopback, well-formed) and the slot ids are checked before any network.
    flags.show.forEach((s) => slotFlag(s, 'show'));
    const prepared = prepareConsole(flags.listen, '--listen', {}, true);
    const conn = await open(flags, io, false);
    if (typeof conn === 'number') return conn;
    return serveUi(prepared, conn, flags.show, io, flags.json, () => reopenWithin(() => open(flags, io, false), flags['max-wait'] * 1000, io, flags.json));
  },
});

export const command = defineGroup({
  name: 'connect',
  summary: 'reach a gateway slot: tail readings, local Modbus TCP, serial/PTY, MQTT, diagnostics, web console',
  description: DESCRIPTION,
  label: 'mode',
  subcommands: [tail, modbusTcp, serial, mqtt, diag, attest, ui],
});
