// The config digest the attestation measures: BLAKE3-256 over the RFC 8785 (JCS) canonical JSON
// of the *validated* config — defaults filled in, profiles resolved into the units that use them,
// keys in file spelling — so two files that mean the same thing (key order, whitespace, an
// explicit default) have one digest, and any change of meaning changes it.
// Paths inside the config's directory appear relative to it, so the digest does not depend on
// where a bundle was unpacked; other paths stay absolute. Board port details are not included
// (the board file is part of the installed bundle, measured on its own); the board id is.

import { isAbsolute, relative } from 'node:path';
import { toHex } from '../uzp/bytes.js';
import type { CryptoProvider } from '../uzp/crypto/provider.js';
import { nodeProvider } from '../uzp/crypto/node.js';
import type { DeviceConfig, GatewayConfig, RegisterDef, RegisterSpec, SerialParams } from './types.js';

const DIGEST_KIND = 'uzp-gw/gateway-config-digest/1';

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** RFC 8785 JSON Canonicalization Scheme: sorted keys (UTF-16 order), ECMAScript number and string forms. */
export function jcs(v: Json): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(jcs).join(',')}]`;
  const keys = Object.keys(v).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${jcs(v[k]!)}`).join(',')}}`;
}

function opt<T extends Json>(k: string, v: T | undefined): { [k: string]: Json } {
  return v === undefined ? {} : { [k]: v };
}

function serial(s: SerialParams): Json {
  return { baud: s.baudRate, data_bits: s.dataBits, parity: s.parity, stop_bits: s.stopBits };
}

function register(r: RegisterDef | RegisterSpec): Json {
  return {
    name: r.name,
    table: r.table,
    address: r.address,
    count: r.count,
    type: r.type,
    scale: r.scale,
    offset: r.offset,
    ...opt('unit', r.unit),
    byte_order: r.byteOrder,
    word_order: r.wordOrder,
    ...opt('poll_interval_ms', r.pollIntervalMs),
    ...opt('description', r.description),
  };
}

function device(d: DeviceConfig, rel: (p: string) => string): Json {
  const base = { id: d.id, driver: d.driver, ...opt('description', d.description) };
  switch (d.driver) {
    case 'modbus-poller':
      return {
        ...base,
        ...(d.transport.kind === 'rtu' ? { serial: serial(d.transport.serial), tcp_unit_0: d.tcpUnit0 ?? 'refuse' } : { tcp: { host: d.transport.host, port: d.transport.port } }),
        timeout_ms: d.timeoutMs,
        ...opt('turnaround_ms', d.turnaroundMs),
        ...opt('inter_request_delay_ms', d.interRequestDelayMs),
        poll_interval_ms: d.pollIntervalMs,
        queue_limit: d.queueLimit,
        units: d.units.map((u) => ({ unit: u.unit, ...opt('name', u.name), ...opt('profile', u.profile), timeout_ms: u.timeoutMs, registers: u.registers.map(register) })),
      };
    case 'serial-line':
      return { ...base, serial: serial(d.serial), delimiter: d.delimiter, max_line_bytes: d.maxLineBytes, encoding: d.encoding };
    case 'serial-raw':
      return { ...base, serial: serial(d.serial), max_buffer_bytes: d.maxBufferBytes, idle_flush_ms: d.idleFlushMs };
    case 'mqtt-bridge':
      return {
        ...base,
        broker: d.broker,
        ...opt('client_id', d.clientId),
        ...opt('username', d.username),
        ...opt('password_file', d.passwordFile === undefined ? undefined : rel(d.passwordFile)),
        ...opt('ca_file', d.caFile === undefined ? undefined : rel(d.caFile)),
        subscribe: [...d.subscribe],
        publish: [...d.publish],
        qos: d.qos,
        max_inflight: d.maxInflight,
        max_queue: d.maxQueue,
        max_payload_bytes: d.maxPayloadBytes,
        keepalive_s: d.keepaliveS,
        clean_session: d.cleanSession,
      };
  }
}

/** The document the digest covers (also printed by `uzpgw slots check --json`). */
export function canonicalConfig(c: GatewayConfig): Json {
  const rel = (p: string): string => {
    const r = relative(c.dir, p);
    return r === '' ? '.' : r.startsWith('..') || isAbsolute(r) ? p : r;
  };
  return {
    kind: DIGEST_KIND,
    ...opt('name', c.name),
    identity: { key: rel(c.identity.key), pcert: rel(c.identity.pcert) },
    trust: { anchor: rel(c.trust.anchor), rn_set: rel(c.trust.rnSet), revocations: c.trust.revocations.map(rel) },
    board: c.board,
    ...opt('virtual_dir', c.virtualDir === undefined ? undefined : rel(c.virtualDir)),
    audit: { ...opt('file', c.audit.file === undefined ? undefined : rel(c.audit.file)), level: c.audit.level },
    attestation: { tpm: c.attestation.tpm, ...opt('tcti', c.attestation.tcti), debug: c.attestation.debug },
    slots: Object.fromEntries(c.slots.map((s) => [s.id, { ...opt('label', s.label), port: s.port.id, ...opt('port_path', s.portPath), device: device(s.device, rel) }])),
  };
}

/** BLAKE3-256 of the canonical config JSON (UTF-8). */
export function configDigest(c: GatewayConfig, provider: CryptoProvider = nodeProvider): Uint8Array {
  return provider.blake3(new TextEncoder().encode(jcs(canonicalConfig(c))), 32);
}

export function configDigestHex(c: GatewayConfig, provider: CryptoProvider = nodeProvider): string {
  return toHex(configDigest(c, provider));
}
