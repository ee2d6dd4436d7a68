// The two topologies the benches compare, both on 127.0.0.1 with free ports:
//   UZP:  EP (initiator) --outbound--> RN process (`uzpgw rn`) <--outbound-- EP (responder)
//   TLS:  peer (client)  --outbound--> TCP relay process        <--outbound-- peer (server)
// plus the trust material each needs (a UZP domain, an Ed25519 X.509 PKI).

import { join } from 'node:path';
import { makeTlsPki } from './certs.mjs';
import { BenchDomain } from './domain.mjs';
import { CLI, LIB, log, profileArgs, spawnNode, spawnPeer, stop, waitForJsonLine } from './harness.mjs';

/**
 * A UZP domain with a gateway (responder) and an operator (initiator), a Grant operator -> gateway,
 * and a running RN. `nodeArgs` go before the CLI path (e.g. --expose-gc).
 */
export async function startUzp(dir, { nodeArgs = [], logLevel = 'warn', rnArgs = [] } = {}) {
  const domain = new BenchDomain();
  const rn = domain.member('rn');
  const files = domain.writeRnFiles(dir, rn);
  const proc = spawnNode('rn', CLI, ['rn', '--listen', '127.0.0.1:0', '--trust', files.trust, '--key', files.key, '--log-level', logLevel, ...rnArgs], { nodeArgs: [...profileArgs('rn'), ...nodeArgs] });
  const { address } = await waitForJsonLine(proc, (v) => v.event === 'listening');
  const rnSet = domain.rnSet(rn, address);
  const gateway = domain.member('gateway');
  const operator = domain.member('operator');
  const grant = domain.grant(operator.cid, gateway.cid);
  // A Grant that allows early data (0-RTT, first-byte's 0rtt line).
  const grantEarly = domain.grant(operator.cid, gateway.cid, { earlyData: true });
  log(`RN pid ${proc.pid} listening on ${address}`);
  const base = { rnAddress: address, rootPublic: domain.rootPublicHex, rnSet };
  return {
    /** Stops the RN (SIGTERM) and returns the stats it logs on the way out (needs logLevel 'info'). */
    async stopAndStats() {
      await stop(proc);
      for (const line of proc.stderrLines.reverse()) {
        try {
          const v = JSON.parse(line);
          if (v.event === 'stopping') return v.stats;
        } catch {
          // not a log line
        }
      }
      return undefined;
    },
    domain,
    proc,
    address,
    base,
    /** Arguments for peer.mjs uzpListen (responder) and uzpConnect / firstByteUzp (initiator). */
    responderArgs: (extra = {}) => ({ ...base, me: strip(gateway), ...extra }),
    initiatorArgs: (extra = {}) => ({ ...base, me: strip(operator), target: gateway.cid, grant, ...extra }),
    grantEarly,
    member: (role) => strip(domain.member(role)),
  };
}

/** JSON-safe member record (drops the in-process Identity). */
function strip(m) {
  return { seed: m.seed, cid: m.cid, pcert: m.pcert };
}

/** The plain TCP relay process (relay.mjs: pairs consecutive connections); resolves with its address. */
export async function startRelay() {
  const proc = spawnNode('relay', join(LIB, 'relay.mjs'), [], { ipc: true });
  const { address } = await waitForJsonLine(proc, (v) => v.event === 'listening');
  log(`relay pid ${proc.pid} listening on ${address}`);
  return { proc, relay: address };
}

/** TCP relay process + Ed25519 PKI for TLS 1.3 with mutual authentication. */
export async function startTls(dir) {
  const pki = makeTlsPki(dir);
  return { ...(await startRelay()), pki };
}

/** The responder (gateway / TLS server role) and initiator (operator / TLS client role) processes. */
export async function startPeers() {
  const [responder, initiator] = await Promise.all([spawnPeer('responder'), spawnPeer('initiator')]);
  log(`peers: responder pid ${responder.pid}, initiator pid ${initiator.pid}`);
  return { responder, initiator };
}

/** TLS 1.3 cipher suites matched to the UZP suites' AEADs (the key exchange group is node:tls's default: X25519MLKEM768 on OpenSSL 3.5). */
export const TLS_CHACHA = 'TLS_CHACHA20_POLY1305_SHA256';
export const TLS_AESGCM = 'TLS_AES_256_GCM_SHA384';
