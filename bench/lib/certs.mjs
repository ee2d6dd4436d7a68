// Throwaway Ed25519 PKI for the TLS 1.3 baseline, made with the `openssl` CLI: one CA, one
// server certificate (SAN DNS:uzp-bench-server) and one client certificate, so the TLS peers
// authenticate each other the way UZP EPs do (both sides prove an Ed25519 identity).

import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const TLS_SERVER_NAME = 'uzp-bench-server';

function openssl(args, cwd) {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

function leaf(dir, name, cn, ext) {
  openssl(['genpkey', '-algorithm', 'ed25519', '-out', `${name}.key`], dir);
  openssl(['req', '-new', '-key', `${name}.key`, '-subj', `/CN=${cn}`, '-out', `${name}.csr`], dir);
  writeFileSync(join(dir, `${name}.ext`), ext);
  openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-extfile', `${name}.ext`, '-out', `${name}.crt`], dir);
  return { key: readFileSync(join(dir, `${name}.key`), 'utf8'), cert: readFileSync(join(dir, `${name}.crt`), 'utf8') };
}

/** Creates the PKI in `dir`; returns PEM strings { ca, server: {key, cert}, client: {key, cert} }. */
export function makeTlsPki(dir) {
  openssl(['genpkey', '-algorithm', 'ed25519', '-out', 'ca.key'], dir);
  openssl(['req', '-x509', '-new', '-key', 'ca.key', '-subj', '/CN=uzp-bench-ca', '-days', '2', '-out', 'ca.crt'], dir);
  const server = leaf(dir, 'server', TLS_SERVER_NAME, `subjectAltName=DNS:${TLS_SERVER_NAME}\nextendedKeyUsage=serverAuth\n`);
  const client = leaf(dir, 'client', 'uzp-bench-client', 'extendedKeyUsage=clientAuth\n');
  return { ca: readFileSync(join(dir, 'ca.crt'), 'utf8'), server, client };
}
