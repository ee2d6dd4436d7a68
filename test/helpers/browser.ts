// A real browser for the web console's tests (issue #17): Debian's chromium, headless, driven by
// playwright-core with its executablePath (playwright's own browser downloads are never used).
// Locked to loopback: every host name resolves to nothing except 127.0.0.1 (--host-resolver-rules),
// and the background traffic a browser makes on its own (updates, sync, metrics, safe browsing) is
// off, so a test never reaches an address outside 127.0.0.0/8. Screenshots go to test-artifacts/
// (git-ignored), for a person to look at after a run. Installed by scripts/ensure-system-packages.sh.

import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';

export const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/', import.meta.url));

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser'];

/** The chromium binary, or undefined when it is not installed. */
export function chromiumPath(): string | undefined {
  return CANDIDATES.find((p) => existsSync(p));
}

const LOOPBACK_ONLY = [
  '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-default-apps',
  '--disable-domain-reliability',
  '--disable-client-side-phishing-detection',
  '--metrics-recording-only',
  '--no-first-run',
  '--no-default-browser-check',
  '--no-pings',
];

/** Launches headless chromium (no sandbox when running as root, as in CI containers). */
export async function launchBrowser(): Promise<Browser> {
  const executablePath = chromiumPath();
  if (executablePath === undefined) throw new Error('chromium not found (scripts/ensure-system-packages.sh installs Debian\'s chromium)');
  const root = process.getuid?.() === 0;
  return chromium.launch({ executablePath, headless: true, args: [...LOOPBACK_ONLY, ...(root ? ['--no-sandbox'] : [])] });
}

/** Where a screenshot named `name` goes (the directory is made). */
export function artifactPath(name: string): string {
  mkdirSync(ARTIFACTS, { recursive: true });
  return join(ARTIFACTS, name);
}
