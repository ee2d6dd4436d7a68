// Every field of every profile vector file is either named as in docs/PROFILE.md or listed in
// test/vectors/field-names.json (a different wire name, or vector bookkeeping), and every error or
// refusal code a vector expects is defined in docs/PROFILE.md. An implementer working from the
// document and the vectors alone never meets a name the document does not explain.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const read = (rel: string): string => readFileSync(new URL(rel, import.meta.url), 'utf8');
const PROFILE = read('../../docs/PROFILE.md');
const MAP = JSON.parse(read('../vectors/field-names.json')) as { all: Record<string, string>; files: Record<string, Record<string, string>> };
const FILES = ['artefacts.json', 'link.json', 'blocks.json', 'handshake.json', 'hil.json', 'publish.json', 'publish-messages.json', 'fabric.json', 'zero-rtt.json'];

/** Identifiers the document names: everything inside inline code spans and fenced code blocks. */
function documentNames(md: string): Set<string> {
  const names = new Set<string>();
  const words = (s: string): void => void s.match(/[A-Za-z_][A-Za-z0-9_]*/g)?.forEach((w) => names.add(w));
  for (const block of md.match(/```[\s\S]*?```/g) ?? []) words(block);
  for (const line of md.replace(/```[\s\S]*?```/g, '').split('\n')) for (const span of line.match(/`[^`]*`/g) ?? []) words(span);
  return names;
}
const NAMES = documentNames(PROFILE);

function keysOf(v: unknown, out = new Set<string>()): Set<string> {
  if (Array.isArray(v)) for (const x of v) keysOf(x, out);
  else if (v !== null && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) {
      out.add(k);
      keysOf(x, out);
    }
  }
  return out;
}

const vectors = Object.fromEntries(FILES.map((f) => [f, JSON.parse(read(`../vectors/${f}`)) as unknown]));

describe('vector field names (test/vectors/field-names.json)', () => {
  it.each(FILES)('%s: every field is a name of docs/PROFILE.md or listed in field-names.json', (f) => {
    const listed = { ...MAP.all, ...MAP.files[f] };
    const unexplained = [...keysOf(vectors[f])].filter((k) => listed[k] === undefined && !NAMES.has(k));
    expect(unexplained).toEqual([]);
  });

  it.each(FILES)('%s: no stale entries (every listed field occurs in the file)', (f) => {
    const used = keysOf(vectors[f]);
    expect(Object.keys(MAP.files[f] ?? {}).filter((k) => !used.has(k))).toEqual([]);
  });

  it('every entry of "all" occurs in some file, and every file has a section', () => {
    const used = new Set(FILES.flatMap((f) => [...keysOf(vectors[f])]));
    expect(Object.keys(MAP.all).filter((k) => !used.has(k))).toEqual([]);
    expect(Object.keys(MAP.files).sort()).toEqual([...FILES].sort());
  });

  it('every wire name the mapping gives (a leading `name`) is a name of docs/PROFILE.md', () => {
    const missing: string[] = [];
    for (const section of [MAP.all, ...Object.values(MAP.files)]) {
      for (const [k, v] of Object.entries(section)) {
        const wire = /^`([^`]+)`/.exec(v)?.[1];
        if (wire !== undefined && !wire.split(/[^A-Za-z0-9_]+/).filter(Boolean).every((w) => NAMES.has(w))) missing.push(`${k} -> ${wire}`);
      }
    }
    expect(missing).toEqual([]);
  });
});

describe('codes the vectors expect are defined in docs/PROFILE.md', () => {
  const decodingTable = PROFILE.slice(PROFILE.indexOf('### Decoding errors'), PROFILE.indexOf('## Layers at a glance') > PROFILE.indexOf('### Decoding errors') ? PROFILE.indexOf('## Layers at a glance') : undefined);
  const refusalTable = PROFILE.slice(PROFILE.indexOf('**Refusal codes**'), PROFILE.indexOf('### Numbers'));

  it('every decoding error code of blocks.json and hil.json is in the "Decoding errors" table', () => {
    const b = vectors['blocks.json'] as { bad_frames: { code: string }[]; bad_acks: { code: string }[] };
    const h = vectors['hil.json'] as { bad_numbers: { code: string }[] };
    const codes = new Set([...b.bad_frames, ...b.bad_acks, ...h.bad_numbers].map((v) => v.code));
    expect(codes.size).toBeGreaterThan(3);
    for (const c of codes) expect(decodingTable, c).toContain(`| \`${c}\` |`);
  });

  it('every refusal code of hil.json is in the HIL refusal code table', () => {
    const h = vectors['hil.json'] as { messages: { message: { t: string; code?: string; refused?: string } }[] };
    const codes = h.messages.flatMap((m) => [m.message.code, m.message.refused]).filter((c): c is string => c !== undefined);
    expect(codes).toContain('BAD_MESSAGE');
    expect(codes).toContain('NOT_OPEN');
    for (const c of codes) expect(refusalTable, c).toContain(`\`${c}\``);
  });

  type PublishMessages = { [k in 'messages' | 'hil_messages']: { message: { t: string; code?: string } }[] } & { [k in 'bad_messages' | 'hil_bad_messages']: { code: string }[] };
  const pm = (): PublishMessages => vectors['publish-messages.json'] as PublishMessages;

  it('every decoding error code of publish-messages.json is in the "Decoding errors" table', () => {
    const codes = new Set([...pm().bad_messages, ...pm().hil_bad_messages].map((v) => v.code));
    expect(codes.size).toBeGreaterThan(3);
    for (const c of codes) expect(decodingTable, c).toContain(`| \`${c}\` |`);
  });

  it('every refusal code of publish-messages.json is in its table: §Publishing for the publish channel, §HIL for HIL', () => {
    const publishTable = PROFILE.slice(PROFILE.indexOf('### Refusal codes (`refused.code`)'), PROFILE.indexOf('### What each side does with what it did not expect'));
    expect(publishTable.length).toBeGreaterThan(100);
    const refusals = (list: PublishMessages['messages']): string[] => list.filter((m) => m.message.t === 'refused').map((m) => m.message.code!);
    expect(refusals(pm().messages).length).toBeGreaterThan(0);
    for (const c of refusals(pm().messages)) expect(publishTable, c).toContain(`\`${c}\``);
    expect(refusals(pm().hil_messages)).toEqual(['HISTORY_UNAVAILABLE']);
    for (const c of refusals(pm().hil_messages)) expect(refusalTable, c).toContain(`\`${c}\``);
  });
});
