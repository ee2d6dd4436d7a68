// Composition root of the gateway (ARCHITECTURE.md): config + board -> ports -> devices -> HIL broker
// -> UZP endpoint on an RN link kept up by the LinkManager. Outbound only: every socket this opens
// is a client (RN link, Modbus TCP, MQTT) or a tty; the process holds no listener of any kind.

import { EventEmitter } from 'node:events';
import { pino, type Logger } from 'pino';
import { readArtefactFile } from '../files/artefact-file.js';
import { loadKeyFile } from '../files/keyfile.js';
import { loadTrustAnchor } from '../files/trust-anchor.js';
import { createDevice, type GatewayDevice } from '../hil-devices/index.js';
import { TrustStore } from '../uzp/artefacts/trust.js';
import { toHex } from '../uzp/bytes.js';
import type { PortFactory } from '../ports/serial-port-like.js';
import type { CryptoProvider } from '../uzp/crypto/provider.js';
import { nodeProvider } from '../uzp/crypto/node.js';
import { Endpoint, type LinkPort, type OfferPort } from '../uzp/endpoint.js';
import type { HandshakeExtension } from '../uzp/handshake/messages.js';
import { LinkManager } from '../uzp/link/link-manager.js';
import type { Session } from '../uzp/session/session.js';
import type { GatewayConfig } from '../config/types.js';
import { buildSlotPorts, type SlotPorts } from './equipment.js';
import { AuditLog } from './hil/audit.js';
import { HilBroker } from './hil/broker.js';
import { createAttester } from './attestation.js';
import type { Attester } from '../attest/attester.js';
import { attestationRequestOf } from '../attest/request.js';
import { CommonCode, StateError } from '../lib/errors.js';

/** How long stop() waits for sessions to close cleanly before dropping the RN link. */
const STOP_GRACE_MS = 2_000;

export interface GatewayOptions {
  readonly provider?: CryptoProvider;
  /** Operational log (JSON lines); default pino to stdout. */
  readonly log?: Logger;
  /** Audit log; default from config.audit (file, else stdout). */
  readonly audit?: AuditLog;
  /** Serial port factory per slot id, replacing the tty (the demo's in-process equipment). */
  readonly portFactory?: (slot: string) => PortFactory | undefined;
  /** The installed bundle the attestation measures (default: the one this code runs from). */
  readonly bundleDir?: string;
}

export class Gateway extends EventEmitter {
  readonly cid: Uint8Array;
  readonly devices = new Map<string, GatewayDevice>();
  readonly broker: HilBroker;
  private readonly ports: SlotPorts[] = [];
  private readonly links: LinkManager;
  private readonly endpoint: Endpoint;
  private readonly log: Logger;
  private readonly sessions = new Set<Session>();
  private readonly trust: TrustStore;
  private stopped = false;
  /** Settles once the attestation key (software or TPM) is ready; rejects when it cannot be. */
  readonly attester: Promise<Attester>;

  constructor(
    readonly config: GatewayConfig,
    opts: GatewayOptions = {},
  ) {
    super();
    const provider = opts.provider ?? nodeProvider;
    this.log = opts.log ?? pino({ base: null, timestamp: pino.stdTimeFunctions.isoTime });
    const id = loadKeyFile(provider, config.identity.key);
    this.cid = id.cid;
    const pcert = readArtefactFile(config.identity.pcert);
    const anchor = loadTrustAnchor(provider, config.trust.anchor);
    const trust = new TrustStore({ provider, rootPublicKey: anchor.rootPublicKey });
    this.trust = trust;
    trust.setRnSet(readArtefactFile(config.trust.rnSet));
    for (const r of config.trust.revocations) trust.setRevocation(readArtefactFile(r));
    // Our own PCert must be valid under our own trust anchor, or no RN will take the attachment.
    trust.validatePCert(pcert, { role: 'gateway', cid: id.cid });

    const portLog = this.log.child({ component: 'ports' });
    for (const slot of config.slots) {
      const ports = buildSlotPorts(slot, portLog, opts.portFactory?.(slot.id));
      this.ports.push(ports);
      this.devices.set(slot.id, createDevice(slot.id, slot.device, ports, { log: this.log.child({ component: 'device', slot: slot.id }) }));
    }
    const audit = opts.audit ?? AuditLog.create(config.audit.file ? pino.destination({ dest: config.audit.file, append: true, mkdir: true }) : undefined);
    this.attester = createAttester({ provider, cid: id.cid, signer: id.signer, config, devices: this.devices, ...(opts.bundleDir !== undefined ? { bundleDir: opts.bundleDir } : {}) }).then((r) => {
      if (r.tpmError !== undefined) this.log.warn({ event: 'attest.tpm_unusable', reason: r.tpmError }, 'TPM present but unusable; attesting with the software key');
      this.log.info({ event: 'attest.ready', key_origin: r.tpm !== undefined ? 'tpm' : 'software', ...(r.tpm !== undefined ? { tcti: r.tpm } : {}) }, 'attestation ready');
      // Measure the bundle now, so the first verifier does not wait for the full hash.
      void r.attester.prime().catch((e: unknown) => this.log.warn({ event: 'attest.measure_failed', error: String(e) }, 'bundle measurement failed'));
      return r.attester;
    });
    this.attester.catch((e: unknown) => this.log.error({ event: 'attest.unavailable', reason: (e as Error).message }, 'attestation unavailable: verifiers will be refused'));
    this.broker = new HilBroker({ devices: this.devices, audit, attest: async (nonce, binding) => (await this.attester).evidence(nonce, binding) });

    this.links = new LinkManager({
      trust,
      identity: { seed: id.seed, pcert },
      accept: true,
      // Evidence bound to each attachment (CONTROL ATTEST): an RN run with --require-attestation offers no session before it.
      attest: async (n, b) => (await this.attester).evidence(n, b),
      onAttestError: (e) => this.log.warn({ event: 'attest.link_failed', reason: (e as Error)?.message ?? String(e) }, 'no attestation evidence for the RN link; carrying on'),
    });
    this.links.on('up', (link) => this.log.info({ event: 'rn.attached', rn: toHex(link.rnCid), address: link.address }, 'attached to RN'));
    this.links.on('down', (err) => {
      if (err) this.log.warn({ event: 'rn.detached', code: err.code, reason: err.message }, 'RN link down; reconnecting with backoff');
    });
    this.endpoint = new Endpoint({ trust, identity: { cid: id.cid, signer: id.signer, pcert }, link: managerPort(this.links) });
    this.endpoint.on('session', (s: Session, info: { extensions: readonly HandshakeExtension[] }) => {
      this.sessions.add(s);
      s.once('close', () => this.sessions.delete(s));
      this.broker.serve(s, s.keys.grant);
      // An attestation request in CH1's extension slot: evidence goes out as soon as the session exists.
      const nonce = attestationRequestOf(info.extensions);
      if (nonce !== undefined) this.broker.pushEvidence(s, nonce);
    });
    this.endpoint.on('refused', (e: { code: string; message: string }, initiator: Uint8Array) =>
      this.log.warn({ event: 'session.refused', operator: toHex(initiator), code: e.code, reason: e.message }, 'session refused'),
    );
  }

  /** Opens the equipment ports, starts the drivers, then attaches to an RN and accepts sessions. */
  start(): this {
    for (const p of this.ports) {
      p.link?.start();
      p.mqtt?.start();
    }
    for (const d of this.devices.values()) void Promise.resolve(d.start()).catch((e: unknown) => this.log.error({ event: 'device.start_failed', slot: d.slot, error: String(e) }, 'device failed to start'));
    this.endpoint.accept();
    this.links.start();
    this.log.info({ event: 'gateway.started', cid: toHex(this.cid), board: this.config.board, slots: this.config.slots.map((s) => ({ slot: s.id, device: s.device.id, driver: s.device.driver })) }, 'gateway started');
    return this;
  }

  /**
   * Reloads the configured revocation lists (SIGHUP) and ends every live session whose Grant, Grant
   * issuer or operator is now revoked (draft §9: authorisation is re-evaluated, not assumed).
   * Returns how many sessions were ended; a bad file keeps the current list and throws.
   */
  reloadRevocations(): number {
    for (const r of this.config.trust.revocations) {
      try {
        this.trust.setRevocation(readArtefactFile(r));
      } catch (e) {
        // An older or identical list is not news; anything else is a real problem with the file.
        if ((e as { code?: string }).code !== 'ARTEFACT_STALE_SEQUENCE') throw e;
      }
    }
    const ended = this.broker.revalidate((g, operator) => !this.trust.isRevoked(g.objectId) && !this.trust.isRevoked(operator) && !this.trust.isRevoked(g.issuer));
    this.log.info({ event: 'revocations.reloaded', sessions_ended: ended }, 'revocation lists reloaded');
    return ended;
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.endpoint.stopAccepting();
    // Sessions close gracefully (CLOSE acknowledged, bounded by CLOSE_TIMEOUT_MS) before the RN link
    // goes, so operators see a clean end rather than a link loss.
    const closing = [...this.sessions].map((s) => new Promise<void>((resolve) => (s.state === 'closed' ? resolve() : (s.once('close', () => resolve()), s.close()))));
    await Promise.race([Promise.all(closing), new Promise((r) => setTimeout(r, STOP_GRACE_MS).unref())]);
    this.links.stop();
    for (const d of this.devices.values()) await d.stop();
    for (const p of this.ports) {
      await p.bus?.close();
      await p.link?.close();
      await p.mqtt?.close();
    }
    this.log.info({ event: 'gateway.stopped' }, 'gateway stopped');
  }
}

/**
 * The Endpoint needs one LinkPort for its whole life; the LinkManager replaces links as they drop
 * and come back, and forwards the current link's OFFERs. A responder never joins, so join refuses.
 */
function managerPort(m: LinkManager): LinkPort {
  return {
    join: () => Promise.reject(new StateError(CommonCode.USAGE, 'the gateway only accepts sessions')),
    accept: () => m.accept(),
    on: (event: 'offer', cb: (o: OfferPort) => void) => m.on(event, cb),
    off: (event: 'offer', cb: (o: OfferPort) => void) => m.off(event, cb),
  };
}
