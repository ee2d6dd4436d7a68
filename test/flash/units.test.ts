// The generated unit and default config for every shipped board (no bundle copy): each default
// config validates, each unit passes `systemd-analyze verify`, and the device rules follow the
// board's ports (fixed UART paths, USB groups with their modprobe units, PTYs on the virtual board).

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BOARDS_DIR, boardIds, loadBoard } from '../../src/config/index.js';
import { validateConfigText } from '../../src/flash/config-choice.js';
import { defaultConfigText } from '../../src/flash/default-config.js';
import { devicePlan } from '../../src/flash/device-allow.js';
import { CONFIG_FILE } from '../../src/flash/layout.js';
import { renderSysusers } from '../../src/flash/system-files.js';
import { renderUnit } from '../../src/flash/unit.js';

const tmp = mkdtempSync(join(tmpdir(), 'uzp-units-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function unitFor(board: string, configText?: string): { unit: string; file: string } {
  const text = configText ?? defaultConfigText(loadBoard(board));
  const { config, board: b } = validateConfigText(text, CONFIG_FILE, BOARDS_DIR);
  const unit = renderUnit({ node: process.execPath, board: b.id, swversion: '0.1.0', devices: devicePlan(b, config), ...(config.audit.file !== undefined ? { auditDir: '/var/log/uzp-gateway' } : {}) });
  // systemd-analyze names the unit after the file, so each one gets its own directory.
  const file = join(mkdtempSync(join(tmp, `${board}-`)), 'uzp-gateway.service');
  writeFileSync(file, unit);
  return { unit, file };
}

describe('default config and unit per board', () => {
  for (const id of boardIds()) {
    it(`${id}: default config validates and the unit passes systemd-analyze verify`, () => {
      const { unit, file } = unitFor(id);
      const r = spawnSync('systemd-analyze', ['verify', file], { encoding: 'utf8', timeout: 20_000 });
      if (r.error !== undefined) throw new Error(`systemd-analyze is not installed (${r.error.message}); install systemd to verify the generated unit`);
      const output = `${r.stdout}${r.stderr}`;
      expect(r.status, output).toBe(0);
      expect(output).not.toMatch(/unknown|ignoring|not executable|failed|invalid/i);
      expect(unit).toMatch(/^DevicePolicy=closed$/m);
    });
  }

  it('device rules follow the ports: UART paths, USB groups + modprobe, PTYs, TPM', () => {
    const pi = unitFor('rpi-zero-2w').unit;
    expect(pi).toMatch(/^DeviceAllow=\/dev\/ttyAMA0 rw$/m);
    expect(pi).toMatch(/^DeviceAllow=\/dev\/ttyS0 rw$/m);
    expect(pi).toMatch(/^DeviceAllow=\/dev\/serial0 rw$/m);
    expect(pi).toMatch(/^Wants=modprobe@usbserial\.service modprobe@cdc_acm\.service$/m);
    // no RTC on a Pi: start once the clock is synchronised (artefact validity windows)
    expect(pi).toMatch(/^Wants=time-sync\.target systemd-time-wait-sync\.service$/m);
    expect(pi).toMatch(/^After=time-sync\.target$/m);
    expect(pi).not.toMatch(/^DeviceAllow=\/dev\/ttyUSB0/m); // covered by char-ttyUSB
    const generic = unitFor('generic-linux').unit;
    expect(generic.match(/^DeviceAllow=.*$/gm)).toEqual(['DeviceAllow=char-ttyUSB rw', 'DeviceAllow=char-ttyACM rw', 'DeviceAllow=/dev/tpmrm0 rw']);
    const virtual = unitFor('virtual').unit;
    expect(virtual).toMatch(/^DeviceAllow=char-pts rw$/m);
    expect(virtual).not.toMatch(/modprobe@/);
  });

  it('attestation: tpm off drops the TPM rule and tss; a device TCTI names its own node; audit.file is writable', () => {
    const base = JSON.parse(defaultConfigText(loadBoard('rpi-4b'))) as Record<string, unknown>;
    const off = unitFor('rpi-4b', JSON.stringify({ ...base, attestation: { tpm: 'off' } })).unit;
    expect(off).not.toMatch(/DeviceAllow=\/dev\/tpm/);
    expect(renderSysusers({ tpm: false })).not.toMatch(/tss/);
    expect(renderSysusers({ tpm: true })).toMatch(/^m uzp-gateway tss$/m);
    const tcti = unitFor('rpi-4b', JSON.stringify({ ...base, attestation: { tpm: 'required', tcti: 'device:/dev/tpm0' } })).unit;
    expect(tcti).toMatch(/^DeviceAllow=\/dev\/tpm0 rw$/m);
    expect(tcti).not.toMatch(/tpmrm0/);
    const sw = unitFor('rpi-4b', JSON.stringify({ ...base, attestation: { tpm: 'auto', tcti: 'swtpm:host=127.0.0.1,port=2321' } })).unit;
    expect(sw).not.toMatch(/DeviceAllow=\/dev\/tpm/);
    const audit = unitFor('rpi-4b', JSON.stringify({ ...base, audit: { file: '/var/log/uzp-gateway/audit.jsonl' } })).unit;
    expect(audit).toMatch(/^ReadWritePaths=-\/var\/log\/uzp-gateway$/m);
  });

  it('a DeviceAllow= path with a backslash (a port_path the config accepts) is refused with the fix, not written for systemd to read another way', () => {
    const text = JSON.parse(defaultConfigText(loadBoard('generic-linux'))) as { slots: Record<string, Record<string, unknown>> };
    text.slots['usb-1']!['port_path'] = '/dev/serial/by-id/usb-Acme\\x20Box-if00-port0';
    const config = validateConfigText(JSON.stringify(text), CONFIG_FILE, BOARDS_DIR).config;
    const plan = devicePlan(loadBoard('generic-linux'), config);
    expect(plan.rules.map((r) => r.spec)).toContain('/dev/serial/by-id/usb-Acme\\x20Box-if00-port0');
    expect(() => renderUnit({ node: process.execPath, board: 'generic-linux', swversion: '0.1.0', devices: plan })).toThrow(/port_path of slot .*cannot go into the unit's DeviceAllow=.*by-path/);
  });

  it("a DeviceAllow= path with '%' is written as a literal '%' (%%), not a specifier systemd expands", () => {
    const base = validateConfigText(defaultConfigText(loadBoard('rpi-4b')), CONFIG_FILE, BOARDS_DIR).config;
    const plan = devicePlan(loadBoard('rpi-4b'), base);
    // Before: "DeviceAllow=/dev/tpm%h rw", which systemd reads as /dev/tpm<home directory>.
    const unit = renderUnit({ node: process.execPath, board: 'rpi-4b', swversion: '0.1.0', devices: { ...plan, rules: [...plan.rules, { spec: '/dev/odd%h%%0', why: 'a path with %' }] } });
    expect(unit.match(/^DeviceAllow=\/dev\/odd.*$/gm)).toEqual(['DeviceAllow=/dev/odd%%h%%%%0 rw']);
    const file = join(mkdtempSync(join(tmp, 'unit-pct-')), 'uzp-gateway.service');
    writeFileSync(file, unit);
    const r = spawnSync('systemd-analyze', ['verify', file], { encoding: 'utf8', timeout: 20_000 });
    if (r.error !== undefined) throw new Error(`systemd-analyze is not installed (${r.error.message}); install systemd to verify the generated unit`);
    expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
    expect(`${r.stdout}${r.stderr}`).not.toMatch(/specifier|ignoring|invalid/i);
  });

  it('the config cannot widen the sandbox: a device TCTI names a TPM node, the audit directory is one of its own', () => {
    const base = JSON.parse(defaultConfigText(loadBoard('rpi-4b'))) as Record<string, unknown>;
    // Before: DeviceAllow=/dev/sda rw, DeviceAllow="/dev/tpmrm0 rw (which systemd drops), /dev/mem\ ...
    for (const tcti of ['device:/dev/sda', 'device:"/dev/tpmrm0', 'device:/dev/mem\\', 'device:/dev/tpm%h']) {
      expect(() => validateConfigText(JSON.stringify({ ...base, attestation: { tpm: 'required', tcti } }), CONFIG_FILE, BOARDS_DIR), tcti).toThrow(/a TPM device node/);
    }
    for (const tcti of ['device:/dev/tpm0', 'device:/dev/tpmrm1', 'swtpm:host=127.0.0.1,port=2321']) {
      expect(() => validateConfigText(JSON.stringify({ ...base, attestation: { tpm: 'required', tcti } }), CONFIG_FILE, BOARDS_DIR), tcti).not.toThrow();
    }
    const plan = devicePlan(loadBoard('rpi-4b'), validateConfigText(defaultConfigText(loadBoard('rpi-4b')), CONFIG_FILE, BOARDS_DIR).config);
    // Before: ReadWritePaths=-/ (ProtectSystem=strict undone), -/etc/uzp-gateway (the config and trust
    // files the service must not change), -/opt/uzp-gateway (its own code).
    for (const auditDir of ['/', '/etc', '/etc/uzp-gateway', '/opt', '/opt/uzp-gateway', '/opt/uzp-gateway/logs', '/usr/local/log']) {
      expect(() => renderUnit({ node: process.execPath, board: 'rpi-4b', swversion: '0.1.0', devices: plan, auditDir }), auditDir).toThrow(/would be made writable for the service/);
    }
    expect(renderUnit({ node: process.execPath, board: 'rpi-4b', swversion: '0.1.0', devices: plan, auditDir: '/var/log/uzp-gateway' })).toMatch(/^ReadWritePaths=-\/var\/log\/uzp-gateway$/m);
  });

  it('a path never adds a line to the unit: a config path with a newline is refused, a directory systemd would split or expand is not written', () => {
    const base = JSON.parse(defaultConfigText(loadBoard('rpi-4b'))) as Record<string, unknown>;
    // Before: the newline went into ReadWritePaths= and the next line became a directive (root ExecStartPre=+...).
    const injected = JSON.stringify({ ...base, audit: { file: '/var/log/gw/audit\nExecStartPre=+/bin/touch /tmp/pwned\n.log' } });
    expect(() => validateConfigText(injected, CONFIG_FILE, BOARDS_DIR)).toThrow(/without control characters/);
    for (const dir of ['/var/log/uzp gw', '/var/log/%h', '/var/log/"q"']) {
      expect(() => renderUnit({ node: process.execPath, board: 'rpi-4b', swversion: '0.1.0', devices: devicePlan(loadBoard('rpi-4b'), validateConfigText(defaultConfigText(loadBoard('rpi-4b')), CONFIG_FILE, BOARDS_DIR).config), auditDir: dir })).toThrow(/cannot go into the systemd unit/);
    }
  });
});
