// The running gateway (ARCHITECTURE.md): ready parts — ports, devices, HIL broker, UZP endpoint on
// RN links kept up by the LinkPool (warm standby, draft §11.1) — started and stopped together. createGateway()
// (create-gateway.ts) loads the files and builds the parts; renewed artefacts (files replaced,
// SIGHUP, or offered by an RN) come in through the ArtefactWatch (artefact-watch.ts). Outbound
// only: the process holds no listener of any kind.

import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { GatewayDevice } from '../hil-devices/index.js';
import type { Clock } from '../lib/clock.js';
import type { TrustStore } from '../uzp/artefacts/trust.js';
import { toHex } from '../uzp/bytes.js';
import type { Endpoint } from '../uzp/endpoint.js';
import type { HandshakeExtension } from '../uzp/handshake/messages.js';
import type { LinkPool } from '../uzp/link/link-pool.js';
import type { Session } from '../uzp/session/session.js';
import type { Attester } from '../attest/attester.js';
import { attestationRequestOf } from '../attest/request.js';
import type { GatewayConfig } from '../config/types.js';
import type { ArtefactWatch } from './artefact-watch.js';
import type { SlotPorts } from './equipment.js';
import type { HilBroker } from './hil/broker.js';
import type { StatusReporter } from './status-reporter.js';
import type { ReadingRecorder } from './reading-log/recorder.js';
import type { Publishers } from './publisher/publishers.js';
import { MemoryTrimmer } from '../lib/memory-trim.js';
import { SessionRefusals } from '../uzp/session-refusals.js';
import type { RefusalCounts } from './status-gather.js';

/** How long stop() waits for sessions to close cleanly before dropping the RN link. */
const STOP_GRACE_MS = 2_000;

/** What a Gateway is made of, each part built and ready (createGateway). */
interface GatewayParts {
  readonly config: GatewayConfig;
  readonly cid: Uint8Array;
  readonly log: Logger;
  readonly clock: Clock;
  readonly trust: TrustStore;
  readonly ports: readonly SlotPorts[];
  readonly devices: ReadonlyMap<string, GatewayDevice>;
  readonly broker: HilBroker;
  /** Every reading into the reading log (reading-log/recorder.ts); tails and publishers read it. */
  readonly recorder: ReadingRecorder;
  /** Publishing to the configured collectors (publisher/publishers.ts). */
  readonly publishers: Publishers;
  readonly links: LinkPool;
  readonly endpoint: Endpoint;
  /** Absent when attestation is unavailable (the reason was logged as attest.unavailable). */
  readonly attester?: Attester;
  /** Keeps the status file `uzpgw status` reads (status-reporter.ts). */
  readonly status?: StatusReporter;
  /** Takes in renewed RN Set Statements, revocation lists and PCerts while running (artefact-watch.ts). */
  readonly artefacts?: ArtefactWatch;
  /** Counted refusals of what peers offered, for the status file (status-gather.ts). */
  readonly refusals?: RefusalCounts;
}

export class Gateway extends EventEmitter {
  readonly config: GatewayConfig;
  readonly cid: Uint8Array;
  readonly devices: ReadonlyMap<string, GatewayDevice>;
  readonly broker: HilBroker;
  readonly recorder: ReadingRecorder;
  private readonly publishers: Publishers;
  readonly attester: Attester | undefined;
  private readonly ports: readonly SlotPorts[];
  private readonly links: LinkPool;
  private readonly endpoint: Endpoint;
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly trust: TrustStore;
  private readonly status: StatusReporter | undefined;
  private readonly artefacts: ArtefactWatch | undefined;
  private readonly sessions = new Set<Session>();
  private readonly trimmer: MemoryTrimmer;
  /** session.refused and session.early_refused lines, bounded per RN whatever it offers (uzp/session-refusals.ts). */
  private readonly refusals: SessionRefusals;
  private stopped = false;

  constructor(parts: GatewayParts) {
    super();
    this.config = parts.config;
    this.cid = parts.cid;
    this.devices = parts.devices;
    this.broker = parts.broker;
    this.recorder = parts.recorder;
    this.publishers = parts.publishers;
    this.attester = parts.attester;
    this.ports = parts.ports;
    this.links = parts.links;
    this.endpoint = parts.endpoint;
    this.log = parts.log;
    this.clock = parts.clock;
    this.trust = parts.trust;
    this.status = parts.status;
    this.artefacts = parts.artefacts;
    this.refusals = new SessionRefusals(this.log, this.clock, parts.refusals);
    // V8 never sees a polling gateway as idle, so it would keep its start-up high-water mark (lib/memory-trim.ts).
    this.trimmer = new MemoryTrimmer({
      clock: this.clock,
      onTrim: (t) => this.log.info({ event: 'memory.trimmed', rss_before_mb: mb(t.rssBefore), rss_after_mb: mb(t.rssAfter), pause_ms: Math.round(t.pauseMs) }, 'memory given back to the OS'),
    });
  }

  /** Opens the equipment ports, starts the drivers, then attaches to an RN and accepts sessions. */
  start(): this {
    // Measure the bundle and the runtime now, so the first verifier does not wait for the full hash
    // (seconds on a Pi; the line says how long, and that evidence is now answered at once).
    const t0 = this.clock.now();
    void this.attester?.prime().then(
      () => {
        this.log.info({ event: 'attest.measured', ms: this.clock.now() - t0 }, 'bundle and runtime measured: evidence is ready');
        // The measurement is most of start-up's garbage: give it back now rather than at the first check.
        if (!this.stopped) this.trimmer.check();
      },
      (e: unknown) => {
        if (!this.stopped) this.log.warn({ event: 'attest.measure_failed', error: String(e) }, 'bundle measurement failed');
      },
    );
    // The log first: no reading a device produces is missed.
    this.recorder.start();
    for (const p of this.ports) {
      p.link?.start();
      p.mqtt?.start();
    }
    for (const d of this.devices.values()) void Promise.resolve(d.start()).catch((e: unknown) => this.log.error({ event: 'device.start_failed', slot: d.slot, error: String(e) }, 'device failed to start'));
    this.links.on('up', (link) => this.log.info({ event: 'rn.attached', rn: toHex(link.rnCid), address: link.address }, 'attached to RN'));
    this.links.on('down', (err) => {
      if (err) this.log.warn({ event: 'rn.detached', code: err.code, reason: err.message }, 'no RN attached; reconnecting with backoff');
    });
    this.links.on('link-down', (err) => {
      if (err) this.log.info({ event: 'rn.link_lost', code: err.code, reason: err.message }, 'an RN link is down; sessions on it re-stitch through the others');
    });
    this.endpoint.on('session', (s: Session, info: { extensions: readonly HandshakeExtension[] }) => this.onSession(s, info.extensions));
    this.endpoint.on('refused', (e: { code: string; message: string }, initiator: Uint8Array, rn: Uint8Array | undefined) => this.refusals.refused(e, initiator, rn));
    // 0-RTT (draft §9): early data not taken is not an error (the operator sends it again at 1-RTT), but a replay is worth seeing;
    // bounded per RN like session.refused, since a peer with a valid Grant chooses how often it happens.
    this.endpoint.on('early-refused', (reason: string, initiator: Uint8Array, rn: Uint8Array | undefined) => this.refusals.earlyRefused(reason, initiator, rn));
    this.endpoint.accept();
    this.status?.start();
    this.artefacts?.start((kind) => this.adopted(kind));
    this.links.start();
    this.publishers.start();
    this.trimmer.start();
    this.log.info({ event: 'gateway.started', cid: toHex(this.cid), board: this.config.board, slots: this.config.slots.map((s) => ({ slot: s.id, device: s.device.id, driver: s.device.driver })) }, 'gateway started');
    return this;
  }

  private onSession(s: Session, extensions: readonly HandshakeExtension[]): void {
    this.sessions.add(s);
    s.once('close', () => this.sessions.delete(s));
    const operator = toHex(s.peerCid);
    // draft §11: the session waits for the operator to re-stitch it at another RN.
    s.on('failover', (e?: { code?: string; message?: string }) => this.log.info({ event: 'session.failover', operator, code: e?.code, reason: e?.message }, 'session lost its RN stitch; waiting for a re-stitch'));
    s.on('restitched', (generation: number, rn?: Uint8Array) => this.log.info({ event: 'session.restitched', operator, generation, ...(rn ? { rn: toHex(rn) } : {}) }, 'session re-stitched'));
    this.broker.serve(s, s.keys.grant);
    // An attestation request in CH1's extension slot: evidence goes out as soon as the session exists.
    const nonce = attestationRequestOf(extensions);
    if (nonce !== undefined) this.broker.pushEvidence(s, nonce);
  }

  /**
   * A renewed artefact was adopted (artefact-watch.ts): a newer revocation list ends every live
   * session whose Grant, Grant issuer or operator it revokes (draft §9: authorisation is
   * re-evaluated, not assumed); the status file shows the new expiry at once.
   */
  private adopted(kind: string): void {
    if (kind === 'revocation') this.revalidateSessions();
    this.status?.refresh();
  }

  /** Ends the sessions the revocation list in force revokes; returns how many. */
  private revalidateSessions(): number {
    const ended = this.broker.revalidate((g, operator) => !this.trust.isRevoked(g.objectId) && !this.trust.isRevoked(operator) && !this.trust.isRevoked(g.issuer));
    this.log.info({ event: 'revocations.reloaded', sessions_ended: ended }, 'revocation list in force applied to live sessions');
    return ended;
  }

  /**
   * SIGHUP: offers every configured artefact file again (revocation lists, RN Set Statement, PCert);
   * newer valid ones are adopted, the rest logged (artefact.refused) with the current ones kept.
   */
  reloadArtefacts(): void {
    const results = this.artefacts?.reload() ?? [];
    this.publishers.reload();
    this.log.info({ event: 'artefacts.reloaded', files: results.map((r) => ({ file: r.file, artefact: r.kind, ...r.result })) }, 'artefact files reloaded');
    this.status?.refresh();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.log.info({ event: 'gateway.stopping' }, 'stopping: sessions close, the last readings are committed');
    this.trimmer.stop();
    // A bundle measurement still running (a dev tree's node_modules takes seconds) would keep the
    // process alive after everything else stopped.
    this.attester?.stop();
    this.endpoint.stopAccepting();
    this.artefacts?.stop();
    this.publishers.stop();
    // Sessions close gracefully (CLOSE acknowledged, bounded by CLOSE_TIMEOUT_MS) before the RN link
    // goes, so operators see a clean end rather than a link loss.
    const closing = [...this.sessions].map((s) => new Promise<void>((resolve) => (s.state === 'closed' ? resolve() : (s.once('close', () => resolve()), s.close()))));
    let cancelGrace = (): void => {};
    const grace = new Promise<void>((r) => (cancelGrace = this.clock.setTimeout(r, STOP_GRACE_MS, { unref: true })));
    await Promise.race([Promise.all(closing), grace]);
    cancelGrace();
    this.links.stop();
    // No more offers: the refusals counted since the last summary are said now, not lost.
    this.refusals.stop();
    for (const d of this.devices.values()) await d.stop();
    // Commit what the devices produced before their ports close: an MQTT bridge acknowledges a
    // message to its broker only once it is in the log (durable ack), so committing after the
    // connection closed left those messages unacknowledged and the broker sent them again to the
    // next run, logged twice.
    try {
      this.recorder.log.flush();
    } catch (e) {
      this.log.error({ event: 'reading_log.flush_failed', reason: String((e as Error)?.message ?? e) }, 'reading log: the batch could not be committed before the ports closed');
    }
    for (const p of this.ports) {
      await p.bus?.close();
      await p.link?.close();
      await p.mqtt?.close();
    }
    // Last: whatever the devices produced while stopping is committed before the file closes.
    this.recorder.stop();
    try {
      this.recorder.log.close();
    } catch (e) {
      this.log.error({ event: 'reading_log.close_failed', reason: String((e as Error)?.message ?? e) }, 'reading log: the last batch could not be committed');
    }
    await this.status?.stop();
    this.log.info({ event: 'gateway.stopped' }, 'gateway stopped');
  }
}

function mb(bytes: number): number {
  return Math.round(bytes / 1e5) / 10;
}
