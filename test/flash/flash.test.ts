// `uzpgw flash` into a temporary root: the installed tree, the signed manifest against a fresh
// measurement, the unit through systemd-analyze verify, idempotence, --dry-run, refusals, and the
// config rules (kept when edited, replaced by --config). The ~18 MB copy happens once, in beforeAll.

import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { measureBundle } from '../../src/attest/bundle.js';
import { openManifest } from '../../src/attest/manifest.js';
import { loadKeyFile } from '../../src/files/keyfile.js';
import { checkConfigText, configDigest } from '../../src/config/index.js';
import { equal, toHex } from '../../src/uzp/bytes.js';
import { nodeProvider as provider } from '../../src/uzp/crypto/node.js';
import { stopAll } from '../helpers/processes.js';
import { jsonOf, runCli, runInProcess } from './run.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'uzp-flash-root-'));
const xdg = mkdtempSync(join(tmpdir(), 'uzp-flash-xdg-'));
const scratch = mkdtempSync(join(tmpdir(), 'uzp-flash-scratch-'));
// In-process runs read XDG_CONFIG_HOME from this process: point it at an empty directory so a
// refusal or a dry run that wrongly created a signing key would show up there.
const xdgInProcess = mkdtempSync(join(tmpdir(), 'uzp-flash-xdg-ip-'));
process.env.XDG_CONFIG_HOME = xdgInProcess;

const BUNDLE = join(root, 'opt/uzp-gateway');
const CONFIG = join(root, 'etc/uzp-gateway/gateway.json');
const MANIFEST = join(root, 'etc/uzp-gateway/reference-manifest.cbor');
const UNIT = join(root, 'etc/systemd/system/uzp-gateway.service');
const WANTS = join(root, 'etc/systemd/system/multi-user.target.wants/uzp-gateway.service');
const SYSUSERS = join(root, 'usr/lib/sysusers.d/uzp-gateway.conf');
const TMPFILES = join(root, 'usr/lib/tmpfiles.d/uzp-gateway.conf');
const SIGNER_KEY = join(xdg, 'uzp-gateway/manifest-signer.key');
// --node: this machine's node, so systemd-analyze verify can check that ExecStart resolves.
const FLASH = ['flash', '--board', 'rpi-4b', '--target', root, '--node', process.execPath, '--json'];

interface FileJson {
  path: string;
  status: string;
}
interface FlashJson {
  board: string;
  bundle: { status: string; files: number; bytes: number; packages: number };
  config: { source: string };
  files: FileJson[];
  signer: { cid: string; created: boolean };
  manifest: { file: string; bundle_root: string; status: string };
}

/** path -> kind, mode, size, mtime (and link target): equal snapshots mean nothing was touched. */
function snapshot(dir: string, rel = '', out = new Map<string, string>()): Map<string, string> {
  for (const name of readdirSync(join(dir, rel)).sort()) {
    const r = rel === '' ? name : `${rel}/${name}`;
    const st = lstatSync(join(dir, r));
    const kind = st.isDirectory() ? 'd' : st.isSymbolicLink() ? `l>${readlinkSync(join(dir, r))}` : 'f';
    out.set(r, `${kind}:${(st.mode & 0o7777).toString(8)}:${st.isDirectory() ? '' : `${st.size}:${st.mtimeMs}`}`);
    if (st.isDirectory()) snapshot(dir, r, out);
  }
  return out;
}

/** The config as the gateway on the device reads it (paths against /etc/uzp-gateway). */
function deviceConfigDigest(): Uint8Array {
  const r = checkConfigText(readFileSync(CONFIG, 'utf8'), '/etc/uzp-gateway/gateway.json', { boardsDir: join(BUNDLE, 'boards'), checkFiles: false });
  expect(r.issues.filter((i) => i.severity === 'error')).toEqual([]);
  return configDigest(r.config!, provider);
}

let first: FlashJson;
let firstErr = '';
let second: FlashJson;
/** The flash just before `second` (normally `first`). */
let prev: FlashJson;
let before: Map<string, string>;
let after: Map<string, string>;

/** The running package's dist (what flash copies), to tell a real change from a rebuild racing the test. */
const sourceStamp = (): string => [...snapshot(join(REPO, 'dist'))].join('\n');

beforeAll(async () => {
  const flashOnce = async (): Promise<FlashJson> => {
    const r = await runCli(FLASH, { XDG_CONFIG_HOME: xdg });
    expect(r.code, r.err).toBe(0);
    if (firstErr === '') firstErr = r.err;
    return jsonOf(r) as unknown as FlashJson;
  };
  let stamp = sourceStamp();
  first = await flashOnce();
  prev = first;
  // Idempotence is judged on two consecutive flashes of an unchanged source: if dist was rebuilt
  // meanwhile (a concurrent `tsc` during development), the later flash rightly reinstalls, so a
  // fresh pair is flashed and judged instead.
  before = snapshot(root);
  for (let attempt = 0; ; attempt++) {
    second = await flashOnce();
    after = snapshot(root);
    const now = sourceStamp();
    if (now === stamp || attempt === 2) break;
    stamp = now;
    prev = await flashOnce();
    before = snapshot(root);
  }
}, 180_000);

afterAll(async () => {
  await stopAll();
  for (const d of [root, xdg, scratch, xdgInProcess]) rmSync(d, { recursive: true, force: true });
});

describe('uzpgw flash --board rpi-4b --target DIR', () => {
  it('installs the bundle, config, system user, state dir, unit, enable link and manifest', () => {
    for (const f of ['dist/cli/main.js', 'boards/rpi-4b.json', 'package.json', 'package-lock.json', 'node_modules/serialport/package.json']) {
      expect(existsSync(join(BUNDLE, f)), f).toBe(true);
    }
    for (const f of [CONFIG, MANIFEST, UNIT, SYSUSERS, TMPFILES]) expect(lstatSync(f).isFile(), f).toBe(true);
    expect(readlinkSync(WANTS)).toBe('/etc/systemd/system/uzp-gateway.service');
    expect(existsSync(join(root, 'etc/uzp-gateway/trust'))).toBe(true);
    expect(readFileSync(SYSUSERS, 'utf8')).toMatch(/^u uzp-gateway - "UZP gateway" \/var\/lib\/uzp-gateway$/m);
    expect(readFileSync(SYSUSERS, 'utf8')).toMatch(/^m uzp-gateway dialout$/m);
    expect(readFileSync(TMPFILES, 'utf8')).toMatch(/^d \/var\/lib\/uzp-gateway 0700 uzp-gateway uzp-gateway -$/m);
    // Nothing else at the top of the bundle (no src, test, docs, node_modules/.bin).
    expect(readdirSync(BUNDLE).sort()).toEqual(['boards', 'dist', 'node_modules', 'package-lock.json', 'package.json', 'web']);
    expect(existsSync(join(BUNDLE, 'node_modules/.bin'))).toBe(false);
    // No staging or old trees left next to it.
    expect(readdirSync(join(root, 'opt'))).toEqual(['uzp-gateway']);
    expect(first.bundle.status).toBe('installed');
    expect(first.bundle.files).toBeGreaterThan(1000);
    expect(first.signer.created).toBe(true);
    expect(lstatSync(SIGNER_KEY).mode & 0o777).toBe(0o600);
  });

  it('bundles exactly the production packages of the lock, with Linux prebuilds only', () => {
    const lock = JSON.parse(readFileSync(join(REPO, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
    // The pinned Node runtime packages are production (optional) entries of the lock, but they run the
    // bundle rather than belong in it.
    const runtime = Object.keys(lock.packages).filter((k) => /^node_modules\/node-linux-/.test(k));
    expect(runtime.length).toBeGreaterThan(0);
    for (const r of runtime) expect(existsSync(join(BUNDLE, r)), r).toBe(false);
    const prod = Object.entries(lock.packages).filter(([k, v]) => k !== '' && v.dev !== true && !runtime.includes(k)).map(([k]) => k);
    for (const p of prod) expect(existsSync(join(BUNDLE, p, 'package.json')), p).toBe(true);
    expect(first.bundle.packages).toBe(prod.length);
    const top = readdirSync(join(BUNDLE, 'node_modules')).flatMap((n) => (n.startsWith('@') ? readdirSync(join(BUNDLE, 'node_modules', n)).map((m) => `node_modules/${n}/${m}`) : [`node_modules/${n}`]));
    for (const t of top) expect(prod, `${t} is not a production package`).toContain(t);
    for (const dev of ['vitest', 'typescript', 'fast-check', 'modbus-serial']) expect(existsSync(join(BUNDLE, 'node_modules', dev)), dev).toBe(false);
    const prebuilds = readdirSync(join(BUNDLE, 'node_modules/@serialport/bindings-cpp/prebuilds')).sort();
    expect(prebuilds).toContain('linux-arm64');
    expect(prebuilds).toContain('linux-arm');
    expect(prebuilds.filter((d) => /^(darwin|win32|android)/.test(d))).toEqual([]);
    // The bundled CLI is the built one, byte for byte, and keeps its execute bits as built.
    expect(readFileSync(join(BUNDLE, 'dist/cli/main.js')).equals(readFileSync(join(REPO, 'dist/cli/main.js')))).toBe(true);
  });

  it('reports progress on stderr in numbered steps, with sizes', () => {
    expect(firstErr).toMatch(/^flash \[1\/7\] /m);
    expect(firstErr).toMatch(/^flash \[4\/7\] copying node_modules: \d+ packages, [\d.]+ MB$/m);
    expect(firstErr).toMatch(/^flash \[7\/7\] /m);
    expect(firstErr).toMatch(/created the manifest signing key .*manifest-signer\.key/);
  });

  it('writes a default config that validates, on the board first serial slot', () => {
    const text = readFileSync(CONFIG, 'utf8');
    const r = checkConfigText(text, CONFIG, { checkFiles: false });
    expect(r.issues.filter((i) => i.severity === 'error')).toEqual([]);
    expect(r.config?.board).toBe('rpi-4b');
    expect(r.config?.identity.key).toBe('/var/lib/uzp-gateway/identity.key');
    expect(r.config?.slots.map((s) => [s.id, s.device.driver])).toEqual([['uart0', 'serial-raw']]);
    expect(r.config?.audit.file).toBeUndefined();
  });

  it('signs a manifest whose bundle root is the measurement of the installed bundle', async () => {
    const signer = loadKeyFile(provider, SIGNER_KEY);
    const m = openManifest(provider, new Uint8Array(readFileSync(MANIFEST)), { trusted: [signer.cid], now: Math.floor(Date.now() / 1000) });
    const measured = await measureBundle(provider, BUNDLE);
    expect(toHex(m.manifest.bundle.root)).toBe(toHex(measured.root));
    expect(m.manifest.bundle.files).toBe(measured.files);
    expect(second.manifest.bundle_root).toBe(toHex(measured.root));
    expect(first.signer.cid).toBe(toHex(signer.cid));
    expect(m.manifest.board).toBe('rpi-4b');
    expect(m.manifest.node).toEqual([process.version]);
    expect(m.manifest.swname).toBe('uzp-gateway');
    expect(equal(m.manifest.config, deviceConfigDigest())).toBe(true);
    expect(m.manifest.slots).toEqual({ uart0: { device: 'serial-1', driver: 'serial-raw', port: '/dev/ttyAMA0' } });
  });

  it('writes a unit with the hardening and device rules, every directive commented', () => {
    const unit = readFileSync(UNIT, 'utf8');
    const cli = `${process.execPath} /opt/uzp-gateway/dist/cli/main.js`;
    for (const line of [
      'User=uzp-gateway',
      'Group=uzp-gateway',
      'SupplementaryGroups=dialout',
      'StateDirectory=uzp-gateway',
      'StateDirectoryMode=0700',
      `ExecStartPre=${cli} first-boot --config /etc/uzp-gateway/gateway.json`,
      `ExecStart=${cli} gateway --config /etc/uzp-gateway/gateway.json --wait-enrollment`,
      'SocketBindDeny=any',
      'NoNewPrivileges=yes',
      'ProtectSystem=strict',
      'ProtectHome=yes',
      'PrivateTmp=yes',
      'ProtectKernelTunables=yes',
      'ProtectKernelModules=yes',
      'ProtectKernelLogs=yes',
      'ProtectControlGroups=yes',
      'RestrictSUIDSGID=yes',
      'LockPersonality=yes',
      'MemoryDenyWriteExecute=no',
      'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX AF_NETLINK',
      'DevicePolicy=closed',
      'DeviceAllow=/dev/ttyAMA0 rw',
      'DeviceAllow=/dev/serial0 rw',
      'DeviceAllow=/dev/ttyS0 rw',
      'DeviceAllow=char-ttyUSB rw',
      'DeviceAllow=char-ttyACM rw',
      'DeviceAllow=/dev/tpmrm0 rw',
      'ReadWritePaths=/var/lib/uzp-gateway',
      'Restart=on-failure',
      'RestartSec=5',
      'StandardOutput=journal',
      'StandardError=journal',
      'SyslogIdentifier=uzp-gateway',
      'Environment=NODE_OPTIONS=--max-semi-space-size=1',
      'Environment=MALLOC_ARENA_MAX=1',
      'WantedBy=multi-user.target',
    ]) {
      expect(unit.split('\n'), line).toContain(line);
    }
    expect(unit).toMatch(/V8/); // the reason MemoryDenyWriteExecute is off
    // Every directive sits in a block that starts with a comment saying why.
    const lines = unit.split('\n');
    lines.forEach((l, i) => {
      if (l === '' || l.startsWith('#') || l.startsWith('[')) return;
      let j = i - 1;
      while (j >= 0 && lines[j] !== '' && !lines[j]!.startsWith('#') && !lines[j]!.startsWith('[')) j--;
      expect(lines[j]?.startsWith('#'), `${l} has no comment above it`).toBe(true);
    });
  });

  it('the unit passes `systemd-analyze verify` with no unknown directives', () => {
    const which = spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8' });
    if (which.error !== undefined) throw new Error(`systemd-analyze is not installed (${which.error.message}); install systemd (apt-get install systemd) to verify the generated unit`);
    // Pointing verify at the file (not --root=DIR): --root needs a whole systemd tree in DIR
    // (sysinit.target...) and resolves ExecStart inside it; the host's units and this node do instead.
    const r = spawnSync('systemd-analyze', ['verify', UNIT], { encoding: 'utf8', timeout: 20_000 });
    const output = `${r.stdout}${r.stderr}`;
    expect(r.status, output).toBe(0);
    expect(output).not.toMatch(/unknown|ignoring|not executable|failed|invalid|deprecated/i);
  });

  it('sysusers.d entries parse with systemd-sysusers --dry-run', () => {
    const r = spawnSync('systemd-sysusers', ['--dry-run', `--root=${root}`, SYSUSERS], { encoding: 'utf8', timeout: 20_000 });
    if (r.error !== undefined) throw new Error(`systemd-sysusers is not installed (${r.error.message})`);
    const output = `${r.stdout}${r.stderr}`;
    expect(r.status, output).toBe(0);
    expect(output).toMatch(/Creating user 'uzp-gateway'/);
    expect(output).not.toMatch(/unknown|ignoring|failed|invalid/i);
    expect(snapshot(root)).toEqual(after); // dry run: nothing written into the root
  });

  it('a second flash changes nothing: same tree, same manifest bundle root, config kept', () => {
    expect(after).toEqual(before);
    expect(second.bundle.status).toBe('unchanged');
    expect(second.config.source).toBe('kept');
    expect(second.files.map((f) => f.status)).toEqual(prev.files.map(() => 'unchanged'));
    expect(second.manifest.bundle_root).toBe(prev.manifest.bundle_root);
    expect(second.signer.created).toBe(false);
  });

  it('--dry-run prints the plan and writes nothing', async () => {
    const empty = mkdtempSync(join(scratch, 'dry-'));
    const r = await runInProcess('flash', '--board', 'rpi-4b', '--target', empty, '--dry-run', '--json');
    expect(r.code, r.err).toBe(0);
    const j = jsonOf(r) as unknown as { dry_run: boolean; bundle: { status: string; files: number }; files: FileJson[]; bundle_files: { path: string; bytes: number }[] };
    expect(j.dry_run).toBe(true);
    expect(j.bundle.status).toBe('would install');
    expect(j.bundle_files).toHaveLength(j.bundle.files);
    expect(j.bundle_files.map((f) => f.path)).toContain(join(empty, 'opt/uzp-gateway/dist/cli/main.js'));
    const paths = j.files.map((f) => f.path);
    for (const p of ['etc/uzp-gateway/gateway.json', 'etc/systemd/system/uzp-gateway.service', 'usr/lib/sysusers.d/uzp-gateway.conf', 'usr/lib/tmpfiles.d/uzp-gateway.conf', 'etc/uzp-gateway/reference-manifest.cbor']) {
      expect(paths).toContain(join(empty, p));
    }
    expect(readdirSync(empty)).toEqual([]);
    expect(readdirSync(xdgInProcess)).toEqual([]); // the signing key is not created either
    const human = await runInProcess('flash', '--board', 'rpi-4b', '--target', root, '--node', process.execPath, '--dry-run');
    expect(human.code, human.err).toBe(0);
    expect(human.out).toMatch(/unchanged\s+\S*opt\/uzp-gateway/);
    expect(snapshot(root)).toEqual(after);
  });

  it('a target whose directories are absolute symlinks out of it: everything lands inside the target, nothing on the host', async () => {
    // A card back from the field (flash runs as root): its etc/systemd, etc/uzp-gateway and opt point
    // at the flashing host's directories by absolute path. Before, the kernel followed them there:
    // the unit installed and enabled on the host, the bundle written and an old one deleted there.
    const target = mkdtempSync(join(scratch, 'tampered-'));
    const host = mkdtempSync(join(scratch, 'host-'));
    for (const d of ['systemd', 'uzp-gateway', 'opt', 'opt/.uzp-gateway.old-abc123']) mkdirSync(join(host, d), { recursive: true });
    mkdirSync(join(target, 'etc'), { recursive: true });
    symlinkSync(join(host, 'systemd'), join(target, 'etc/systemd'));
    symlinkSync(join(host, 'uzp-gateway'), join(target, 'etc/uzp-gateway'));
    symlinkSync(join(host, 'opt'), join(target, 'opt'));
    const hostBefore = snapshot(host);
    const r = await runCli(['flash', '--board', 'rpi-4b', '--target', target, '--node', process.execPath, '--json'], { XDG_CONFIG_HOME: xdg });
    expect(r.code, r.err).toBe(0);
    expect(snapshot(host)).toEqual(hostBefore);
    // Where the device will find them: the links resolved inside the card.
    const inside = (p: string): string => join(target, host, p);
    expect(existsSync(inside('systemd/system/uzp-gateway.service'))).toBe(true);
    expect(readlinkSync(inside('systemd/system/multi-user.target.wants/uzp-gateway.service'))).toBe('/etc/systemd/system/uzp-gateway.service');
    expect(existsSync(inside('uzp-gateway/gateway.json'))).toBe(true);
    expect(existsSync(inside('opt/uzp-gateway/dist/cli/main.js'))).toBe(true);
  }, 120_000);

  it('a reflash does not keep a bundle whose directories became writable or whose files changed owner: it installs it again', async () => {
    const target = mkdtempSync(join(scratch, 'perms-'));
    const flashIt = async (): Promise<FlashJson> => {
      const r = await runCli(['flash', '--board', 'rpi-4b', '--target', target, '--node', process.execPath, '--json'], { XDG_CONFIG_HOME: xdg });
      expect(r.code, r.err).toBe(0);
      return jsonOf(r) as unknown as FlashJson;
    };
    await flashIt();
    const cliDir = join(target, 'opt/uzp-gateway/dist/cli');
    chmodSync(cliDir, 0o777);
    chownSync(join(cliDir, 'main.js'), 65534, 65534);
    // Before: "already holds this bundle; keeping it", the world-writable directory signed into the manifest.
    expect((await flashIt()).bundle.status).toBe('replaced');
    expect(lstatSync(cliDir).mode & 0o7777).toBe(0o755);
    expect(lstatSync(join(cliDir, 'main.js')).uid).toBe(process.getuid!());
    expect((await flashIt()).bundle.status).toBe('unchanged');
  }, 120_000);

  it('a FIFO where the manifest goes does not hang flash: it is replaced by the new manifest', async () => {
    const target = mkdtempSync(join(scratch, 'fifo-'));
    mkdirSync(join(target, 'etc/uzp-gateway'), { recursive: true });
    const fifo = join(target, 'etc/uzp-gateway/reference-manifest.cbor');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    // Before: flash read it to see whether it could be kept, and waited for a writer for good.
    const r = await runCli(['flash', '--board', 'rpi-4b', '--target', target, '--node', process.execPath, '--json'], { XDG_CONFIG_HOME: xdg });
    expect(r.code, r.err).toBe(0);
    expect(lstatSync(fifo).isFile()).toBe(true);
  }, 120_000);

  it('refuses a bad --board, a missing --target and a config for another board, writing nothing', async () => {
    const empty = mkdtempSync(join(scratch, 'refuse-'));
    const bad = await runInProcess('flash', '--board', 'rpi-4', '--target', empty);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/unknown board "rpi-4"; did you mean rpi-4b/);
    const noTarget = await runInProcess('flash', '--board', 'rpi-4b');
    expect(noTarget.code).toBe(2);
    expect(noTarget.err).toMatch(/--target is required/);
    // A missing target would be created (a staging root); a dry run only says so.
    const gone = await runInProcess('flash', '--board', 'rpi-4b', '--target', join(empty, 'not-mounted'), '--dry-run');
    expect(gone.code, gone.err).toBe(0);
    expect(gone.err).toMatch(/not-mounted does not exist, so it is not a mounted root filesystem; it would be created/);
    const aFile = join(scratch, 'a-file');
    writeFileSync(aFile, 'x');
    const notDir = await runInProcess('flash', '--board', 'rpi-4b', '--target', aFile);
    expect(notDir.code).toBe(1);
    expect(notDir.err).toMatch(/not a directory/);
    const other = join(scratch, 'rpi5.json');
    writeFileSync(
      other,
      JSON.stringify({
        kind: 'uzp-gw/gateway-config',
        identity: { key: '/var/lib/uzp-gateway/identity.key', pcert: '/var/lib/uzp-gateway/identity.pcert' },
        trust: { anchor: 'trust/trust.json', rn_set: 'trust/rn-set.uzp' },
        board: 'rpi-5',
        slots: { debug: { device: { id: 'gps-1', driver: 'serial-line', serial: { baud: 9600 } } } },
      }),
    );
    const wrong = await runInProcess('flash', '--board', 'rpi-4b', '--target', empty, '--config', other);
    expect(wrong.code).toBe(1);
    expect(wrong.err).toMatch(/is for board "rpi-5", but --board is "rpi-4b"/);
    const junk = join(scratch, 'junk.json');
    writeFileSync(junk, '{"kind": "uzp-gw/gateway-config", "board": 7');
    const broken = await runInProcess('flash', '--board', 'rpi-4b', '--target', empty, '--config', junk);
    expect(broken.code).toBe(1);
    expect(broken.err).toMatch(/CONFIG_INVALID/);
    const unknown = await runInProcess('flash', '--board', 'rpi-4b', '--target', empty, '--bogus');
    expect(unknown.code).toBe(2);
    expect(readdirSync(empty)).toEqual([]);
    expect(readdirSync(xdgInProcess)).toEqual([]);
    const help = await runInProcess('flash', '--help');
    expect(help.code).toBe(0);
    expect(help.out).toMatch(/^usage: uzpgw flash --board ID --target DIR/);
  });

  it('keeps an edited config (new manifest), --config replaces it (tpm off: no TPM device, no tss), device-view drift is warned', async () => {
    const edited = readFileSync(CONFIG, 'utf8').replace('"baud": 9600', '"baud": 19200');
    writeFileSync(CONFIG, edited);
    const kept = await runCli(FLASH, { XDG_CONFIG_HOME: xdg });
    expect(kept.code, kept.err).toBe(0);
    const k = jsonOf(kept) as unknown as FlashJson;
    expect(k.config.source).toBe('kept');
    expect(k.bundle.status).toBe('unchanged');
    expect(readFileSync(CONFIG, 'utf8')).toBe(edited);
    expect(k.manifest.status).toBe('updated'); // the config digest changed
    const signer = loadKeyFile(provider, SIGNER_KEY);
    const m1 = openManifest(provider, new Uint8Array(readFileSync(MANIFEST)), { trusted: [signer.cid] });
    expect(equal(m1.manifest.config, deviceConfigDigest())).toBe(true);
    expect(toHex(m1.manifest.bundle.root)).toBe(second.manifest.bundle_root);

    const given = join(scratch, 'gw-tpm-off.json');
    writeFileSync(
      given,
      JSON.stringify({
        kind: 'uzp-gw/gateway-config',
        name: 'press-line-4',
        identity: { key: '/var/lib/uzp-gateway/identity.key', pcert: '/var/lib/uzp-gateway/identity.pcert' },
        trust: { anchor: 'trust/trust.json', rn_set: 'trust/rn-set.uzp' },
        board: 'rpi-4b',
        attestation: { tpm: 'off' },
        slots: { uart3: { device: { id: 'scanner-1', driver: 'serial-line', serial: { baud: 115200 } } } },
      }),
    );
    const replaced = await runCli([...FLASH, '--config', given, '--node-version', 'v20.19.5', '--node-version', 'v22.12.0'], { XDG_CONFIG_HOME: xdg });
    expect(replaced.code, replaced.err).toBe(0);
    expect((jsonOf(replaced) as unknown as FlashJson).config.source).toBe('given');
    expect(readFileSync(CONFIG, 'utf8')).toBe(readFileSync(given, 'utf8'));
    const unit = readFileSync(UNIT, 'utf8');
    expect(unit).not.toMatch(/tpmrm0/);
    expect(readFileSync(SYSUSERS, 'utf8')).not.toMatch(/tss/);
    const m2 = openManifest(provider, new Uint8Array(readFileSync(MANIFEST)), { trusted: [signer.cid] });
    expect(m2.manifest.node).toEqual(['v20.19.5', 'v22.12.0']);
    expect(m2.manifest.slots).toEqual({ uart3: { device: 'scanner-1', driver: 'serial-line', port: '/dev/ttyAMA3' } });
    expect(equal(m2.manifest.config, deviceConfigDigest())).toBe(true);

    // An absolute path into /etc/uzp-gateway measures differently on the device: flash says so.
    const absolute = join(scratch, 'gw-absolute.json');
    writeFileSync(absolute, readFileSync(given, 'utf8').replace('"trust/trust.json"', '"/etc/uzp-gateway/trust/trust.json"'));
    const warned = await runCli([...FLASH, '--config', absolute], { XDG_CONFIG_HOME: xdg });
    expect(warned.code, warned.err).toBe(0);
    expect((jsonOf(warned) as unknown as { warnings: string[] }).warnings.join('\n')).toMatch(/measures differently/);
    expect(warned.err).toMatch(/^flash: warning: .*measures differently/m);
  });
});
