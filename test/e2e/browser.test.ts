// The browser the web console's tests will use (issue #17; test/helpers/browser.ts), against a
// small page served from loopback: it renders, a Server-Sent Events update reaches the DOM within
// 2 s, the keyboard moves focus, a screenshot is written; and the browser cannot reach anything
// but 127.0.0.1 (a name that is not loopback does not resolve).

import { existsSync, statSync } from 'node:fs';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { artifactPath, launchBrowser } from '../helpers/browser.js';

const PAGE = `<!doctype html><html lang="en"><title>probe</title>
<main><h1>Probe</h1><label for="q">Filter</label><input id="q"><button id="b">Go</button>
<p>Last reading: <output id="last">none</output></p></main>
<script>
  const es = new EventSource('/events');
  es.onmessage = (e) => { document.getElementById('last').textContent = e.data; };
</script></html>`;

let server: Server;
let base: string;
let browser: Browser;
const streams = new Set<ServerResponse>();

beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url === '/events') {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' });
      res.write(': open\n\n');
      streams.add(res);
      req.on('close', () => streams.delete(res));
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(PAGE);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  browser = await launchBrowser();
}, 30_000);

afterAll(async () => {
  await browser?.close();
  for (const s of streams) s.end();
  await new Promise((r) => server?.close(r));
});

describe('headless chromium for the console tests', () => {
  it('renders a loopback page; an SSE event reaches the DOM within 2 s; Tab moves focus; a screenshot is written', async () => {
    const page = await browser.newPage();
    await page.goto(`${base}/`);
    expect(await page.textContent('h1')).toBe('Probe');
    // The page's EventSource is connected once the server holds its stream.
    for (let i = 0; i < 50 && streams.size === 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect(streams.size).toBe(1);
    for (const s of streams) s.write('data: rs485-1 temperature 21.5\n\n');
    // Page functions as source text: they run in the browser, where `document` exists.
    await page.waitForFunction("document.getElementById('last')?.textContent === 'rs485-1 temperature 21.5'", undefined, { timeout: 2000 });
    await page.focus('#q');
    await page.keyboard.press('Tab');
    expect(await page.evaluate('document.activeElement?.id')).toBe('b');
    const shot = artifactPath('browser-probe.png');
    await page.screenshot({ path: shot });
    expect(existsSync(shot) && statSync(shot).size > 1000).toBe(true);
    await page.close();
  });

  it('cannot resolve a name that is not loopback', async () => {
    const page = await browser.newPage();
    const err = await page.goto('http://example.com/').then(
      () => undefined,
      (e: Error) => e.message,
    );
    expect(err).toMatch(/ERR_NAME_NOT_RESOLVED/);
    await page.close();
  });
});
