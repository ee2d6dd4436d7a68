// Composition root of the gateway (ARCHITECTURE.md §Layers): an async factory over ready parts.
// config + board -> identity and trust -> ports -> devices -> HIL broker (with the attester) -> UZP
// endpoint on RN links kept up by the LinkManager. Everything that reads a file or waits is here, so
// the Gateway itself only holds ready parts and start()/stop() them. Outbound only: every socket the
// parts open is a client (RN link, Modbus TCP, MQTT) or a tty; the process holds no listener.

import { mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { pino, type Logger } from 'pino';
import { readArtefactFile } from '../files/artefact-file.js';
import { loadKeyFile } from '../files/keyfile.js';
import { loadTrustAnchor } from '../files/trust-anchor.js';
import { createDevice, type GatewayDevice } from '../hil-devices/index.js';
import { systemClock, wallMs, type Clock } from '../lib/clock.js';
import { CommonCode, LocalError } from '../lib/errors.js';
import type { PortFactory } from '../ports/serial-port-like.js';
import { TrustStore } from '../uzp/artefacts/trust.js';
import { toHex } from '../uzp/bytes.js';
import type { CryptoProvider } from '../uzp/crypto/provider.js';
import { nodeProvider } from '../uzp/crypto/node.js';
import type { PCert, Valid } from '../uzp/artefacts/types.js';
import type { Identity } from '../uzp/identity/identity.js';
import { Endpoint, type LinkPort, type OfferPort } from '../uzp/endpoint.js';
import { LinkPool } from '../uzp/link/link-pool.js';
import type { Attester } from '../attest/attester.js';
import type { GatewayConfig } from '../config/types.js';
import { ArtefactWatch } from './artefact-watch.js';
import { createAttester } from './attestation.js';
import { bootEpochFileOf, nextBootEpoch } from './boot-epoch.js';
import { buildSlotPorts, type SlotPorts } from './equipment.js';
import { Gateway } from './gateway.js';
import { AuditLog } from './hil/audit.js';
import { TicketIssuer } from '../uzp/resumption/ticket-issuer.js';
import { HilBroker } from './hil/broker.js';
import { OwnPCert } from './own-pcert.js';
import type { EvidenceSource } from './hil/evidence-service.js';
import { statusFileOf, type ReadingLogStatus } from './status-file.js';
import { readingLogStatus, type RefusalCounts } from './status-gather.js';
import { openReadingLog } from './reading-log/open.js';
import { readingLogReports } from './reading-log-reports.js';
import { ReadingRecorder } from './reading-log/recorder.js';
import { Publishers } from './publisher/publishers.js';
import { StatusReporter } from './status-reporter.js';
import { warnSharedRnAddress } from './rnset-shared-address.js';
import { logDestination } from '../lib/log-destination.js';

interface GatewayOptions {
  readonly provider?: CryptoProvider;
  /** Operational log (JSON lines); default pino to stdout. */
  readonly log?: Logger;
  /** Audit log; default from config.audit (file, else stdout). */
  readonly audit?: AuditLog;
  /** Serial port factory per slot id, replacing the tty (the demo's in-process equipment). */
  readonly portFactory?: (slot: string) => PortFactory | undefined;
  /** The installed bundle the attestation measures (default: the one this code runs from). */
  readonly bundleDir?: string;
  /** Timers of the broker, the RN links, the endpoint and stop()'s grace (default: the system clock). */
  readonly clock?: Clock;
}

/** Our identity key and PCert (bytes, and as validated), and the trust store of our domain (anchor, RN Set, revocations). */
function loadIdentityAndTrust(provider: CryptoProvider, config: GatewayConfig): { id: Identity; validPcert: Valid<PCert>; trust: TrustStore } {
  const id = loadKeyFile(provider, config.identity.key);
  const pcert = readArtefactFile(config.identity.pcert);
  const anchor = loadTrustAnchor(provider, config.trust.anchor);
  const trust = new TrustStore({ provider, rootPublicKey: anchor.rootPublicKey });
  trust.setRnSet(readArtefactFile(config.trust.rnSet));
  for (const r of config.trust.revocations) trust.setRevocation(readArtefactFile(r));
  // Our own PCert must be valid under our own trust anchor, or no RN will take the attachment.
  const validPcert = trust.validatePCert(pcert, { role: 'gateway', cid: id.cid });
  return { id, validPcert, trust };
}

/** Each slot's transports and its device driver over them (nothing is opened until start()). */
function buildEquipment(config: GatewayConfig, log: Logger, portFactory: GatewayOptions['portFactory'], cid: Uint8Array): { ports: SlotPorts[]; devices: Map<string, GatewayDevice> } {
  const portLog = log.child({ component: 'ports' });
  const ports: SlotPorts[] = [];
  const devices = new Map<string, GatewayDevice>();
  for (const slot of config.slots) {
    const p = buildSlotPorts(slot, portLog, portFactory?.(slot.id), toHex(cid));
    ports.push(p);
    // durableAck: the recorder settles every reading once the reading log has it (issue #12: MQTT acks only what is durable).
    devices.set(slot.id, createDevice(slot.id, slot.device, p, { log: log.child({ component: 'device', slot: slot.id }), durableAck: true }));
  }
  return { ports, devices };
}

/**
 * The attester once its key (software or TPM) is ready. When it cannot be, the gateway runs on
 * without attestation: verifiers are refused with the reason, and RN links attach without evidence.
 */
async function readyAttester(setup: Parameters<typeof createAttester>[0], log: Logger): Promise<{ attester?: Attester; evidence: EvidenceSource }> {
  try {
    const r = await createAttester(setup);
    if (r.tpmError !== undefined) log.warn({ event: 'attest.tpm_unusable', reason: r.tpmError }, 'TPM present but unusable; attesting with the software key');
    log.info({ event: 'attest.ready', key_origin: r.tpm !== undefined ? 'tpm' : 'software', ...(r.tpm !== undefined ? { tcti: r.tpm } : {}) }, 'attestation ready');
    return { attester: r.attester, evidence: (nonce, binding) => r.attester.evidence(nonce, binding) };
  } catch (e) {
    log.error({ event: 'attest.unavailable', reason: (e as Error).message }, 'attestation unavailable: verifiers will be refused');
    return { evidence: () => Promise.reject(e) };
  }
}

/**
 * The Endpoint needs one LinkPort for its whole life; the LinkPool replaces links as they drop
 * and come back, and forwards every link's OFFERs. The gateway joins only as a publisher (OI
 * §11.1: it opens the session to its collectors).
 */
function managerPort(m: LinkPool): LinkPort {
  return {
    join: (target, grant, ch1, signal, prefer) => m.join(target, grant, ch1, signal, prefer),
    attachedRns: () => m.attachedRns(),
    accept: () => m.accept(),
    on: (event: 'offer', cb: (o: OfferPort) => void) => m.on(event, cb),
    off: (event: 'offer', cb: (o: OfferPort) => void) => m.off(event, cb),
  };
}

/** Loads keys and trust, builds every part and returns the Gateway, not yet started. */
export async function createGateway(config: GatewayConfig, opts: GatewayOptions = {}): Promise<Gateway> {
  const provider = opts.provider ?? nodeProvider;
  const clock = opts.clock ?? systemClock;
  const log = opts.log ?? pino({ base: null, timestamp: pino.stdTimeFunctions.isoTime });
  const { id, validPcert, trust } = loadIdentityAndTrust(provider, config);
  warnSharedRnAddress(log, trust.rnSet!, config.trust.rnSet);
  // Our PCert as it is now: a renewed one adopted while running is presented from the next attachment on.
  const own = new OwnPCert(validPcert);
  const { ports, devices } = buildEquipment(config, log, opts.portFactory, id.cid);
  const audit = opts.audit ?? AuditLog.create(config.audit.file ? auditDestination(config.audit.file) : undefined);
  const { attester, evidence } = await readyAttester({ provider, cid: id.cid, signer: id.signer, config, devices, ...(opts.bundleDir !== undefined ? { bundleDir: opts.bundleDir } : {}) }, log);
  const reports = readingLogReports(log, audit);
  const readingLog = openReadingLog(config, clock, reports.hooks);
  reports.opened(readingLog.file, readingLog.log);
  // Above the epoch file's and the log's own record of past epochs (boot-epoch.ts): a lost or
  // unwritable file must not make this run's readings collide with stored ones.
  const boot = nextBootEpoch(bootEpochFileOf(config.identity.key), readingLog.log.recordedEpoch, clock.wall?.() ?? Date.now());
  readingLog.log.beginEpoch(boot.epoch);
  if (boot.error !== undefined) log.warn({ event: 'boot_epoch.unwritable', epoch: boot.epoch, reason: boot.error }, `cannot record the boot epoch (${boot.error}): this run uses epoch ${boot.epoch}, above the reading log's and the clock's seconds; make the state directory writable`);
  else log.info({ event: 'boot_epoch', epoch: boot.epoch }, `boot epoch ${boot.epoch}`);
  const recorder = new ReadingRecorder({
    log: readingLog.log,
    devices,
    epoch: boot.epoch,
    onError: (e) => {
      if (recorder.errors === 1 || recorder.errors % 1000 === 0) log.error({ event: 'reading_log.append_failed', errors: recorder.errors, reason: String((e as Error)?.message ?? e) }, 'reading log write failed; readings stay pending and are retried');
    },
  });
  const broker = new HilBroker({ devices, audit, attest: evidence, clock, epoch: boot.epoch, readings: recorder, ...(config.sessionsPerOperator !== undefined ? { sessionsPerOperator: config.sessionsPerOperator } : {}) });
  // Warm standby (draft §11.1): attached to two RNs of the set, so a session re-stitches at once.
  const links = new LinkPool({
    size: config.rnLinks ?? 2,
    trust,
    identity: own.identity({ seed: id.seed }),
    accept: true,
    clock,
    // Evidence bound to each attachment (CONTROL ATTEST): an RN run with --require-attestation offers no session before it.
    attest: evidence,
    onAttestError: (e) => log.warn({ event: 'attest.link_failed', reason: (e as Error)?.message ?? String(e) }, 'no attestation evidence for the RN link; carrying on'),
  });
  // 0-RTT (draft §9): tickets only under Grants that allow early data, kept in memory (a restart voids them).
  const tickets = new TicketIssuer({ provider, now: () => wallMs(clock) });
  const endpoint = new Endpoint({ trust, identity: own.identity({ cid: id.cid, signer: id.signer }), link: managerPort(links), clock, continuity: { trust }, tickets });
  const publishers = new Publishers({ config, provider, identity: id, trust, endpoint, log: readingLog.log, audit, logger: log.child({ component: 'publish' }), clock });
  // Whom the log keeps readings for, from the start: not first named by a receipt, after which the
  // byte bound would drop a collector's readings before no one's (reading-log/receipt-cursors.ts).
  readingLog.log.setAudience(() => publishers.audience());
  const logStatus = (): ReadingLogStatus => readingLogStatus(readingLog.file, readingLog.log, publishers.audience());
  // What peers offered and was refused, counted in full though the log lines are bounded.
  const refusals: RefusalCounts = { handshakes: 0, artefacts: 0, earlyData: 0 };
  const status = new StatusReporter({ file: statusFileOf(config), config, cid: id.cid, get pcert() { return own.valid; }, trust, devices, stats: broker.stats, refusals, links, log, clock, readingLog: logStatus, ...(publishers.size > 0 ? { publishers: () => publishers.status() } : {}) });
  const artefacts = new ArtefactWatch({ trust, pcert: own, seed: id.seed, files: { rnSet: config.trust.rnSet, revocations: config.trust.revocations, pcert: config.identity.pcert }, links, log, clock, refusals });
  return new Gateway({ config, cid: id.cid, log, clock, trust, ports, devices, broker, recorder, publishers, links, endpoint, status, artefacts, refusals, ...(attester !== undefined ? { attester } : {}) });
}

/**
 * The audit file, opened here so that a path that cannot be appended to (a directory, no
 * permission) is a clear config error at start: pino opens its destination asynchronously and
 * an open error there is an unhandled 'error' event, which would crash the gateway.
 */
function auditDestination(file: string): pino.DestinationStream {
  let fd: number;
  try {
    mkdirSync(dirname(file), { recursive: true });
    fd = openSync(file, 'a');
  } catch (e) {
    throw new LocalError(CommonCode.CONFIG_INVALID, `audit log ${file}: cannot open (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); fix "audit.file" in the config, or drop it to log audit lines to stdout`);
  }
  return logDestination(fd, `audit log ${file}`);
}
