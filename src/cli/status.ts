// `uzpgw status [--config FILE | --state FILE]`: what the running gateway holds and how it is doing,
// from the status file it writes (src/gateway/status-reporter.ts; no socket: the gateway never
// listens). Expiry is recomputed against now, so a gateway that stopped writing still warns.

import { absent } from '../files/fsutil.js';
import { loadGatewayConfig } from '../config/index.js';
import { CONFIG_FILE } from '../flash/layout.js';
import { RENEWAL_DOC } from '../gateway/expiry.js';
import { roughDuration } from '../lib/time-text.js';
import { statusFileOf, type ArtefactStatus, type GatewayStatus, type RnStatus } from '../gateway/status-file.js';
import { processExists, readGatewayStatus, reviewStatus, UNJUDGED, type StatusReview } from '../gateway/status-read.js';
import { defineCommand } from './define.js';
import { modbusUnitLines } from './status-modbus.js';
import { usageError } from './flags.js';
import { LocalError } from '../lib/errors.js';
import { FileErrorCode } from '../files/errors.js';

const DESCRIPTION = [
  'Shows what the gateway on this machine holds and how it is doing, from the status file it writes',
  'next to its identity key (/var/lib/uzp-gateway/status.json on a flashed board; readable by root and',
  'the service user): its identity and runtime, the RN attachment, every artefact it holds (PCert, RN',
  'Set Statement, revocation list) with its expiry, and each slot with its device (under a Modbus slot,',
  'one line per unit: request state, requests, timeouts, CRC errors, exceptions, response times). From 7 days before',
  `an artefact expires it is flagged with what to do (${RENEWAL_DOC}); expiry is recomputed now, so`,
  'a stale file still warns. Exit status: 0 running and nothing expiring, 1 an artefact expired or',
  "expires within 7 days, the reading log's commits are failing (a full or failing disk), or the",
  'gateway is not running (or has stopped writing, or wrote the file more than one period ahead of',
  'this clock, so whether it runs cannot be told: the clock was stepped back since), or there is no',
  `config (no --config and none at ${CONFIG_FILE}) or status file to read, 2 usage error.`,
].join('\n');

const count = (n: number, what: string): string => `${n} ${what}${n === 1 ? '' : 's'}`;

/** The other RNs attached besides the one named (warm standby), or a warning when there is none. */
function standbyText(rn: RnStatus): string {
  if (rn.links === undefined) return '';
  const others = rn.links.filter((l) => l.rn !== rn.rn);
  return others.length > 0 ? `; standby ${others.map((l) => `${l.rn.slice(0, 12)}… at ${l.address}`).join(', ')}` : '; no standby RN (one RN reachable)';
}

function rnLine(rn: RnStatus): string {
  const err = rn.last_error !== undefined ? `; last error ${rn.last_error.code}: ${rn.last_error.message} (${rn.last_error.at})` : '';
  const tries = rn.failures > 0 ? ` (${count(rn.failures, 'failed attempt')})` : '';
  switch (rn.state) {
    case 'attached':
      return `attached to ${rn.rn} at ${rn.address} since ${rn.since}${standbyText(rn)}`;
    case 'connecting':
      return `not attached yet, trying since ${rn.since}${tries}${err}`;
    case 'detached':
      return `DETACHED since ${rn.since}, reconnecting${tries}${err}`;
    case 'stopped':
      return `stopped at ${rn.since}`;
  }
}

function artefactLines(a: ArtefactStatus, w: number): string[] {
  const head = `  ${a.kind.padEnd(w)}expires ${a.expires_at}  ${a.expiry === 'ok' ? 'ok' : a.expiry.toUpperCase()}${a.file !== undefined ? `  ${a.file}` : ''}`;
  return a.warning !== undefined ? [head, `  ${''.padEnd(w)}${a.warning}`] : [head];
}

function readingLogLines(s: GatewayStatus): string[] {
  const l = s.reading_log;
  if (l === undefined) return [];
  // `dropped` holds both: what the byte bound took from disk, and what never reached it (pending_dropped).
  const fromMemory = Object.entries(l.pending_dropped ?? {}).filter(([, n]) => n > 0);
  const dropped = Object.entries(l.dropped)
    .map(([slot, n]): [string, number] => [slot, n - (l.pending_dropped?.[slot] ?? 0)])
    .filter(([, n]) => n > 0);
  const mib = (n: number): string => `${(n / 1048576).toFixed(1)} MiB`;
  return [
    'reading log:',
    `  ${count(l.readings, 'reading')}${l.kept_for_nobody !== undefined ? ` (${l.kept_for_nobody} for no collector, dropped first past the bound)` : ''}, ${mib(l.bytes)} of ${mib(l.max_bytes)} (${l.durability}), ${l.pending} pending${l.pending_bytes ? ` (${mib(l.pending_bytes)})` : ''}, ${l.receipted} deleted after receipts  ${l.file}`,
    ...(l.wal_discarded !== undefined ? [`  LOST at an open after a crash: ${count(l.wal_discarded, 'commit')} behind a damaged WAL frame (the card may be failing: check the kernel log)`] : []),
    ...(l.commit_failing !== undefined ? [`  COMMITS FAILING since ${l.commit_failing.since}: ${l.commit_failing.error}; the ${count(l.pending, 'pending reading')} wait in memory and are retried every batch_ms (check the disk: free space, I/O errors in the kernel log)`] : []),
    ...(dropped.length > 0 ? [`  DROPPED by the byte bound (oldest first, never published): ${dropped.map(([slot, n]) => `${slot} ${n}`).join(', ')}`] : []),
    ...(fromMemory.length > 0 ? [`  DROPPED unstored since start (beyond the pending bound while commits failed, or pending at a failed stop): ${fromMemory.map(([slot, n]) => `${slot} ${n}`).join(', ')}`] : []),
    ...(s.publish ?? []).map((p) => `  collector ${p.collector.slice(0, 16)}…  ${p.state}, ${p.unreceipted} awaiting receipt, ${count(p.receipts, 'receipt')}${p.too_large !== undefined ? `, ${p.too_large} too large to publish` : ''}${p.last_receipt_at !== undefined ? `, last ${p.last_receipt_at}` : ''}${p.last_error !== undefined ? `; last error ${p.last_error.code}: ${p.last_error.message}` : ''}`),
  ];
}

function render(s: GatewayStatus, r: StatusReview, file: string, nowMs: number): string {
  const age = nowMs - Date.parse(s.written_at);
  const written = `written ${s.written_at}${age > 0 ? ` (${roughDuration(age)} ago)` : ''}`;
  const who = [s.identity.name, `board ${s.identity.board}`].filter((x) => x !== undefined).join(', ');
  const aw = Math.max(...s.artefacts.map((a) => a.kind.length), 4) + 2;
  const sw = Math.max(...s.slots.map((x) => x.slot.length), 4) + 2;
  const dw = Math.max(...s.slots.map((x) => x.device.length), 4) + 2;
  const lines = [
    `gateway  ${s.identity.cid} (${who})`,
    `  status:   ${r.alive ? `running, pid ${s.pid}, ${written}` : `${r.reason?.startsWith(UNJUDGED) === true ? 'UNKNOWN' : 'NOT RUNNING'}: ${(r.reason ?? '').replace(/^not running: /, '')}; below is what it last wrote`}`,
    `  runtime:  node ${s.runtime.node} (${s.runtime.platform} ${s.runtime.arch}, ${s.runtime.exec_path})`,
    `  RN:       ${rnLine(s.rn)}`,
    `  sessions: ${s.sessions.open} open, ${count(s.sessions.channels, 'channel')}, ${count(s.sessions.refusals, 'refusal')} since start`,
    ...(s.refused !== undefined ? [`  refused:  ${count(s.refused.handshakes, 'session')} before it began, ${count(s.refused.artefacts_from_rn, 'artefact')} from RNs${s.refused.early_data !== undefined ? `, early data of ${count(s.refused.early_data, 'session')}` : ''}, since start`] : []),
    'artefacts:',
    ...r.artefacts.flatMap((a) => artefactLines(a, aw)),
    'slots:',
    ...s.slots.flatMap((x) => [
      `  ${x.slot.padEnd(sw)}${x.device.padEnd(dw)}${x.driver.padEnd(15)}${x.state}, ${count(x.readings, 'reading')}`,
      ...(x.problem !== undefined ? [`  ${''.padEnd(sw)}problem: ${x.problem}`] : []),
      ...(x.driver === 'modbus-poller' ? modbusUnitLines(x.detail, `  ${''.padEnd(sw)}`) : []),
    ]),
    ...readingLogLines(s),
    `status file: ${file}`,
  ];
  const due = r.artefacts.filter((a) => a.expiry !== 'ok').length;
  if (due > 0) lines.push(`${count(due, 'artefact')} to renew: ${RENEWAL_DOC}`);
  return lines.join('\n') + '\n';
}

/**
 * The config named, else the flashed one (`defaultFile`, a parameter for tests); on a machine that
 * has none, the error says which flag to give. A missing file, as everywhere (README "Exit status"):
 * FILE_NOT_FOUND, exit 1, as `status --config <missing>` and `attest` on the same machine; it was
 * a usage error (exit 2), though the command line was not wrong.
 */
export function defaultConfigOr(config: string | undefined, defaultFile: string = CONFIG_FILE): ReturnType<typeof loadGatewayConfig> {
  if (config === undefined && absent(defaultFile)) throw new LocalError(FileErrorCode.FILE_NOT_FOUND, `no gateway config at ${defaultFile} (where \`uzpgw flash\` installs it): give --config FILE, or --state FILE for a status file`);
  return loadGatewayConfig(config ?? defaultFile, { checkFiles: false });
}

export const command = defineCommand({
  name: 'status',
  summary: "the running gateway's identity, RN link, artefact expiry and slots",
  description: DESCRIPTION,
  flags: {
    config: { type: 'string', placeholder: 'FILE', describe: `the gateway config; its status file is next to its identity key (default ${CONFIG_FILE})` },
    state: { type: 'string', placeholder: 'FILE', describe: 'read this status file instead of the one the config names' },
  },
  json: 'the status file as one JSON object, artefact expiry and warnings recomputed now, plus check: {file, at, alive, reason?, ok}',
  run({ flags }, io) {
    if (flags.config !== undefined && flags.state !== undefined) throw usageError('give --config or --state, not both');
    const file = flags.state ?? statusFileOf(defaultConfigOr(flags.config));
    const s = readGatewayStatus(file);
    const nowMs = Date.now();
    const r = reviewStatus(s, nowMs, processExists);
    if (flags.json) {
      const check = { file, at: new Date(nowMs).toISOString(), alive: r.alive, ...(r.reason !== undefined ? { reason: r.reason } : {}), ok: r.ok };
      io.stdout.write(JSON.stringify({ ...s, artefacts: r.artefacts, check }) + '\n');
    } else {
      let text: string;
      try {
        text = render(s, r, file, nowMs);
      } catch (e) {
        // The reader checks the file's frame, not every field the summary reads: a hand-edited or
        // damaged file says so instead of a stack trace.
        throw new LocalError(FileErrorCode.FILE_INVALID, `${file}: not a status file this uzpgw can show (${(e as Error)?.message ?? String(e)}); the gateway rewrites it every 30 s, or use --json to see it as it is`, { cause: e });
      }
      io.stdout.write(text);
    }
    return r.ok ? 0 : 1;
  },
});
