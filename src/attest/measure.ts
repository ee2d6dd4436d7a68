// Measurements both sides compute the same way: the gateway (Attester) for its evidence, `uzpgw flash`
// for the reference manifest. Keeping them in one place is what makes a fresh flash appraise clean.

import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Board, GatewayConfig, SlotConfig } from '../config/types.js';
import type { CryptoProvider } from '../uzp/crypto/provider.js';
import type { SlotClaims } from './types.js';

/** The bundle this code runs from: the directory holding dist/ (…/dist/attest/measure.js -> …). */
export const RUNNING_BUNDLE_DIR = dirname(dirname(dirname(fileURLToPath(import.meta.url))));

/** What a slot claims about itself from configuration: device id, driver and where it is attached. */
export function slotPort(s: SlotConfig): string {
  const d = s.device;
  if (d.driver === 'mqtt-bridge') return redactUrl(d.broker);
  if (d.driver === 'modbus-poller' && d.transport.kind === 'tcp') return `tcp://${d.transport.host}:${d.transport.port}`;
  return s.port.path ?? s.port.id;
}

function redactUrl(u: string): string {
  try {
    const url = new URL(u);
    url.username = '';
    url.password = '';
    return url.toString().replace(/\/$/, '');
  } catch {
    return u;
  }
}

export function slotClaimsFromConfig(c: GatewayConfig): Record<string, SlotClaims> {
  const out: Record<string, SlotClaims> = {};
  for (const s of c.slots) out[s.id] = { device: s.device.id, driver: s.device.driver, port: slotPort(s) };
  return out;
}

/** BLAKE3-256 of the board profile file as installed. */
export function boardDigest(p: CryptoProvider, board: Board): Uint8Array {
  return p.blake3(new Uint8Array(readFileSync(board.file)));
}

/** BLAKE3-256 of the bundle's package-lock.json; of the empty string for a bundle without one. */
export async function lockfileDigest(p: CryptoProvider, bundleDir: string): Promise<Uint8Array> {
  try {
    return p.blake3(new Uint8Array(await readFile(join(bundleDir, 'package-lock.json'))));
  } catch {
    return p.blake3(new Uint8Array(0));
  }
}

/** swname / swversion from the bundle's package.json. */
export function softwareOf(bundleDir: string): { swname: string; swversion: string } {
  try {
    const pkg = JSON.parse(readFileSync(join(bundleDir, 'package.json'), 'utf8')) as { name?: unknown; version?: unknown };
    return { swname: typeof pkg.name === 'string' ? pkg.name : 'unknown', swversion: typeof pkg.version === 'string' ? pkg.version : '0.0.0' };
  } catch {
    return { swname: 'unknown', swversion: '0.0.0' };
  }
}
