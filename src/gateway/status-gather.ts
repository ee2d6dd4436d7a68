// One snapshot of the running gateway for its status file: identity, runtime, the RN attachment,
// every artefact it holds with its expiry, and each slot's device. Reads the parts, changes nothing.

import type { GatewayConfig } from '../config/types.js';
import type { ModbusPollerStatus } from '../hil-devices/index.js';
import type { Envelope, PCert } from '../uzp/artefacts/types.js';
import { toHex } from '../uzp/bytes.js';
import { assessExpiry } from './expiry.js';
import { isoSeconds } from '../lib/time-text.js';
import { STATUS_KIND, STATUS_VERSION, type ArtefactStatus, type GatewayStatus, type PublishStatus, type ReadingLogStatus, type RnStatus, type SlotStatus } from './status-file.js';
import type { BrokerStats } from './hil/stats.js';
import type { AudienceEntry, ReadingLog } from './reading-log/reading-log.js';

/** What the snapshot reads of a device driver (GatewayDevice fits). */
export interface StatusDevice {
  readonly slot: string;
  readonly id: string;
  readonly driver: string;
  status(): object;
}

/** The artefacts held in the TrustStore (it fits): the installed RN Set Statement and revocation list. */
export interface HeldTrust {
  readonly rnSet: Envelope<unknown> | undefined;
  readonly revocationList: Envelope<unknown> | undefined;
}

/**
 * What the gateway refused of what peers offered, since start, counted whether or not its log line
 * was said in full (uzp/session-refusals.ts, artefact-intake.ts keep the lines bounded).
 */
export interface RefusalCounts {
  /** Sessions refused before they existed: OFFERs and handshakes (session.refused). */
  handshakes: number;
  /** Artefacts an RN offered that were refused (artefact.refused with source rn). */
  artefacts: number;
  /** Sessions whose early data (0-RTT) was not taken; they went on at 1-RTT (session.early_refused). */
  earlyData: number;
}

export interface StatusParts {
  readonly config: GatewayConfig;
  readonly cid: Uint8Array;
  /** Our own PCert as validated at start (the gateway does not reload it). */
  readonly pcert: PCert;
  readonly trust: HeldTrust;
  readonly devices: ReadonlyMap<string, StatusDevice>;
  readonly stats: BrokerStats;
  /** Refusals of what peers offered (absent: the status has no `refused`). */
  readonly refusals?: RefusalCounts;
  /** The reading log's state, read at each snapshot. */
  readonly readingLog?: () => ReadingLogStatus;
  /** Each collector's publisher, read at each snapshot. */
  readonly publishers?: () => readonly PublishStatus[];
}

/** Process facts that are not the gateway's parts (the reporter fills them in). */
export interface StatusMoment {
  readonly nowMs: number;
  readonly state: 'running' | 'stopped';
  readonly startedAtMs: number;
  readonly intervalMs: number;
  readonly rn: RnStatus;
}

function artefact(kind: ArtefactStatus['kind'], env: Envelope<unknown>, file: string | undefined, nowMs: number): ArtefactStatus {
  const a = assessExpiry(env.expiresAt * 1000, nowMs);
  return {
    kind,
    ...(file !== undefined ? { file } : {}),
    object_id: toHex(env.objectId),
    epoch: env.epoch,
    sequence: env.sequence,
    not_before: isoSeconds(env.notBefore * 1000),
    expires_at: isoSeconds(env.expiresAt * 1000),
    expiry: a.state,
    ...(a.warning !== undefined ? { warning: a.warning } : {}),
  };
}

/**
 * The reading log's line of the status file: its counters, since when commits fail, if they do,
 * and, when the gateway publishes (`audience`: its collectors), what it keeps for none of them.
 */
export function readingLogStatus(file: string, log: Pick<ReadingLog, 'durability' | 'stats' | 'heldForNobody'>, audience?: readonly AudienceEntry[]): ReadingLogStatus {
  const st = log.stats();
  const failing = st.commitFailing === undefined ? {} : { commit_failing: { since: new Date(st.commitFailing.since).toISOString(), error: st.commitFailing.error } };
  const kept = audience === undefined || audience.length === 0 ? undefined : log.heldForNobody(audience);
  const nobody = kept === undefined ? {} : { kept_for_nobody: kept };
  return { file, durability: log.durability, readings: st.readings, bytes: st.bytes, max_bytes: st.maxBytes, pending: st.pending, pending_bytes: st.pendingBytes, dropped: st.dropped, ...(st.pendingDropped !== undefined ? { pending_dropped: st.pendingDropped } : {}), receipted: st.receipted, ...nobody, ...(st.walDiscarded !== undefined ? { wal_discarded: st.walDiscarded } : {}), ...failing };
}

/** Every artefact the gateway holds. Revocation lists: the TrustStore keeps only the newest, so its file is named only when one is configured. */
export function heldArtefacts(p: Pick<StatusParts, 'config' | 'pcert' | 'trust'>, nowMs: number): ArtefactStatus[] {
  const out = [artefact('pcert', p.pcert, p.config.identity.pcert, nowMs)];
  if (p.trust.rnSet !== undefined) out.push(artefact('rn-set', p.trust.rnSet, p.config.trust.rnSet, nowMs));
  const revocations = p.config.trust.revocations;
  if (p.trust.revocationList !== undefined) out.push(artefact('revocation', p.trust.revocationList, revocations.length === 1 ? revocations[0] : undefined, nowMs));
  return out;
}

/** The serial port part of a driver's status (src/ports/serial.ts SerialPortStatus), as far as the status line needs it. */
interface PortDetail {
  readonly kind?: string;
  readonly path?: string;
  readonly state?: string;
  readonly openError?: { readonly code: string; readonly message: string; readonly check: string } | null;
  readonly degraded?: boolean;
  readonly settings?: { readonly configured?: string; readonly actual?: string };
}

/** What a driver can tell is wrong with its equipment: a serial port that is down or not as configured, Modbus units that stopped answering. */
function problemOf(d: StatusDevice, detail: object): string | undefined {
  const problems: string[] = [];
  const port = (detail as { port?: PortDetail }).port;
  if (port?.kind === 'serial' && port.openError) problems.push(`${port.path ?? 'the port'} cannot be opened (${port.openError.code}: ${port.openError.check})`);
  if (port?.kind === 'serial' && port.degraded === true) problems.push(`${port.path ?? 'the port'} is open as ${port.settings?.actual ?? '?'}, not the configured ${port.settings?.configured ?? '?'}`);
  if (d.driver === 'modbus-poller') {
    const failing = (detail as ModbusPollerStatus).units.filter((u) => u.consecutiveFailures > 0);
    for (const u of failing) problems.push(`unit ${u.unit}: ${u.consecutiveFailures} failed poll${u.consecutiveFailures === 1 ? '' : 's'} in a row (${u.lastErrorCode ?? 'error'}: ${u.lastError ?? ''})`);
  }
  return problems.length === 0 ? undefined : problems.join('; ');
}

function slot(d: StatusDevice): SlotStatus {
  const detail = d.status();
  const { running, readings } = detail as { running?: unknown; readings?: unknown };
  const problem = problemOf(d, detail);
  return {
    slot: d.slot,
    device: d.id,
    driver: d.driver,
    state: running === true ? 'running' : 'stopped',
    readings: typeof readings === 'number' ? readings : 0,
    ...(problem !== undefined ? { problem } : {}),
    detail,
  };
}

export function gatherStatus(p: StatusParts, m: StatusMoment): GatewayStatus {
  return {
    kind: STATUS_KIND,
    version: STATUS_VERSION,
    written_at: new Date(m.nowMs).toISOString(),
    pid: process.pid,
    state: m.state,
    started_at: new Date(m.startedAtMs).toISOString(),
    interval_ms: m.intervalMs,
    config: p.config.file,
    identity: { cid: toHex(p.cid), ...(p.config.name !== undefined ? { name: p.config.name } : {}), board: p.config.board },
    runtime: { node: process.version, exec_path: process.execPath, arch: process.arch, platform: process.platform },
    rn: m.rn,
    artefacts: heldArtefacts(p, m.nowMs),
    slots: [...p.devices.values()].map(slot),
    sessions: { open: p.stats.sessions, channels: p.stats.channels, refusals: p.stats.refusals },
    ...(p.refusals !== undefined ? { refused: { handshakes: p.refusals.handshakes, artefacts_from_rn: p.refusals.artefacts, early_data: p.refusals.earlyData } } : {}),
    ...(p.readingLog !== undefined ? { reading_log: p.readingLog() } : {}),
    ...(p.publishers !== undefined ? { publish: p.publishers() } : {}),
  };
}
