// A rendezvous fabric for tests (issue #16), all real processes on loopback: a 3-node NATS cluster
// (nats-cluster.ts) and `uzpgw rn --fabric` processes of one trust domain, each listed in the RN Set
// Statement the RNs hold, each stopped by its pid. Endpoints get RN Sets naming only the RNs a test
// wants them on, so a session is made to cross RNs.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeArtefactFile } from '../../src/files/artefact-file.js';
import { writeKeyFile } from '../../src/files/keyfile.js';
import { encodeTrustAnchor } from '../../src/files/trust-anchor.js';
import type { TrustStore } from '../../src/uzp/artefacts/trust.js';
import type { Identity } from '../../src/uzp/identity/identity.js';
import { TestDomain } from './domain.js';
import { freeLoopbackPort } from './free-port.js';
import { NatsCluster } from './nats-cluster.js';
import { signalProcess, spawnCli, stopAll, stopProcess, waitForJsonLine, type Child } from './processes.js';

/** Resolves once `child` logged a JSON line (stderr) with this event; rejects if it exits first. */
export async function waitForLog(child: Child, event: string, timeoutMs = 20_000): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const line = child
      .stderr()
      .split('\n')
      .find((l) => l.includes(`"event":"${event}"`));
    if (line !== undefined) return JSON.parse(line) as Record<string, unknown>;
    if (child.proc.exitCode !== null) throw new Error(`process ${child.pid} exited before logging ${event}: ${child.stderr().slice(-2000)}`);
    if (Date.now() > deadline) throw new Error(`no ${event} from process ${child.pid} within ${timeoutMs} ms: ${child.stderr().slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** The RN role that, in the endpoints' RN Set, names exactly the RNs `which` (FabricRig.trustFor). */
export function roleFor(which: readonly number[]): string {
  return `at-${[...which].sort((a, b) => a - b).join('-')}`;
}

export class FabricRig {
  readonly rns: Child[] = [];
  private epSet: Uint8Array | undefined;
  private constructor(
    readonly dir: string,
    readonly d: TestDomain,
    readonly nats: NatsCluster,
    readonly rnIds: Identity[],
    readonly addresses: string[],
  ) {}

  f(name: string): string {
    return join(this.dir, name);
  }

  /** NATS cluster of 3 (or `natsNodes`), `n` RNs (RN i first dials NATS node i % 3; every node is in its list). */
  static async start(n = 3, o: { extraRnArgs?: (i: number) => string[]; natsNodes?: number } = {}): Promise<FabricRig> {
    const dir = mkdtempSync(join(tmpdir(), 'uzp-fabric-'));
    const nats = await NatsCluster.start(o.natsNodes ?? 3);
    const d = new TestDomain(undefined, Date.now());
    const ids = Array.from({ length: n }, () => d.member('rn').id);
    const addresses: string[] = [];
    for (let i = 0; i < n; i++) addresses.push(`127.0.0.1:${await freeLoopbackPort()}`);
    const rig = new FabricRig(dir, d, nats, ids, addresses);
    writeFileSync(rig.f('trust.json'), encodeTrustAnchor({ domain: 'fabric', rootPublicKey: d.root.publicKey, rootCid: d.root.cid }));
    writeArtefactFile(rig.f('rn-set.uzp'), d.rnSet(ids.map((id, i) => ({ id, addresses: [addresses[i]!] }))));
    try {
      for (let i = 0; i < n; i++) {
        writeKeyFile(rig.f(`rn${i}.key`), ids[i]!);
        rig.rns.push(rig.spawnRn(i, o.extraRnArgs?.(i) ?? []));
      }
      for (const rn of rig.rns) {
        await waitForJsonLine(rn, (v) => v.event === 'listening');
        await waitForLog(rn, 'fabric_connected');
      }
    } catch (e) {
      await rig.close();
      throw e;
    }
    return rig;
  }

  /** The NATS URLs, node `first` first. */
  natsUrls(first: number): string {
    const urls = this.nats.nodes.map((x) => x.url);
    return [...urls.slice(first % urls.length), ...urls.slice(0, first % urls.length)].join(',');
  }

  private spawnRn(i: number, extra: string[]): Child {
    return spawnCli(['rn', '--listen', this.addresses[i]!, '--trust', this.f('trust.json'), '--key', this.f(`rn${i}.key`), '--rn-set', this.f('rn-set.uzp'), '--fabric', this.natsUrls(i), '--rn-id', `rn${i}`, '--drain-ms', '0', '--log-level', 'info', ...extra]);
  }

  /**
   * A trust store holding the endpoints' RN Set Statement: every RN (endpoints of one domain share
   * one statement: continuity tokens name it), RN i carrying the role `roleFor(S)` for every set S
   * of RN indexes that contains i. A LinkPool with `rnRole: roleFor([1, 2])` attaches to RNs 1 and 2
   * only, so a test decides where each side sits.
   */
  trustFor(): TrustStore {
    this.epSet ??= this.d.rnSet(
      this.rnIds.map((id, i) => {
        const subsets = Array.from({ length: 2 ** this.rnIds.length }, (_, m) => this.rnIds.map((_, k) => k).filter((k) => (m >> k) & 1)).filter((sub) => sub.includes(i));
        return { id, addresses: [this.addresses[i]!], roles: ['relay', ...subsets.map(roleFor)] };
      }),
    );
    const t = this.d.trust();
    t.setRnSet(this.epSet);
    return t;
  }

  /**
   * Replaces the RN Set Statement the RNs read (rn-set.uzp) by one listing the RNs `which` only, and
   * resolves once every RN that is running has reloaded it (they watch the file).
   */
  async setRnSet(which: readonly number[]): Promise<void> {
    writeArtefactFile(this.f('rn-set.uzp'), this.d.rnSet(which.map((i) => ({ id: this.rnIds[i]!, addresses: [this.addresses[i]!] }))));
    const sequence = this.d.rnSetSequence;
    for (const rn of this.rns.filter((c) => c.proc.exitCode === null && c.proc.signalCode === null)) {
      const deadline = Date.now() + 20_000;
      while (!rn.stderr().split('\n').some((l) => l.includes('"event":"rn_set_reloaded"') && (JSON.parse(l) as { sequence?: number }).sequence === sequence)) {
        if (Date.now() > deadline) throw new Error(`RN ${rn.pid} did not reload RN Set Statement ${sequence}: ${rn.stderr().slice(-2000)}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    }
  }

  async killRn(i: number): Promise<void> {
    signalProcess(this.rns[i]!, 'SIGKILL');
    await this.rns[i]!.exited;
  }

  async restartRn(i: number): Promise<Child> {
    const rn = this.spawnRn(i, []);
    this.rns[i] = rn;
    await waitForJsonLine(rn, (v) => v.event === 'listening');
    await waitForLog(rn, 'fabric_connected');
    return rn;
  }

  async close(): Promise<void> {
    for (const rn of this.rns) await stopProcess(rn).catch(() => undefined);
    await stopAll();
    await this.nats.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
