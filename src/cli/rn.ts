// `uzpgw rn`: runs the reference Rendezvous Node (src/rn), the only listening component.
// Prints exactly one JSON line on stdout when ready ({"event":"listening","address":...}) so
// scripts and tests can wait for it; logs JSON lines with pino to stderr. SIGHUP reloads the
// revocation file (and closes links it revokes); SIGTERM / SIGINT close everything and exit 0.

import { pino } from 'pino';
import { readArtefactFile } from '../files/artefact-file.js';
import { loadKeyFile } from '../files/keyfile.js';
import { loadTrustAnchor } from '../files/trust-anchor.js';
import { RendezvousNode } from '../rn/server.js';
import { TrustStore } from '../uzp/artefacts/trust.js';
import { nodeProvider } from '../uzp/crypto/node.js';
import { parseAddress, type HostPort } from '../uzp/link/address.js';
import { RN_MAX_LINKS } from '../uzp/link/constants.js';
import { defineCommand } from './define.js';
import { usageError } from './flags.js';
import { LOG_LEVEL_FLAG } from './log-level.js';
import { isCodedError } from '../lib/errors.js';

/** A malformed --listen is a usage error (exit 2), not a configuration file problem. */
function listenAddress(s: string): HostPort {
  try {
    return parseAddress(s, '--listen');
  } catch (e) {
    throw usageError((e as Error).message);
  }
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
    'rn-set': { type: 'string', placeholder: 'FILE', describe: 'RN Set Statement; warns when this RN is not listed in it' },
    revocations: { type: 'string', placeholder: 'FILE', describe: 'revocation list; reloaded on SIGHUP' },
    'max-links': { type: 'int', placeholder: 'N', min: 1, max: 1_000_000, default: RN_MAX_LINKS, describe: 'maximum attached EP links' },
    'require-attestation': {
      type: 'boolean',
      describe: 'offer stitches to a gateway only after it sent attestation evidence bound to its attachment (presence and binding are checked, claims are not appraised)',
    },
    ...LOG_LEVEL_FLAG,
  },
  json: 'stdout is always JSON: exactly one line, {"event":"listening","address":"HOST:PORT"}, once ready (logs are JSON lines on stderr); accepted so every command takes it',
  async run({ flags }, io) {
    const listen = listenAddress(flags.listen);
    const { trust: trustFile, key: keyFile, 'max-links': maxLinks, 'require-attestation': requireAttestation, 'log-level': level } = flags;

    const provider = nodeProvider;
    const anchor = loadTrustAnchor(provider, trustFile);
    const identity = loadKeyFile(provider, keyFile);
    const trust = new TrustStore({ provider, rootPublicKey: anchor.rootPublicKey });
    const log = pino({ level, base: { cmd: 'rn' } }, pino.destination({ dest: 2, sync: true }));
    const revocations = flags.revocations;
    if (revocations !== undefined) trust.setRevocation(readArtefactFile(revocations));
    const rnSetFile = flags['rn-set'];
    if (rnSetFile !== undefined) {
      trust.setRnSet(readArtefactFile(rnSetFile));
      try {
        trust.requireEligibleRn(identity.publicKey);
      } catch (e) {
        log.warn({ event: 'not_in_rn_set', detail: (e as Error).message }, 'this RN is not eligible under the given RN Set Statement: endpoints will refuse it');
      }
    }

    const rn = new RendezvousNode({ trust, seed: identity.seed, log, maxLinks, requireAttestation });
    const address = await rn.listen(listen.host, listen.port);
    if (requireAttestation) log.info({ event: 'attestation_required' }, 'gateways are offered stitches only after attesting their attachment');
    io.stdout.write(JSON.stringify({ event: 'listening', address }) + '\n');

    const reload = (): void => {
      if (revocations === undefined) {
        log.info({ event: 'sighup' }, 'SIGHUP: no --revocations file to reload');
        return;
      }
      try {
        const list = trust.setRevocation(readArtefactFile(revocations));
        const closed = rn.revalidate();
        log.info({ event: 'revocations_reloaded', sequence: list.sequence, epoch: list.epoch, closed }, 'revocation list reloaded');
      } catch (e) {
        // Keep the list we have: a bad or stale file must not drop revocations already in force.
        log.warn({ event: 'revocations_reload_failed', code: isCodedError(e) ? e.code : undefined, detail: (e as Error).message }, 'revocation reload failed; keeping the current list');
      }
    };
    return new Promise<number>((resolve) => {
      const stop = (signal: string): void => {
        process.off('SIGHUP', reload);
        process.off('SIGTERM', onTerm);
        process.off('SIGINT', onInt);
        log.info({ event: 'stopping', signal, stats: rn.stats.snapshot() }, 'RN stopping');
        void rn.close().then(() => {
          log.info({ event: 'stopped' }, 'RN stopped');
          resolve(0);
        });
      };
      const onTerm = (): void => stop('SIGTERM');
      const onInt = (): void => stop('SIGINT');
      process.on('SIGHUP', reload);
      process.on('SIGTERM', onTerm);
      process.on('SIGINT', onInt);
    });
  },
});
