import fc from 'fast-check';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readArtefactFile, writeArtefactFile } from '../../src/files/artefact-file.js';
import { writeFileAtomic } from '../../src/files/fsutil.js';
import { encodeKeyFile, loadKeyFile, parseKeyFile, writeKeyFile } from '../../src/files/keyfile.js';
import { checkKeyDirs } from '../../src/files/key-dirs.js';
import { encodeTrustAnchor, loadTrustAnchor, parseTrustAnchor, writeTrustAnchor } from '../../src/files/trust-anchor.js';
import { toHex } from '../../src/uzp/bytes.js';
import { nodeProvider as provider } from '../../src/uzp/crypto/node.js';
import { identityFromSeed } from '../../src/uzp/identity/identity.js';
import { rmSync } from 'node:fs';
import { codeOf } from '../helpers/errors.js';
import { FileErrorCode } from '../../src/files/errors.js';
import { CodedError } from '../../src/lib/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'uzp-files-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const id = identityFromSeed(provider, new Uint8Array(32).fill(7));
let n = 0;
const fresh = (name = 'k') => join(dir, `${name}-${n++}`);

/** Character-level mutations of a JSON text. */
const mutatedText = (base: string) =>
  fc
    .tuple(
      fc.array(
        fc.record({ pos: fc.nat(), kind: fc.constantFrom('del', 'ins', 'set'), ch: fc.constantFrom('"', '{', '}', ',', ':', '0', 'a', 'F', ' ', '\\', 'é', '\u0000', 'x') }),
        { minLength: 1, maxLength: 4 },
      ),
    )
    .map(([ops]) => {
      let s = base;
      for (const o of ops) {
        const p = s.length === 0 ? 0 : o.pos % s.length;
        s = o.kind === 'del' ? s.slice(0, p) + s.slice(p + 1) : o.kind === 'ins' ? s.slice(0, p) + o.ch + s.slice(p) : s.slice(0, p) + o.ch + s.slice(p + 1);
      }
      return s;
    });

/**
 * Test directories get the group `nogroup` (65534), whose members (nobody and the system users whose
 * primary group it is) are not their owner: group-write there is another user's write. Under root's
 * own group (its sole member root, the owner) group-write is safe, as OpenSSH judges it (key-dirs.ts).
 */
const ROOT = process.geteuid?.() === 0;
function nogroup(...dirs: string[]): void {
  for (const d of dirs) chownSync(d, 0, 65534);
}

describe('key files', () => {
  it('are written with mode 0600 whatever the umask, and load back to the same identity', () => {
    const old = process.umask(0o000);
    try {
      const f = fresh();
      writeKeyFile(f, id);
      expect(statSync(f).mode & 0o777).toBe(0o600);
      const back = loadKeyFile(provider, f);
      expect(toHex(back.cid)).toBe(toHex(id.cid));
      expect(toHex(back.seed)).toBe(toHex(id.seed));
      expect(JSON.parse(readFileSync(f, 'utf8'))).toEqual({ kind: 'uzp-gw/ed25519-secret', seed: toHex(id.seed), public: toHex(id.publicKey), cid: toHex(id.cid) });
    } finally {
      process.umask(old);
    }
  });

  it('refuses group/other permissions with KEY_FILE_PERMISSIONS naming the file and the fix', () => {
    const f = fresh();
    writeKeyFile(f, id);
    for (const mode of [0o644, 0o640, 0o604, 0o660, 0o601]) {
      chmodSync(f, mode);
      try {
        loadKeyFile(provider, f);
        expect.unreachable(`mode ${mode.toString(8)} accepted`);
      } catch (e) {
        expect((e as CodedError).code).toBe(FileErrorCode.KEY_FILE_PERMISSIONS);
        expect((e as Error).message).toContain(f);
        expect((e as Error).message).toContain(`chmod 600 ${f}`);
      }
    }
    chmodSync(f, 0o400);
    expect(codeOf(() => loadKeyFile(provider, f))).toBe('no error');
  });

  it.skipIf(process.geteuid?.() !== 0)('refuses a key another user owns (who could replace it), naming the owner and the fix; root or this user may own it', () => {
    const f = fresh();
    writeKeyFile(f, id);
    chownSync(f, 65534, 65534); // nobody
    try {
      loadKeyFile(provider, f);
      expect.unreachable('a key owned by nobody was accepted');
    } catch (e) {
      expect((e as CodedError).code).toBe(FileErrorCode.KEY_FILE_PERMISSIONS);
      expect((e as Error).message).toContain(`owned by uid 65534, not by this user (uid 0) or root`);
      expect((e as Error).message).toContain(`chown 0 ${f}`);
    }
    chownSync(f, 0, 0);
    expect(codeOf(() => loadKeyFile(provider, f))).toBe('no error');
  });

  it.skipIf(!ROOT)('refuses a key under a directory group or others may write without the sticky bit, at any depth, naming it and the chmod fix', () => {
    const top = fresh('dirs');
    const sub = join(top, 'keys');
    mkdirSync(sub, { recursive: true, mode: 0o700 });
    nogroup(top, sub);
    const f = join(sub, 'k');
    writeKeyFile(f, id);
    const refusal = (): string => {
      try {
        loadKeyFile(provider, f);
      } catch (e) {
        expect((e as CodedError).code).toBe(FileErrorCode.KEY_FILE_PERMISSIONS);
        return (e as Error).message;
      }
      return 'accepted';
    };
    for (const [mode, who] of [
      [0o770, 'group'],
      [0o707, 'others'],
      [0o777, 'group and others'],
    ] as const) {
      chmodSync(sub, mode);
      expect(refusal()).toBe(`${f}: secret key file under ${sub}, which ${who} may write (mode 0${mode.toString(8)}, no sticky bit), so another user could replace the key; fix with: chmod go-w ${sub}`);
    }
    chmodSync(sub, 0o755);
    expect(refusal()).toBe('accepted');
    // Two levels up does it as well: whoever writes `top` can swap `keys` for a directory of its own.
    chmodSync(top, 0o777);
    expect(refusal()).toMatch(new RegExp(`^${f}: secret key file under ${top}, which group and others may write .*chmod go-w ${top}$`));
    // The sticky bit (/tmp's 1777) lets others add names there, not rename or remove ours.
    chmodSync(top, 0o1777);
    chmodSync(sub, 0o1777);
    expect(refusal()).toBe('accepted');
  });

  it.skipIf(!ROOT)('is refused before it is written into such a directory (keygen, pantheon init, first boot), nothing left there', () => {
    const top = fresh('write-dirs');
    const sub = join(top, 'keys');
    mkdirSync(sub, { recursive: true, mode: 0o700 });
    nogroup(top, sub);
    chmodSync(top, 0o777);
    const f = join(sub, 'k');
    expect(() => writeKeyFile(f, id)).toThrow(`${f}: secret key file under ${top}, which group and others may write (mode 0777, no sticky bit), so another user could replace the key; fix with: chmod go-w ${top}`);
    expect(codeOf(() => writeKeyFile(f, id))).toBe(FileErrorCode.KEY_FILE_PERMISSIONS);
    expect(readdirSync(sub)).toEqual([]);
    // Reached through a link: judged where the directory really is too.
    const links = fresh('write-links');
    mkdirSync(links, { mode: 0o700 });
    nogroup(links);
    symlinkSync(sub, join(links, 'keys'));
    expect(() => writeKeyFile(join(links, 'keys', 'k'), id)).toThrow(`secret key file under ${top}, which group and others may write`);
    chmodSync(top, 0o1777);
    writeKeyFile(join(links, 'keys', 'k'), id);
    expect(codeOf(() => loadKeyFile(provider, f))).toBe('no error');
  });

  it.skipIf(!ROOT)('judges a symlinked path by the directories it passes through and by those it leads to', () => {
    const real = fresh('real');
    mkdirSync(join(real, 'keys'), { recursive: true, mode: 0o700 });
    writeKeyFile(join(real, 'keys', 'k'), id);
    const links = fresh('links');
    mkdirSync(links, { mode: 0o700 });
    nogroup(real, join(real, 'keys'), links);
    symlinkSync(join(real, 'keys'), join(links, 'keys'));
    const f = join(links, 'keys', 'k');
    expect(codeOf(() => loadKeyFile(provider, f))).toBe('no error');
    chmodSync(real, 0o777); // where the link leads: someone could replace real/keys
    expect(() => loadKeyFile(provider, f)).toThrow(`secret key file under ${real}, which group and others may write`);
    chmodSync(real, 0o700);
    chmodSync(links, 0o777); // where the link sits: someone could replace the link itself
    expect(() => loadKeyFile(provider, f)).toThrow(`secret key file under ${links}, which group and others may write`);
    chmodSync(links, 0o700);
    // A chain: links/chain -> hops/hop -> real/keys. The directory holding the middle link is on
    // the path too: whoever writes it can point the key anywhere (it was not checked: review).
    const hops = fresh('hops');
    mkdirSync(hops, { mode: 0o700 });
    nogroup(hops);
    symlinkSync(join(real, 'keys'), join(hops, 'hop'));
    symlinkSync(join(hops, 'hop'), join(links, 'chain'));
    const chained = join(links, 'chain', 'k');
    expect(codeOf(() => loadKeyFile(provider, chained))).toBe('no error');
    chmodSync(hops, 0o777);
    expect(() => loadKeyFile(provider, chained)).toThrow(`secret key file under ${hops}, which group and others may write`);
    expect(() => writeKeyFile(join(links, 'chain', 'k2'), id)).toThrow(`secret key file under ${hops}, which group and others may write`);
    chmodSync(hops, 0o700);
    // `..` after a link is the parent of the link's target, as the kernel resolves it.
    expect(codeOf(() => loadKeyFile(provider, join(links, 'chain', '..', 'keys', 'k')))).toBe('no error');
  });

  it('a group-writable directory whose group has one member, its owner, is safe (user private groups, umask 002), as OpenSSH judges it', () => {
    const d = fresh('upg');
    mkdirSync(d, { mode: 0o770 });
    chmodSync(d, 0o770);
    const f = join(d, 'k');
    writeFileSync(f, encodeKeyFile(id), { mode: 0o600 });
    const st = statSync(d);
    const accounts = (passwd: string, group: string): { passwd: string; group: string } => {
      const at = fresh('accounts');
      mkdirSync(at);
      writeFileSync(join(at, 'passwd'), passwd);
      writeFileSync(join(at, 'group'), group);
      return { passwd: join(at, 'passwd'), group: join(at, 'group') };
    };
    const me = process.geteuid!();
    const owner = `owner:x:${st.uid}:${st.gid}::/home/owner:/bin/sh\n`;
    const check = (a: { passwd: string; group: string }): string => {
      try {
        checkKeyDirs(f, me, a);
        return 'accepted';
      } catch (e) {
        return (e as CodedError).code;
      }
    };
    // Its primary group, nobody else in it: safe.
    expect(check(accounts(owner, `owner:x:${st.gid}:\n`))).toBe('accepted');
    // Listed as the group's one member instead: safe.
    expect(check(accounts(`owner:x:${st.uid}:12345::/:/bin/sh\n`, `team:x:${st.gid}:owner\n`))).toBe('accepted');
    // Another member listed, another user whose primary group it is, a group not in the files, a group with no member: not.
    expect(check(accounts(owner, `team:x:${st.gid}:owner,alice\n`))).toBe(FileErrorCode.KEY_FILE_PERMISSIONS);
    expect(check(accounts(`${owner}alice:x:${st.uid + 1}:${st.gid}::/:/bin/sh\n`, `team:x:${st.gid}:\n`))).toBe(FileErrorCode.KEY_FILE_PERMISSIONS);
    expect(check(accounts(owner, 'other:x:4242:\n'))).toBe(FileErrorCode.KEY_FILE_PERMISSIONS);
    expect(check(accounts(`owner:x:${st.uid}:12345::/:/bin/sh\n`, `team:x:${st.gid}:\n`))).toBe(FileErrorCode.KEY_FILE_PERMISSIONS);
    // Others' write is never excused by the group.
    chmodSync(d, 0o772);
    expect(check(accounts(owner, `owner:x:${st.gid}:\n`))).toBe(FileErrorCode.KEY_FILE_PERMISSIONS);
  });

  it.skipIf(process.geteuid?.() !== 0)('refuses a key under a directory another user owns (who could replace it), sticky or not; root or this user may own it', () => {
    const d = fresh('theirs');
    mkdirSync(d, { mode: 0o755 });
    const f = join(d, 'k');
    writeKeyFile(f, id);
    for (const mode of [0o755, 0o1777]) {
      chownSync(d, 65534, 65534); // nobody
      chmodSync(d, mode);
      expect(() => loadKeyFile(provider, f)).toThrow(`${f}: secret key file under ${d}, which uid 65534 owns (not this user, uid 0, nor root), so that user could replace the key; keep the key in a directory you own (or: chown 0 ${d})`);
      expect(codeOf(() => loadKeyFile(provider, f))).toBe(FileErrorCode.KEY_FILE_PERMISSIONS);
    }
    chownSync(d, 0, 0);
    chmodSync(d, 0o755);
    expect(codeOf(() => loadKeyFile(provider, f))).toBe('no error');
  });

  it('never overwrites an existing key file and leaves no temporary files behind', () => {
    const f = fresh();
    writeKeyFile(f, id);
    const before = readFileSync(f, 'utf8');
    expect(codeOf(() => writeKeyFile(f, identityFromSeed(provider, new Uint8Array(32).fill(8))))).toBe(FileErrorCode.FILE_EXISTS);
    expect(readFileSync(f, 'utf8')).toBe(before);
    expect(readdirSync(dir).filter((x) => x.endsWith('.tmp'))).toEqual([]);
  });

  it('missing, oversize, non-regular and inconsistent files get clear typed errors', () => {
    expect(codeOf(() => loadKeyFile(provider, join(dir, 'nope')))).toBe(FileErrorCode.FILE_NOT_FOUND);
    const big = fresh();
    writeFileSync(big, 'x'.repeat(5000), { mode: 0o600 });
    expect(codeOf(() => loadKeyFile(provider, big))).toBe(FileErrorCode.FILE_INVALID);
    const d = fresh('d');
    mkdirSync(d);
    expect(codeOf(() => loadKeyFile(provider, d))).toBe(FileErrorCode.FILE_INVALID);
    const good = JSON.parse(encodeKeyFile(id));
    const other = identityFromSeed(provider, new Uint8Array(32).fill(9));
    for (const bad of [
      { ...good, public: toHex(other.publicKey) },
      { ...good, cid: toHex(other.cid) },
      { ...good, kind: 'uzp-gw/x25519-secret' },
      { ...good, extra: 1 },
      { ...good, seed: 'A' + good.seed.slice(1) },
      { ...good, seed: good.seed.slice(2) },
    ]) {
      expect(codeOf(() => parseKeyFile(provider, JSON.stringify(bad), 'k.json'))).toBe(FileErrorCode.KEY_FILE_INVALID);
    }
    const f = fresh();
    writeFileSync(f, Buffer.from([0xff, 0xfe, 0x7b]), { mode: 0o600 });
    expect(codeOf(() => loadKeyFile(provider, f))).toBe(FileErrorCode.KEY_FILE_INVALID);
  });

  it('10,000 junk and mutated key files: only typed errors', () => {
    const base = encodeKeyFile(id);
    let errors = 0;
    fc.assert(
      fc.property(fc.oneof(mutatedText(base), fc.json(), fc.string({ maxLength: 200 })), (text) => {
        try {
          parseKeyFile(provider, text, 'junk.key');
        } catch (e) {
          expect(e).toBeInstanceOf(CodedError);
          errors++;
        }
      }),
      { numRuns: 10_000 },
    );
    expect(errors).toBeGreaterThan(9_000);
  });
});

describe('trust anchor files', () => {
  it('round-trip and are checked for root_cid = BLAKE3(root_public)', () => {
    const f = fresh('trust');
    const a = { domain: 'plant-7.example', rootPublicKey: id.publicKey, rootCid: id.cid };
    writeTrustAnchor(f, a);
    expect(statSync(f).mode & 0o777).toBe(0o644);
    const back = loadTrustAnchor(provider, f);
    expect(back.domain).toBe('plant-7.example');
    expect(toHex(back.rootCid)).toBe(toHex(id.cid));
    const bad = JSON.parse(encodeTrustAnchor(a));
    bad.root_cid = toHex(new Uint8Array(32));
    expect(codeOf(() => parseTrustAnchor(provider, JSON.stringify(bad), 't.json'))).toBe(FileErrorCode.FILE_INVALID);
    expect(codeOf(() => parseTrustAnchor(provider, JSON.stringify({ ...JSON.parse(encodeTrustAnchor(a)), domain: '' }), 't.json'))).toBe(FileErrorCode.FILE_INVALID);
  });
  it('3,000 junk trust anchors: only typed errors', () => {
    const base = encodeTrustAnchor({ domain: 'd', rootPublicKey: id.publicKey, rootCid: id.cid });
    fc.assert(
      fc.property(fc.oneof(mutatedText(base), fc.json()), (text) => {
        expect(codeOf(() => parseTrustAnchor(provider, text, 't'))).not.toMatch(/^untyped/);
      }),
      { numRuns: 3_000 },
    );
  });
});

describe('artefact files and atomic writes', () => {
  it('artefact files hold raw bytes; reads are capped at 64 KiB', () => {
    const f = fresh('a');
    writeArtefactFile(f, Uint8Array.of(1, 2, 3));
    expect(Array.from(readArtefactFile(f))).toEqual([1, 2, 3]);
    writeArtefactFile(f, Uint8Array.of(4));
    expect(Array.from(readArtefactFile(f))).toEqual([4]);
    const big = fresh('a');
    writeFileSync(big, new Uint8Array(64 * 1024 + 1));
    expect(codeOf(() => readArtefactFile(big))).toBe(FileErrorCode.FILE_INVALID);
    writeFileSync(big, new Uint8Array(64 * 1024));
    expect(readArtefactFile(big).length).toBe(64 * 1024);
    expect(codeOf(() => readArtefactFile(join(dir, 'missing')))).toBe(FileErrorCode.FILE_NOT_FOUND);
  });
  it('writeFileAtomic replaces or refuses, and reports a missing directory as FILE_NOT_FOUND', () => {
    const f = fresh('w');
    writeFileAtomic(f, 'one', { mode: 0o600 });
    expect(codeOf(() => writeFileAtomic(f, 'two', { mode: 0o600 }))).toBe(FileErrorCode.FILE_EXISTS);
    writeFileAtomic(f, 'three', { mode: 0o640, overwrite: true });
    expect(readFileSync(f, 'utf8')).toBe('three');
    expect(statSync(f).mode & 0o777).toBe(0o640);
    expect(codeOf(() => writeFileAtomic(join(dir, 'no', 'such', 'dir'), 'x', { mode: 0o600 }))).toBe(FileErrorCode.FILE_NOT_FOUND);
  });
});
