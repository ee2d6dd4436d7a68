// The package entry (`import … from 'uzp-gateway'`): the session API the README shows — outbound
// RN links, endpoints, sessions and channels — with what a program needs around it: identities,
// trust anchors and key files, the suites, and the typed errors. Everything else (gateway, RN,
// drivers, CLI) is run through `uzpgw`, not imported.

export { RnLink, type RnLinkOptions } from './uzp/link/rn-link.js';
export { Endpoint, type EndpointOptions, type ConnectOptions, type IncomingSessionInfo } from './uzp/endpoint.js';
export { Session } from './uzp/session/session.js';
export { Channel } from './uzp/session/channel.js';
export { SUITE_AESGCM, SUITE_CHACHA, SUITE_HYBRID } from './uzp/handshake/suites.js';
export { TrustStore, type TrustStoreOptions } from './uzp/artefacts/trust.js';
export { identityFromSeed, generateIdentity, type Identity } from './uzp/identity/identity.js';
export { cidToString, parseCid } from './uzp/identity/cid.js';
export { getProvider } from './uzp/crypto/index.js';
export type { CryptoProvider } from './uzp/crypto/provider.js';
export { loadKeyFile } from './files/keyfile.js';
export { loadTrustAnchor, type TrustAnchor } from './files/trust-anchor.js';
export { CodedError, isCodedError, CommonCode, type Fault } from './lib/errors.js';
export { ErrorCode } from './uzp/errors.js';
