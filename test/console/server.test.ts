// The console's HTTP server (src/console/server.ts) on loopback, over a small in-memory source:
// the page and its headers (CSP, nosniff, ETag), the read-only API and its input checks, the Host
// check that keeps DNS-rebinding pages out, live events over SSE and their bounds (clients, a client
// that stops reading), HTTPS with a token (Bearer, or the cookie `?token=` trades for), and what it
// refuses to serve at all (a non-loopback address without TLS and a token). Plus the CLI's checks
// before any network (src/cli/console-serve.ts).

import { execFileSync } from 'node:child_process';
import { createPrivateKey } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { prepareConsole } from '../../src/cli/console-serve.js';
import { consoleHosts, isLoopback, parseListen } from '../../src/console/address.js';
import type { ConsoleEvent, ConsoleSource, FleetGateway } from '../../src/console/model.js';
import { ConsoleServer } from '../../src/console/server.js';
import { MAX_CLIENTS } from '../../src/console/sse.js';
import { runCli } from '../helpers/cli-run.js';

const CID = 'ab'.repeat(32);
const GW: FleetGateway = { cid: CID, connected: true, verdict: { status: 'pass', reasons: ['12 checks passed'] }, expiries: [], slots: 1, readings: 3 };

class MemorySource implements ConsoleSource {
  readonly role = 'collector';
  fail = false;
  readonly listeners = new Set<(e: ConsoleEvent) => void>();
  slotArgs: unknown[] = [];
  async fleet(): Promise<FleetGateway[]> {
    if (this.fail) throw new Error('database gone: /secret/path');
    return [GW];
  }
  async gateway(cid: string) {
    return cid === CID ? { gateway: GW, slots: [{ slot: 'tty-1', state: 'ok' as const, readings: 3 }] } : undefined;
  }
  async slot(cid: string, slot: string, since: number, limit: number) {
    this.slotArgs = [cid, slot, since, limit];
    return cid === CID && slot === 'tty-1' ? { gateway: CID, row: { slot, state: 'ok' as const, readings: 3 }, points: [], history: 'database' as const } : undefined;
  }
  async audit(limit: number) {
    return Array.from({ length: Math.min(limit, 3) }, (_, i) => ({ at: i, gateway: CID, event: 'grant.refused', refusal: true, text: `n${i}` }));
  }
  subscribe(fn: (e: ConsoleEvent) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }
  emit(e: ConsoleEvent): void {
    for (const l of this.listeners) l(e);
  }
}

const dir = mkdtempSync(join(tmpdir(), 'uzp-console-'));
const servers: ConsoleServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function start(o: Partial<Parameters<typeof ConsoleServer.start>[0]> = {}): Promise<{ server: ConsoleServer; source: MemorySource; errors: unknown[] }> {
  const source = (o.source as MemorySource | undefined) ?? new MemorySource();
  const errors: unknown[] = [];
  const server = await ConsoleServer.start({ source, listen: { host: '127.0.0.1', port: 0 }, onError: (e) => errors.push(e), ...o });
  servers.push(server);
  return { server, source, errors };
}

interface Reply {
  readonly status: number;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
}

function get(base: string, path: string, o: { method?: string; headers?: Record<string, string> } = {}): Promise<Reply> {
  const u = new URL(path, base);
  const req = (u.protocol === 'https:' ? httpsRequest : httpRequest)(u, { method: o.method ?? 'GET', headers: o.headers ?? {}, rejectUnauthorized: false });
  return new Promise((resolve, reject) => {
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('ConsoleServer', () => {
  it('serves the page, its script, styles and uPlot from this machine, with a CSP to its own origin and an ETag', async () => {
    const { server } = await start();
    const page = await get(server.address, '/');
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.body).toMatch(/<script src="\/app.js" type="module">/);
    expect(page.body).not.toMatch(/https?:\/\/(?!127)/);
    expect(page.headers['content-security-policy']).toMatch(/default-src 'self'/);
    expect(page.headers['x-content-type-options']).toBe('nosniff');
    for (const path of ['/app.js', '/app.css', '/uplot.js', '/uplot.css']) {
      const r = await get(server.address, path);
      expect(r.status, path).toBe(200);
      expect(r.body.length).toBeGreaterThan(500);
      const again = await get(server.address, path, { headers: { 'if-none-match': r.headers.etag! } });
      expect(again.status).toBe(304);
    }
    // Small: our own files and uPlot together.
    const sizes = await Promise.all(['/', '/app.js', '/app.css', '/uplot.js', '/uplot.css'].map(async (p) => (await get(server.address, p)).body.length));
    expect(sizes.reduce((a, b) => a + b, 0)).toBeLessThan(150_000);
  });

  it('answers the API from the source, checks its input, and never says why the source failed', async () => {
    const { server, source, errors } = await start();
    expect(JSON.parse((await get(server.address, '/api/fleet')).body)).toEqual([GW]);
    expect(JSON.parse((await get(server.address, '/api/info')).body)).toEqual({ role: 'collector' });
    expect((await get(server.address, `/api/gateway/${CID}`)).status).toBe(200);
    expect((await get(server.address, `/api/gateway/${'cd'.repeat(32)}`)).status).toBe(404);
    for (const bad of ['/api/gateway/xyz', `/api/gateway/${CID}/more`, `/api/slot/${CID}`, `/api/slot/${CID}/..%2F..`, `/api/slot/${CID}/tty-1?since=abc`, `/api/slot/${CID}/tty-1?limit=-1`, `/api/slot/${CID}/tty-1?limit=0`, '/api/audit?limit=0', '/api/audit?limit=1e3', `/api/slot/${CID}/%E0%A4%A`]) {
      expect((await get(server.address, bad)).status, bad).toBe(400);
    }
    expect((await get(server.address, `/api/slot/${CID}/tty-1?since=5&limit=99999999`)).status).toBe(200);
    expect(source.slotArgs).toEqual([CID, 'tty-1', 5, 20_000]);
    expect(JSON.parse((await get(server.address, '/api/audit?limit=2')).body)).toHaveLength(2);
    expect((await get(server.address, '/api/nothing')).status).toBe(404);
    expect((await get(server.address, '/etc/passwd')).status).toBe(404);
    source.fail = true;
    const r = await get(server.address, '/api/fleet');
    expect(r.status).toBe(500);
    expect(r.body).not.toMatch(/secret/);
    expect(errors).toHaveLength(1);
  });

  it('is read-only: anything but GET and HEAD is 405', async () => {
    const { server } = await start();
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']) {
      const r = await get(server.address, '/api/fleet', { method });
      expect(r.status, method).toBe(405);
      expect(r.headers.allow).toBe('GET, HEAD');
    }
    expect((await get(server.address, '/', { method: 'HEAD' })).status).toBe(200);
  });

  it('without a token, answers only requests addressed to its loopback address (DNS rebinding is refused)', async () => {
    const { server } = await start();
    const port = new URL(server.address).port;
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`]) expect((await get(server.address, '/api/fleet', { headers: { host } })).status, host).toBe(200);
    for (const host of [`evil.example:${port}`, 'evil.example', `127.0.0.1:${Number(port) + 1}`]) expect((await get(server.address, '/api/fleet', { headers: { host } })).status, host).toBe(421);
    // Not the scheme's default port: a Host without one names port 80, another origin.
    for (const host of ['127.0.0.1', 'localhost']) expect((await get(server.address, '/api/fleet', { headers: { host } })).status, host).toBe(421);
  });

  it('streams the source\'s events over SSE to every open view', async () => {
    const { server, source } = await start();
    const streams = await Promise.all([0, 1].map(() => openStream(server.address)));
    await until(() => server.hub.size === 2);
    source.emit({ t: 'audit', line: { at: 1, gateway: CID, event: 'grant.refused', refusal: true, text: 'no' } });
    for (const s of streams) {
      await until(() => s.text().includes('grant.refused'));
      expect(s.text()).toMatch(/^retry: 1000\n/);
      s.close();
    }
    await until(() => server.hub.size === 0);
  });

  it(`takes at most ${MAX_CLIENTS} streams (503 beyond), and drops a client that stops reading instead of queueing for it`, async () => {
    const { server, source } = await start();
    const streams = await Promise.all(Array.from({ length: MAX_CLIENTS }, () => openStream(server.address)));
    await until(() => server.hub.size === MAX_CLIENTS);
    expect((await get(server.address, '/api/events')).status).toBe(503);
    for (const s of streams.slice(1)) s.close();
    await until(() => server.hub.size === 1);
    // The one left never reads: its socket buffers fill, then the hub lets it go.
    const stalled = streams[0]!;
    stalled.pause();
    const big = 'x'.repeat(64 * 1024);
    for (let i = 0; i < 400 && server.hub.size > 0; i++) {
      source.emit({ t: 'audit', line: { at: i, gateway: CID, event: 'e', refusal: false, text: big } });
      await new Promise((r) => setImmediate(r));
    }
    expect(server.hub.size).toBe(0);
    expect(server.hub.dropped).toBe(1);
    stalled.close();
  });

  it('a client that reads takes a 2 MiB burst written in one turn whole, and stays', async () => {
    const { server, source } = await start();
    const stream = await openStream(server.address);
    await until(() => server.hub.size === 1);
    // Before: judged at once, the burst put the socket over 1 MiB and the client was dropped.
    const text = 'y'.repeat(400);
    for (let i = 0; i < 4096; i++) source.emit({ t: 'audit', line: { at: i, gateway: CID, event: 'burst', refusal: false, text } });
    await until(() => (stream.text().match(/"event":"burst"/g) ?? []).length === 4096);
    expect([server.hub.size, server.hub.dropped]).toEqual([1, 0]);
    stream.close();
  });

  it('refuses to serve a non-loopback address without TLS and a token', async () => {
    await expect(ConsoleServer.start({ source: new MemorySource(), listen: { host: '0.0.0.0', port: 0 } })).rejects.toMatchObject({ code: 'UI_ADDRESS' });
  });

  it('a taken port is a clear UI_LISTEN error', async () => {
    const { server } = await start();
    const port = Number(new URL(server.address).port);
    await expect(ConsoleServer.start({ source: new MemorySource(), listen: { host: '127.0.0.1', port } })).rejects.toMatchObject({ code: 'UI_LISTEN', message: expect.stringMatching(/taken/) });
  });

  it('over HTTPS with a token: nothing without it, Bearer works, ?token= becomes a Secure HttpOnly cookie', async () => {
    const [cert, key] = [join(dir, 'cert.pem'), join(dir, 'key.pem')];
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1'], { stdio: 'ignore' });
    const token = 'k'.repeat(40);
    const { server } = await start({ tls: { cert: readFileSync(cert), key: readFileSync(key) }, token });
    expect(server.address).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/$/);
    const none = await get(server.address, '/api/fleet');
    expect(none.status).toBe(401);
    expect(none.body).toMatch(/token/);
    expect((await get(server.address, '/', { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
    expect((await get(server.address, '/api/fleet', { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    const login = await get(server.address, `/?token=${token}`);
    expect(login.status).toBe(303);
    expect(login.headers.location).toBe('/');
    const cookie = login.headers['set-cookie']![0]!;
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/Secure/);
    expect(cookie).toMatch(/SameSite=Strict/);
    expect((await get(server.address, '/api/fleet', { headers: { cookie: cookie.split(';')[0]! } })).status).toBe(200);
    // A malformed cookie is no token (401), not a server error logged at error level.
    expect((await get(server.address, '/api/fleet', { headers: { cookie: 'uzp_console=%ZZ' } })).status).toBe(401);
  });
});

describe('listen addresses and the CLI checks before any network', () => {
  it.each([
    ['127.0.0.1:8470', '127.0.0.1', 8470],
    ['[::1]:0', '::1', 0],
    ['localhost:1', 'localhost', 1],
    ['10.1.2.3:443', '10.1.2.3', 443],
  ])('parses %s', (text, host, port) => {
    expect(parseListen(text, '--ui')).toEqual({ host, port });
  });

  it.each(['8470', ':8470', '127.0.0.1:', '127.0.0.1:65536', '127.0.0.1:http', 'example.com:80', 'a'.repeat(300)])('refuses %s with UI_ADDRESS', (text) => {
    expect(() => parseListen(text, '--ui')).toThrow(expect.objectContaining({ code: 'UI_ADDRESS' }));
  });

  it("a Host without a port is this console's only on the scheme's default port (browsers leave 80 and 443 out)", () => {
    // Before: only HOST:PORT was accepted, so a console on port 80 answered every browser with 421.
    const http80 = consoleHosts('127.0.0.1', 80, false);
    for (const h of ['127.0.0.1', 'localhost', '[::1]', '127.0.0.1:80', 'localhost:80']) expect(http80.has(h), h).toBe(true);
    const https443 = consoleHosts('::1', 443, true);
    for (const h of ['[::1]', 'localhost', '127.0.0.1', '[::1]:443']) expect(https443.has(h), h).toBe(true);
    // Another port, or the other scheme's default: the port must be said.
    for (const [hosts, h] of [
      [consoleHosts('127.0.0.1', 8470, false), '127.0.0.1'],
      [consoleHosts('127.0.0.1', 443, false), 'localhost'],
      [consoleHosts('127.0.0.1', 80, true), '127.0.0.1'],
      [http80, 'evil.example'],
      [http80, '127.0.0.1:8080'],
    ] as const) expect(hosts.has(h), h).toBe(false);
    // Off loopback (TLS and a token then) only the address itself and localhost.
    expect([...consoleHosts('10.1.2.3', 443, true)].sort()).toEqual(['10.1.2.3', '10.1.2.3:443', 'localhost', 'localhost:443']);
  });

  it('knows loopback', () => {
    for (const h of ['127.0.0.1', '127.9.9.9', '::1', 'localhost']) expect(isLoopback(h), h).toBe(true);
    for (const h of ['0.0.0.0', '10.0.0.1', '::', '128.0.0.1', '::ffff:127.0.0.1']) expect(isLoopback(h), h).toBe(false);
  });

  it('a non-loopback --ui needs TLS and a token; the operator console is loopback only; a short token is refused', () => {
    expect(() => prepareConsole('0.0.0.0:8470', '--ui', {}, false)).toThrow(/not loopback.*--ui-tls-cert/);
    expect(() => prepareConsole('0.0.0.0:8470', '--listen', {}, true)).toThrow(/operator's console serves this workstation only/);
    expect(() => prepareConsole('127.0.0.1:0', '--ui', { 'ui-tls-cert': 'c.pem' }, false)).toThrow(/go together/);
    const short = join(dir, 'short.token');
    writeFileSync(short, 'abc\n');
    expect(() => prepareConsole('127.0.0.1:0', '--ui', { 'ui-token-file': short }, false)).toThrow(expect.objectContaining({ code: 'UI_SECRET' }));
    expect(() => prepareConsole('127.0.0.1:0', '--ui', { 'ui-token-file': join(dir, 'absent') }, false)).toThrow(expect.objectContaining({ code: 'UI_SECRET' }));
    const good = join(dir, 'good.token');
    writeFileSync(good, `${'Z'.repeat(43)}\n`);
    expect(prepareConsole('127.0.0.1:0', '--ui', { 'ui-token-file': good }, false)).toEqual({ listen: { host: '127.0.0.1', port: 0 }, token: 'Z'.repeat(43) });
  });

  // Before: prepareConsole read the files without checking them, and the collector died at
  // createServer with "unexpected error: Error: error:05800074:x509 certificate routines::key values
  // mismatch" and a stack.
  it('a TLS key of another certificate, a junk or empty file, or the two swapped: UI_SECRET naming the file and the fix', async () => {
    const pem = (name: string): { cert: string; key: string } => {
      const [cert, key] = [join(dir, `${name}.crt`), join(dir, `${name}.key`)];
      execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1'], { stdio: 'ignore' });
      return { cert, key };
    };
    const a = pem('a');
    const b = pem('b');
    const [junk, empty] = [join(dir, 'junk.pem'), join(dir, 'empty.pem')];
    writeFileSync(junk, 'not a certificate\n');
    writeFileSync(empty, '');
    const tls = (cert: string, key: string) => () => prepareConsole('127.0.0.1:0', '--ui', { 'ui-tls-cert': cert, 'ui-tls-key': key }, false);
    expect(tls(a.cert, a.key)().tls).toBeDefined();
    const secret = (message: RegExp) => expect.objectContaining({ code: 'UI_SECRET', message: expect.stringMatching(message) });
    expect(tls(a.cert, b.key)).toThrow(secret(/--ui-tls-key .*b\.key is not the private key of the certificate in --ui-tls-cert .*a\.crt; give the key .*\(OpenSSL: key values mismatch\)$/));
    expect(tls(a.key, a.cert)).toThrow(secret(/--ui-tls-cert .*a\.key: not a PEM certificate chain .*are --ui-tls-cert and --ui-tls-key swapped\?/));
    for (const bad of [junk, empty]) {
      expect(tls(bad, a.key)).toThrow(secret(new RegExp(`--ui-tls-cert ${bad}: not a PEM certificate chain .*give the certificate file`)));
      expect(tls(a.cert, bad)).toThrow(secret(new RegExp(`--ui-tls-key ${bad}: not an unencrypted PEM private key .*give the key file`)));
    }
    // As `uzpgw collector` says it: one line with the code, exit 1, before the config is read.
    const token = join(dir, 'tls.token');
    writeFileSync(token, `${'T'.repeat(43)}\n`);
    const r = await runCli('collector', '--config', join(dir, 'absent.json'), '--ui', '127.0.0.1:0', '--ui-tls-cert', a.cert, '--ui-tls-key', b.key, '--ui-token-file', token);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^uzpgw collector: --ui-tls-key .*b\.key is not the private key of the certificate in --ui-tls-cert .*a\.crt.* \[UI_SECRET\]\n$/);
  });

  // Before: createSecureContext({cert, key}) was the only check that the two belong together, and
  // OpenSSL compares them only when they are of one algorithm: an RSA certificate with an EC key,
  // or a chain file that starts with the intermediate, passed; the console started and every
  // handshake failed. The first certificate in the file (the one the server presents) is now
  // checked against the key, and every usual way of writing a good pair still passes.
  it('the first certificate in --ui-tls-cert must be the key\'s, whatever the algorithms; chains, key formats and combined files pass', () => {
    const d = mkdtempSync(join(dir, 'pairs-'));
    const at = (name: string) => join(d, name);
    const ssl = (...args: string[]) => execFileSync('openssl', args, { stdio: ['ignore', 'pipe', 'ignore'] }).toString('latin1');
    const self = (name: string, alg: string[], ca?: string) => {
      ssl('req', '-x509', ...alg, '-nodes', '-keyout', at(`${name}.key`), '-out', at(`${name}.crt`), '-days', '1', '-subj', `/CN=${name}`, ...(ca !== undefined ? ['-CA', at(`${ca}.crt`), '-CAkey', at(`${ca}.key`)] : []));
      return { cert: at(`${name}.crt`), key: at(`${name}.key`) };
    };
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'];
    self('ca', ec);
    self('int', ec, 'ca');
    const leaf = self('leaf', ec, 'int');
    const rsa = self('rsa', ['-newkey', 'rsa:2048']);
    const ed = self('ed', ['-newkey', 'ed25519']);
    const [leafPem, intPem, leafKeyPem] = [readFileSync(leaf.cert, 'latin1'), readFileSync(at('int.crt'), 'latin1'), readFileSync(leaf.key, 'latin1')];
    const write = (name: string, text: string) => (writeFileSync(at(name), text), at(name));
    const chain = write('chain.crt', leafPem + intPem);
    const reversed = write('reversed.crt', intPem + leafPem);
    const crlf = write('crlf.crt', (leafPem + intPem).replace(/\n/g, '\r\n'));
    const keyFirst = write('key-first.pem', leafKeyPem + leafPem + intPem);
    const certFirst = write('cert-first.pem', leafPem + intPem + leafKeyPem);
    const leafKey = createPrivateKey(leafKeyPem);
    const sec1WithParams = write('sec1.key', ssl('ecparam', '-name', 'prime256v1') + leafKey.export({ type: 'sec1', format: 'pem' }).toString());
    const rsaPkcs1 = write('rsa1.key', createPrivateKey(readFileSync(rsa.key)).export({ type: 'pkcs1', format: 'pem' }).toString());
    const encrypted = write('enc.key', leafKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'secret' }).toString());
    expect(readFileSync(leaf.key, 'latin1')).toMatch(/^-----BEGIN PRIVATE KEY-----/); // PKCS8 as openssl writes it

    const tls = (cert: string, key: string) => () => prepareConsole('127.0.0.1:0', '--ui', { 'ui-tls-cert': cert, 'ui-tls-key': key }, false);
    for (const [cert, key] of [[leaf.cert, leaf.key], [chain, leaf.key], [crlf, leaf.key], [chain, sec1WithParams], [keyFirst, keyFirst], [certFirst, certFirst], [rsa.cert, rsa.key], [rsa.cert, rsaPkcs1], [ed.cert, ed.key]] as const) {
      expect(tls(cert, key)().tls, `${cert} + ${key}`).toBeDefined();
    }
    const secret = (message: RegExp) => expect.objectContaining({ code: 'UI_SECRET', message: expect.stringMatching(message) });
    const mismatch = (cert: string, key: string) => new RegExp(`^--ui-tls-key ${key} is not the private key of the certificate in --ui-tls-cert ${cert}; give the key the certificate was issued for`);
    for (const [cert, key] of [[rsa.cert, leaf.key], [leaf.cert, rsa.key], [ed.cert, rsa.key], [rsa.cert, ed.key], [chain, rsa.key]] as const) {
      expect(tls(cert, key), `${cert} + ${key}`).toThrow(secret(mismatch(cert, key)));
    }
    expect(tls(reversed, leaf.key)).toThrow(secret(new RegExp(`${mismatch(reversed, leaf.key).source}, and put that certificate first in the file, the intermediates after it \\(OpenSSL: key values mismatch\\)$`)));
    // An RSA certificate ahead of the EC leaf: OpenSSL's own check passed this one.
    const rsaFirst = write('rsa-first.crt', readFileSync(rsa.cert, 'latin1') + leafPem);
    expect(tls(rsaFirst, leaf.key)).toThrow(secret(new RegExp(`${mismatch(rsaFirst, leaf.key).source}, and put that certificate first in the file, the intermediates after it$`)));
    expect(tls(chain, encrypted)).toThrow(secret(new RegExp(`^--ui-tls-key ${encrypted}: not an unencrypted PEM private key`)));
  });
});

async function until(f: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!f()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A raw SSE client over a socket (so a test can stop reading it). */
async function openStream(base: string): Promise<{ text: () => string; pause: () => void; close: () => void }> {
  const u = new URL(base);
  const sock = connect(Number(u.port), u.hostname);
  let text = '';
  sock.setEncoding('utf8');
  sock.on('data', (c: string) => (text += c));
  sock.on('error', () => undefined);
  await new Promise((r) => sock.once('connect', r));
  sock.write(`GET /api/events HTTP/1.1\r\nHost: ${u.host}\r\nAccept: text/event-stream\r\n\r\n`);
  await until(() => text.includes('\r\n\r\n'));
  return {
    text: () => text.slice(text.indexOf('\r\n\r\n') + 4).replace(/^[0-9a-f]+\r\n/gm, ''),
    pause: () => sock.pause(),
    close: () => sock.destroy(),
  };
}
