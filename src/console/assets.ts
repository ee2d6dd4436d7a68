// The page's files, read once at start from the installation (web/ next to dist/, flashed with it:
// src/flash/bundle-plan.ts) and uPlot's from its package: served from memory with a strong ETag, so
// the console works offline and nothing comes from a CDN. Small on purpose: a few kB of our own
// plus uPlot (~50 kB minified), no framework and no build step.

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { ConsoleCode, ConsoleError } from './errors.js';

export interface Asset {
  readonly body: Buffer;
  readonly type: string;
  readonly etag: string;
}

const WEB_DIR = fileURLToPath(new URL('../../web/', import.meta.url));

/** URL path -> where it comes from. */
const FILES: readonly (readonly [string, () => string, string])[] = [
  ['/', () => WEB_DIR + 'index.html', 'text/html; charset=utf-8'],
  ['/app.js', () => WEB_DIR + 'app.js', 'text/javascript; charset=utf-8'],
  ['/app.css', () => WEB_DIR + 'app.css', 'text/css; charset=utf-8'],
  ['/uplot.js', () => createRequire(import.meta.url).resolve('uplot/dist/uPlot.iife.min.js'), 'text/javascript; charset=utf-8'],
  ['/uplot.css', () => createRequire(import.meta.url).resolve('uplot/dist/uPlot.min.css'), 'text/css; charset=utf-8'],
];

export function loadAssets(): Map<string, Asset> {
  const out = new Map<string, Asset>();
  for (const [path, file, type] of FILES) {
    let body: Buffer;
    try {
      body = readFileSync(file());
    } catch (e) {
      throw new ConsoleError(ConsoleCode.UI_ASSETS, `the console's page file for ${path} is missing (${(e as Error).message}); reinstall uzp-gateway (web/ and the uplot package ship with it)`, { cause: e });
    }
    out.set(path, { body, type, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` });
  }
  return out;
}
