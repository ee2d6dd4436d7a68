// Errors that name what the user gave, and the fix that fits (docs/CLI review): an artefact of the
// wrong type names its flag and file, a PCert given as a key is "not a key file" (not "chmod 600"),
// a missing output directory says so, and `status` on a machine without the flashed config names
// the flags to give. Run in-process (test/helpers/cli-run.ts) on files made here.

import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeArtefactFile } from '../../src/files/artefact-file.js';
import { writeKeyFile } from '../../src/files/keyfile.js';
import { CONFIG_FILE } from '../../src/flash/layout.js';
import { writeTrustAnchor } from '../../src/files/trust-anchor.js';
import { toHex } from '../../src/uzp/bytes.js';
import { nodeProvider } from '../../src/uzp/crypto/node.js';
import { TestDomain } from '../helpers/domain.js';
import { runCli } from '../helpers/cli-run.js';

const tmp = mkdtempSync(join(tmpdir(), 'uzp-cli-errors-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const d = new TestDomain();
const gw = d.member('gateway');
const pcert = join(tmp, 'gw.pcert');
writeArtefactFile(pcert, gw.pcert);
const trust = join(tmp, 'trust.json');
writeTrustAnchor(trust, { domain: 'errors.test', rootPublicKey: d.root.publicKey, rootCid: d.root.cid });
const rnKey = join(tmp, 'rn.key');
writeKeyFile(rnKey, d.member('rn').id);

describe('errors name the input and the fix', () => {
  it('rn --rn-set given a PCert: the flag and file are named', async () => {
    const r = await runCli('rn', '--listen', '127.0.0.1:0', '--trust', trust, '--key', rnKey, '--rn-set', pcert);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`--rn-set ${pcert}: expected an rn-set artefact, got pcert`);
    expect(r.err).toContain('[ARTEFACT_TYPE]');
  });

  it('pantheon show of a key file names the file', async () => {
    const r = await runCli('pantheon', 'show', rnKey);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`${rnKey}: `);
  });

  it('a PCert given as --key (mode 0644) is not a key file; chmod is not the fix', async () => {
    const r = await runCli('rn', '--listen', '127.0.0.1:0', '--trust', trust, '--key', pcert);
    expect(r.code).toBe(1);
    expect(r.err).toContain('[KEY_FILE_INVALID]');
    expect(r.err).not.toContain('chmod');
  });

  it('keygen --out into a directory that does not exist says so', async () => {
    const r = await runCli('keygen', '--out', join(tmp, 'no-such-dir', 'k.key'));
    expect(r.code).toBe(1);
    expect(r.err).toContain(`its directory ${join(tmp, 'no-such-dir')} does not exist; create it first`);
  });

  const session = (gateway = 'ab'.repeat(32)): string[] => ['--key', rnKey, '--pcert', pcert, '--trust', trust, '--rn-set', pcert, '--grant', pcert, '--gateway', gateway, '--slot', 'tty-1'];

  it('connect --rn-set given a PCert: the flag and file are named', async () => {
    const r = await runCli('connect', 'tail', ...session());
    expect(r.code).toBe(1);
    expect(r.err).toContain(`--rn-set ${pcert}: expected an rn-set artefact, got pcert`);
  });

  it('connect --gateway that is not a CID: a usage error naming the flag (exit 2)', async () => {
    const r = await runCli('connect', 'tail', ...session('abc'));
    expect(r.code).toBe(2);
    expect(r.err).toContain('--gateway');
  });

  it('connect mqtt: every --pub is checked before any file or network (exit 2)', async () => {
    const r = await runCli('connect', 'mqtt', ...session(), '--pub', 'a/b=1', '--pub', 'nopayload');
    expect(r.code).toBe(2);
    expect(r.err).toContain('--pub: expected TOPIC=PAYLOAD, got "nopayload"');
    expect(r.err).not.toContain('rn-set');
  });

  it('connect: a slot id or MQTT topic no gateway could take is a usage error before any file or network (exit 2), as in pantheon grant', async () => {
    for (const [argv, message] of [
      [['tail', ...session().slice(0, -2), '--slot', 'RS485 1'], '--slot "RS485 1": a slot id is lowercase letters, digits, _ and - (e.g. rs485-1)'],
      [['ui', ...session().slice(0, -2), '--show', 'tty-1', '--show', 'tty 2'], '--show "tty 2": a slot id is lowercase letters, digits, _ and - (e.g. rs485-1)'],
      [['mqtt', ...session(), '--sub', 'plant/#', '--sub', 'plant/#/temp'], '--sub "plant/#/temp": not an MQTT topic filter (+ is a whole level, # the whole last level)'],
      [['mqtt', ...session(), '--pub', 'plant/+/cmd=1'], '--pub "plant/+/cmd": not an MQTT topic name (a topic to publish has no + or # wildcards)'],
    ] as const) {
      const r = await runCli('connect', ...argv);
      expect([r.code, r.err], argv.join(' ')).toEqual([2, expect.stringContaining(`${message} [USAGE]\n`)]);
      expect(r.err).not.toContain('rn-set');
    }
    // The same slot id in a Grant: pantheon's wording, the same exit code.
    const grant = await runCli('pantheon', 'grant', '--dir', tmp, '--subject', 'ab'.repeat(32), '--audience', 'cd'.repeat(32), '--hours', '1', '--slot', 'RS485 1', '--purpose', 'serial.read', '--out', join(tmp, 'g'));
    expect([grant.code, grant.err]).toEqual([2, expect.stringContaining('--slot "RS485 1": a slot id is lowercase letters, digits, _ and - (e.g. rs485-1)')]);
  });

  it('a bad flag value is a usage error even when the files the command reads are missing (flags are checked first)', async () => {
    const missing = join(tmp, 'no-such-file');
    const verify = ['attest', 'verify', '--evidence', missing, '--nonce', '00'.repeat(16), '--manifest', missing, '--manifest-signer', 'ab'.repeat(32), '--any-gateway'];
    for (const [argv, message] of [
      [[...verify, '--exporter', 'zz'], '--exporter: expected lowercase hex, got "zz"'],
      [[...verify, '--trusted-ak', 'zz'], '--trusted-ak: expected [CID:]NAME, NAME an AK name of 68 lowercase hex digits starting 000b (`uzpgw attest` prints it), got "zz"'],
      [[...verify, '--trusted-ak', `zz:000b${'ab'.repeat(32)}`], '--trusted-ak: expected a CID (64 lowercase hex characters), got "zz"'],
      [[...verify.slice(0, -1)], 'say which gateway the evidence must come from: --gateway CID'],
      [[...verify, '--gateway', 'ab'.repeat(32)], '--gateway and --any-gateway exclude each other'],
      [['connect', 'tail', ...session(), '--manifest', missing, '--manifest-signer', 'ab'.repeat(32), '--trusted-ak', 'zz'], '--trusted-ak: expected [CID:]NAME'],
      [['pantheon', 'enroll', '--dir', missing, '--role', 'operator', '--public', 'zz', '--out', join(tmp, 'x.pcert')], '--public: expected 64 lowercase hex characters (an Ed25519 public key)'],
      [['collector', 'query', '--config', missing, '--since', 'yesterday'], '--since: expected an ISO time (2026-12-05T10:00:00Z), Unix ms, or an age such as 15m, 2h, 7d; got "yesterday"'],
      [['collector', '--config', missing, '--ui', '0.0.0.0:8471'], '--ui: 0.0.0.0 is not loopback: serving the console elsewhere needs HTTPS and a token'],
    ] as const) {
      const r = await runCli(...argv);
      expect([r.code, r.err], argv.join(' ')).toEqual([2, expect.stringMatching(/\[USAGE\]\n$/)]);
      expect(r.err, argv.join(' ')).toContain(message);
    }
  });

  it('connect serial --pty in a directory that does not exist: exit 2 before any network', async () => {
    const r = await runCli('connect', 'serial', ...session(), '--pty', join(tmp, 'no-such-dir', 'tty'));
    expect(r.code).toBe(2);
    expect(r.err).toContain(`the directory ${join(tmp, 'no-such-dir')} does not exist`);
  });

  it('uzpgw with no command: the usage on stderr, nothing on stdout, exit 2; --help: on stdout, exit 0', async () => {
    const bare = await runCli();
    expect([bare.code, bare.out]).toEqual([2, '']);
    expect(bare.err).toMatch(/^usage: uzpgw <command>/);
    const help = await runCli('--help');
    expect([help.code, help.err]).toEqual([0, '']);
    expect(help.out).toMatch(/^usage: uzpgw <command>/);
  });

  // A missing file, as `status --config <missing>` and `attest` say it (README "Exit status"): exit 1.
  it.skipIf(existsSync(CONFIG_FILE))('status without --config on a machine not flashed names --config and --state (exit 1, FILE_NOT_FOUND)', async () => {
    const r = await runCli('status');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/no gateway config at .*give --config FILE, or --state FILE for a status file \[FILE_NOT_FOUND\]\n$/);
  });
});

describe('an artefact file that is no artefact: the flag and file named, one code', () => {
  // Issued now: connect checks them against this machine's clock.
  const live = new TestDomain(nodeProvider, Date.now());
  const op = live.member('operator');
  const files = { key: join(tmp, 'op.key'), pcert: join(tmp, 'op.pcert'), trust: join(tmp, 'live-trust.json'), rnSet: join(tmp, 'live.rnset'), grant: join(tmp, 'op.grant'), junk: join(tmp, 'junk') };
  writeKeyFile(files.key, op.id);
  writeArtefactFile(files.pcert, op.pcert);
  writeTrustAnchor(files.trust, { domain: 'errors.test', rootPublicKey: live.root.publicKey, rootCid: live.root.cid });
  writeArtefactFile(files.rnSet, live.rnSet([{ id: live.member('rn').id, addresses: ['127.0.0.1:9'] }]));
  const gateway = live.member('gateway').id.cid;
  writeArtefactFile(files.grant, live.grant(op.id.cid, gateway, { slot: 'tty-1' }));
  writeFileSync(files.junk, Buffer.from([0xff, 0xfe, 0x1c, 0xbe, 0x00, 0x7f]));
  const connect = (o: { pcert?: string; grant?: string }): Promise<{ code: number; out: string; err: string }> =>
    runCli('connect', 'tail', '--key', files.key, '--pcert', o.pcert ?? files.pcert, '--trust', files.trust, '--rn-set', files.rnSet, '--grant', o.grant ?? files.grant, '--gateway', toHex(gateway), '--slot', 'tty-1', '--count', '1');
  /** `uzpgw <cmd>: <what>: … [CODE]` with no other code in it. */
  const oneCode = (err: string): string[] => [...err.matchAll(/\[([A-Z_]+)\]/g)].map((m) => m[1]!);

  it('connect --grant junk', async () => {
    const r = await connect({ grant: files.junk });
    expect(r.code).toBe(1);
    expect(r.err).toContain(`: --grant ${files.junk}: invalid CBOR`);
    expect(oneCode(r.err)).toEqual(['CBOR_INVALID']);
  });

  it('connect --pcert junk', async () => {
    const r = await connect({ pcert: files.junk });
    expect(r.code).toBe(1);
    expect(r.err).toContain(`: --pcert ${files.junk}: invalid CBOR`);
    expect(oneCode(r.err)).toEqual(['CBOR_INVALID']);
  });

  // Before: `--grant DIR` said "DIR: not a regular file (expected a artefact)" and a missing --pcert
  // "FILE: no such file (while trying to read the artefact)", naming no flag (README: errors name
  // the flag and the file); --rn-set named its flag but said the file twice.
  it('connect: a directory or a missing file as --grant, --pcert, --rn-set or --key names the flag and the file once', async () => {
    const missing = join(tmp, 'no-such-file');
    const cases: [Parameters<typeof connect>[0], string, string][] = [
      [{ grant: tmp }, `--grant ${tmp}: not a regular file (expected a UZP artefact) [FILE_INVALID]`, ''],
      [{ pcert: tmp }, `--pcert ${tmp}: not a regular file (expected a UZP artefact) [FILE_INVALID]`, ''],
      [{ grant: missing }, `--grant ${missing}: no such file `, '[FILE_NOT_FOUND]'],
      [{ pcert: missing }, `--pcert ${missing}: no such file `, '[FILE_NOT_FOUND]'],
    ];
    for (const [o, message, code] of cases) {
      const r = await connect(o);
      expect(r.code, message).toBe(1);
      expect(r.err, message).toMatch(/^uzpgw connect tail: /);
      expect(r.err, message).toContain(`connect tail: ${message}`);
      expect(r.err, message).toContain(code);
      expect(r.err).not.toContain('a artefact');
    }
    const flags = (flag: string, file: string): string[] => {
      const argv = ['connect', 'tail', '--key', files.key, '--pcert', files.pcert, '--trust', files.trust, '--rn-set', files.rnSet, '--grant', files.grant, '--gateway', toHex(gateway), '--slot', 'tty-1'];
      argv[argv.indexOf(flag) + 1] = file;
      return argv;
    };
    for (const flag of ['--rn-set', '--key']) {
      const r = await runCli(...flags(flag, tmp));
      expect([r.code, r.err], flag).toEqual([1, expect.stringMatching(new RegExp(`^uzpgw connect tail: ${flag} ${tmp}: not a regular file \\(expected a (UZP artefact|key file)\\) \\[FILE_INVALID\\]\n$`))]);
    }
  });

  it('a Grant that decodes is still told by what it says (CONFIG_INVALID): one for another gateway', async () => {
    writeArtefactFile(join(tmp, 'other.grant'), live.grant(op.id.cid, live.member('gateway').id.cid, { slot: 'tty-1' }));
    const r = await connect({ grant: join(tmp, 'other.grant') });
    expect(r.code).toBe(1);
    expect(r.err).toContain(`${join(tmp, 'other.grant')} is a Grant for gateway`);
    expect(oneCode(r.err)).toEqual(['CONFIG_INVALID']);
  });

  it('pantheon revoke --artefact junk', async () => {
    const dir = join(tmp, 'revoke-domain');
    expect((await runCli('pantheon', 'init', '--dir', dir, '--domain', 'errors.test')).code).toBe(0);
    const r = await runCli('pantheon', 'revoke', '--dir', dir, '--artefact', files.junk, '--out', join(tmp, 'rv'));
    expect(r.code).toBe(1);
    expect(r.err).toContain(`: --artefact ${files.junk}: invalid CBOR`);
    expect(oneCode(r.err)).toEqual(['CBOR_INVALID']);
    expect(existsSync(join(tmp, 'rv'))).toBe(false);
  });
});
