// Where `uzpgw flash` puts things on the device. Every path here is the path *on the device*;
// target-path.ts inTarget() maps it under the mounted root filesystem being flashed.

/** The installed bundle (dist, boards, package files, production node_modules). */
export const INSTALL_DIR = '/opt/uzp-gateway';
export const CONFIG_DIR = '/etc/uzp-gateway';
export const CONFIG_FILE = '/etc/uzp-gateway/gateway.json';
/** Reference values for verifiers (RFC 9334 §8.3), signed at flash time. */
export const MANIFEST_FILE = '/etc/uzp-gateway/reference-manifest.cbor';
/** The service's only writable place: identity key, enrollment request, PCert (StateDirectory=). */
export const STATE_DIR = '/var/lib/uzp-gateway';
export const SERVICE_USER = 'uzp-gateway';
const UNIT_NAME = 'uzp-gateway.service';
export const UNIT_FILE = `/etc/systemd/system/${UNIT_NAME}`;
/** What `systemctl enable` would create for WantedBy=multi-user.target. */
export const WANTS_LINK = `/etc/systemd/system/multi-user.target.wants/${UNIT_NAME}`;
export const SYSUSERS_FILE = '/usr/lib/sysusers.d/uzp-gateway.conf';
export const TMPFILES_FILE = '/usr/lib/tmpfiles.d/uzp-gateway.conf';
/** The Node runtime flash installs with the bundle (src/flash/runtime.ts); --node replaces it. */
export const RUNTIME_NODE = `${INSTALL_DIR}/runtime/bin/node`;
/** The CLI entry inside the installed bundle. */
export const CLI_ENTRY = `${INSTALL_DIR}/dist/cli/main.js`;
/** Name of the enrollment request first-boot writes next to the identity key. */
export const ENROLL_REQUEST_NAME = 'enroll-request.json';
