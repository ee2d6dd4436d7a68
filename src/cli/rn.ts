// `uzpgw rn`: runs the reference Rendezvous Node (src/rn), the only listening component.
// Prints exactly one JSON line on stdout when ready ({"event":"listening","address":...}) so
// scripts and tests can wait for it; logs JSON lines with pino to stderr. SIGHUP, or replacing one of
// the files, reloads the revocation list (closing links it revokes) and the RN Set Statement; the RN
// offers both to every endpoint it attaches, and a newer one to every attached endpoint (CONTROL
// ARTEFACT, src/rn/artefacts.ts). SIGTERM / SIGINT drain (draft §11.2): stop accepting, send DRAIN
// to every attached endpoint, wait until they left or --drain-ms passed, close the rest and exit 0;
// a second signal closes at once. The reader of its log (stderr) going away, or of stdout before the
// listening line, drains it the same way and exits 141 (output-closed.ts).

import { pino } from 'pino';
import { readArtefactFile } from '../files/artefact-file.js';
import { loadKeyFile } from '../files/keyfile.js';
import { loadTrustAnchor } from '../files/trust-anchor.js';
import { reloadArtefactFiles, watchArtefactFiles } from '../rn/artefact-files.js';
import { RnArtefacts } from '../rn/artefacts.js';
import { readFileCapped } from '../files/fsutil.js';
import { naming } from '../lib/errors.js';
import { RendezvousNode } from '../rn/server.js';
import { TrustStore } from '../uzp/artefacts/trust.js';
import { toHex } from '../uzp/bytes.js';
import { nodeProvider } from '../uzp/crypto/node.js';
import { parseAddress, type HostPort } from '../uzp/link/address.js';
import { RN_DRAIN_MS, RN_HELLO_BURST, RN_HELLO_RATE_PER_S, RN_MAX_LINKS, RN_MAX_LINKS_PER_CID, RN_MAX_PREAUTH, RN_MAX_PREAUTH_PER_SOURCE, RN_PREAUTH_BURST, RN_PREAUTH_RATE_PER_S } from '../uzp/link/constants.js';
import { defineCommand } from './define.js';
import { usageError } from './flags.js';
import { LOG_LEVEL_FLAG } from './log-level.js';
import { logDestination } from '../lib/log-destination.js';
import { stderrCarriesTheLog, stopWhenLogClosed } from './output-closed.js';

/** A malformed --listen is a usage error (exit 2), not a configuration file problem. */
function listenAddress(s: string): HostPort {
  try {
    return parseAddress(s, '--listen');
  } catch (e) {
    throw usageError((e as Error).message);
  }
}

interface FabricFlags {
  readonly servers: string[];
  readonly name?: string;
  readonly user?: string;
  readonly passwordFile?: string;
}

/**
 * The fabric flags, checked before any file is read (a bad one is a usage error, exit 2, whatever the
 * files hold) and any network: URLs, names, which flags go together, and the RN Set the fabric needs.
 */
function fabricFlags(flags: { fabric?: string | undefined; 'rn-id'?: string | undefined; 'fabric-user'?: string | undefined; 'fabric-password-file'?: string | undefined }, rnSetFile: string | undefined): FabricFlags | undefined {
  if (flags.fabric === undefined) {
    for (const f of ['rn-id', 'fabric-user', 'fabric-password-file'] as const) if (flags[f] !== undefined) throw usageError(`--${f} needs --fabric`);
    return undefined;
  }
  if (rnSetFile === undefined) throw usageError('--fabric needs --rn-set: the RN Set Statement says which RNs may route JOINs here');
  const servers = flags.fabric.split(',').map((u) => u.trim());
  for (const u of servers) {
    if (!/^(nats|tls):\/\/[^\s/]+:\d{1,5}$/.test(u)) throw usageError(`--fabric: expected nats://host:port[,nats://host:port…], got ${JSON.stringify(u.slice(0, 80))}`);
  }
  if ((flags['fabric-user'] === undefined) !== (flags['fabric-password-file'] === undefined)) throw usageError('--fabric-user and --fabric-password-file go together');
  const name = flags['rn-id'];
  if (name !== undefined && !/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(name)) throw usageError(`--rn-id: letters, digits, '.', '_' and '-' (at most 64), got ${JSON.stringify(name.slice(0, 80))}`);
  return { servers, ...(name !== undefined ? { name } : {}), ...(flags['fabric-user'] !== undefined ? { user: flags['fabric-user'] } : {}), ...(flags['fabric-password-file'] !== undefined ? { passwordFile: flags['fabric-password-file'] } : {}) };
}

/** What joinFabric takes: the checked flags, the password read from its file, the domain of the trust anchor. */
function fabricOptions(f: FabricFlags, rootCid: Uint8Array): { servers: string[]; domain: string; name?: string; user?: string; pass?: string } {
  const { passwordFile, ...rest } = f;
  return { ...rest, domain: toHex(rootCid), ...(passwordFile !== undefined ? { pass: readSecretFile(passwordFile) } : {}) };
}

/** A missing or unreadable file is exit 1 with its file code, named by the flag (README "Exit status"), as --key's is. */
function readSecretFile(file: string): string {
  return naming('--fabric-password-file', () => new TextDecoder().decode(readFileCapped(file, 4096, 'NATS password file').bytes).trim());
}

export const command = defineCommand({
  name: 'rn',
  summary: 'run a Rendezvous Node (the only component that listens)',
  description:
    'Runs a Rendezvous Node: endpoints attach with outbound links, the RN stitches authorised JOINs and relays end-to-end ciphertext it cannot read.',
  flags: {
    listen: { type: 'string', placeholder: 'HOST:PORT', required: true, describe: 'address to listen on (port 0 picks a free port)' },
    trust: { type: 'string', placeholder: 'FILE', required: true, describe: 'trust anchor JSON of the domain (uzpgw pantheon init)' },
    key: { type: 'string', placeholder: 'FILE', required: true, describe: "the RN's Ed25519 key file (mode 0600)" },
    'rn-set': { type: 'string', placeholder: 'FILE', describe: 'RN Set Statement, offered to attaching endpoints; reloaded on SIGHUP or change; warns when this RN is not listed in it' },
    revocations: { type: 'string', placeholder: 'FILE', describe: 'revocation list, offered to attaching endpoints; reloaded on SIGHUP or change' },
    'max-links': { type: 'int', placeholder: 'N', min: 1, max: 1_000_000, default: RN_MAX_LINKS, describe: 'maximum attached EP links' },
    'max-links-per-cid': { type: 'int', placeholder: 'N', min: 1, max: 1_000_000, default: RN_MAX_LINKS_PER_CID, describe: 'maximum links one identity may hold attached (beyond: REFUSED 2)' },
    'max-preauth': { type: 'int', placeholder: 'N', min: 1, max: 1_000_000, default: RN_MAX_PREAUTH, describe: 'connections that have not authenticated yet, all sources together (a quarter is kept for sources an endpoint attached from recently)' },
    'max-preauth-per-source': {
      type: 'int',
      placeholder: 'N',
      min: 1,
      max: 1_000_000,
      default: RN_MAX_PREAUTH_PER_SOURCE,
      describe: 'unauthenticated connections one source address (IPv6: one /64) may hold at once; a source endpoints attached from recently gets a multiple',
    },
    // Per-source admission (docs/PROFILE.md §RN admission under load). The defaults suit the
    // internet; many endpoints behind one address (a NAT, a load test from 127.0.0.1) need more.
    'preauth-rate': { type: 'int', placeholder: 'N', min: 1, max: 1_000_000, default: RN_PREAUTH_RATE_PER_S, describe: 'new connections per second one source address may open (its token bucket; refused ones are closed before a byte is read)' },
    'preauth-burst': { type: 'int', placeholder: 'N', min: 1, max: 1_000_000, default: RN_PREAUTH_BURST, describe: 'the burst of that bucket' },
    'hello-rate': { type: 'int', placeholder: 'N', min: 1, max: 1_000_000, default: RN_HELLO_RATE_PER_S, describe: 'attachment handshakes (HELLO) per second one source address may start' },
    'hello-burst': { type: 'int', placeholder: 'N', min: 1, max: 1_000_000, default: RN_HELLO_BURST, describe: 'the burst of that bucket' },
    'drain-ms': { type: 'int', placeholder: 'MS', min: 0, max: 3_600_000, default: RN_DRAIN_MS, describe: 'on SIGTERM: how long attached endpoints are told (DRAIN) and given to leave before the RN closes' },
    'require-attestation': {
      type: 'boolean',
      describe: 'offer stitches to a gateway only after it sent attestation evidence bound to its attachment (presence and binding are checked, claims are not appraised)',
    },
    fabric: { type: 'string', placeholder: 'URL[,URL…]', describe: 'join the rendezvous fabric of the trust domain on this NATS cluster (nats://host:port, comma-separated); needs --rn-set (docs/SCALE.md)' },
    'rn-id': { type: 'string', placeholder: 'NAME', describe: "this RN's name in the fabric (NATS connection name, logs); default: the start of its CID" },
    'fabric-user': { type: 'string', placeholder: 'NAME', describe: "this RN's NATS user (each RN its own, with subject permissions: docs/SCALE.md)" },
    'fabric-password-file': { type: 'string', placeholder: 'FILE', describe: 'the NATS password of --fabric-user, in a file (mode 0600)' },
    ...LOG_LEVEL_FLAG,
  },
  json: 'stdout is always JSON: exactly one line, {"event":"listening","address":"HOST:PORT"}, once ready (logs are JSON lines on stderr); accepted so every command takes it',
  async run({ flags }, io) {
    const listen = listenAddress(flags.listen);
    const fabricChecked = fabricFlags(flags, flags['rn-set']);
    const { trust: trustFile, key: keyFile, 'max-links': maxLinks, 'max-links-per-cid': maxLinksPerCid, 'max-preauth': maxPreauth, 'max-preauth-per-source': maxPreauthPerSource, 'drain-ms': drainMs, 'require-attestation': requireAttestation, 'log-level': level } = flags;

    const provider = nodeProvider;
    const anchor = loadTrustAnchor(provider, trustFile);
    const identity = loadKeyFile(provider, keyFile);
    const trust = new TrustStore({ provider, rootPublicKey: anchor.rootPublicKey });
    const log = pino({ level, base: { cmd: 'rn' } }, logDestination(2, 'rn log'));
    stderrCarriesTheLog();
    const revocations = flags.revocations;
    if (revocations !== undefined) naming(`--revocations ${revocations}`, () => trust.setRevocation(readArtefactFile(revocations)));
    const rnSetFile = flags['rn-set'];
    const checkListed = (): void => {
      try {
        trust.requireEligibleRn(identity.publicKey);
      } catch (e) {
        log.warn({ event: 'not_in_rn_set', detail: (e as Error).message }, 'this RN is not eligible under the given RN Set Statement: endpoints will refuse it');
      }
    };
    if (rnSetFile !== undefined) {
      naming(`--rn-set ${rnSetFile}`, () => trust.setRnSet(readArtefactFile(rnSetFile)));
      checkListed();
    }

    const fabric = fabricChecked !== undefined ? fabricOptions(fabricChecked, anchor.rootCid) : undefined;
    const artefacts = new RnArtefacts({ trust, log });
    const rates = { preauthRatePerS: flags['preauth-rate'], preauthBurst: flags['preauth-burst'], helloRatePerS: flags['hello-rate'], helloBurst: flags['hello-burst'] };
    const rn = new RendezvousNode({ trust, seed: identity.seed, log, maxLinks, maxLinksPerCid, maxPreauth, maxPreauthPerSource, requireAttestation, artefacts, ...rates });
    const address = await rn.listen(listen.host, listen.port);
    if (fabric !== undefined) {
      // Not awaited: the RN serves its own endpoints while NATS is unreachable (the client retries for
      // ever and says `fabric_connected` once in). The RNs eligible under the current RN Set Statement
      // and revocation list (both reloaded on SIGHUP or change) are its peers (src/rn/fabric/peers.ts).
      rn.joinFabric(fabric).catch((e: unknown) =>
        log.error({ event: 'fabric_failed', reason: (e as Error)?.message ?? String(e) }, 'could not join the rendezvous fabric; serving local endpoints only'),
      );
    }
    if (requireAttestation) log.info({ event: 'attestation_required' }, 'gateways are offered stitches only after attesting their attachment');
    io.stdout.write(JSON.stringify({ event: 'listening', address }) + '\n');

    const files = { ...(revocations !== undefined ? { revocations } : {}), ...(rnSetFile !== undefined ? { rnSet: rnSetFile } : {}) };
    const parts = { shelf: artefacts, log, revalidate: () => rn.revalidate(), checkListed };
    const reload = (): void => reloadArtefactFiles(files, parts);
    const stopWatching = watchArtefactFiles(files, parts);
    return new Promise<number>((resolve) => {
      let draining = false;
      const stop = (signal: string): void => {
        if (draining) {
          // A second signal: the operator does not want to wait; drain() resolves once all is closed.
          log.info({ event: 'stopping_now', signal }, 'second signal: closing every link now');
          rn.close().catch((e: unknown) => log.error({ event: 'stop_failed', reason: (e as Error)?.message ?? String(e) }, 'closing the links failed'));
          return;
        }
        draining = true;
        process.off('SIGHUP', reload);
        stopWatching();
        log.info({ event: 'stopping', signal, drain_ms: drainMs, stats: rn.stats.snapshot() }, 'RN stopping: draining');
        rn.drain(drainMs).then(
          ({ detached, remaining }) => {
            process.off('SIGTERM', onTerm);
            process.off('SIGINT', onInt);
            unwatchOutput();
            log.info({ event: 'drained', detached, remaining, stats: rn.stats.snapshot() }, detached ? 'every endpoint left' : 'drain deadline passed: remaining links closed');
            log.info({ event: 'stopped' }, 'RN stopped');
            resolve(0);
          },
          (e: unknown) => {
            // Not expected (the drain's steps do not throw), but a stop must end the process, not hang it.
            log.error({ event: 'stop_failed', reason: (e as Error)?.message ?? String(e) }, 'RN stop failed');
            resolve(1);
          },
        );
      };
      const onTerm = (): void => stop('SIGTERM');
      const onInt = (): void => stop('SIGINT');
      process.on('SIGHUP', reload);
      process.on('SIGTERM', onTerm);
      process.on('SIGINT', onInt);
      // Not a second signal: a drain under way goes on (its lines are what broke the pipe).
      const unwatchOutput = stopWhenLogClosed('rn', () => {
        if (!draining) stop('SIGPIPE');
      });
    });
  },
});
