// The shared parse (node:util parseArgs, strict) and the generated help, on a made-up definition.

import { describe, expect, it } from 'vitest';
import { parseFlags, wantsHelp, type Flags } from '../../src/cli/flags.js';
import { optionsSection, usageLines } from '../../src/cli/help.js';
import { CommonCode, LocalError } from '../../src/lib/errors.js';

const FLAGS = {
  config: { type: 'string', placeholder: 'FILE', required: true, describe: 'the config' },
  level: { type: 'string', placeholder: 'L', choices: ['low', 'high'], default: 'low', describe: 'how loud' },
  tag: { type: 'list', placeholder: 'T', describe: 'a tag' },
  count: { type: 'int', placeholder: 'N', min: 1, max: 10, default: 3, describe: 'how many' },
  nonce: { type: 'int', placeholder: 'N', describe: 'any whole number' },
  dry: { type: 'boolean', describe: 'write nothing' },
} as const satisfies Flags;

const parse = (...argv: string[]) => parseFlags(argv, FLAGS, ['FILE'], 'see `uzpgw x --help`');

function usageMessage(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(LocalError);
    expect((e as LocalError).code).toBe(CommonCode.USAGE);
    expect((e as LocalError).message).not.toContain('\n');
    return (e as LocalError).message;
  }
  throw new Error('expected a usage error');
}

describe('parseFlags', () => {
  it('types values from the definition, with defaults, repeats and positionals in any order', () => {
    const p = parse('--tag', 'a', 'in.bin', '--config=c.json', '--tag', 'b', '--dry', '--nonce', '0');
    expect(p.args).toEqual(['in.bin']);
    expect(p.flags).toEqual({ json: false, config: 'c.json', level: 'low', tag: ['a', 'b'], count: 3, nonce: 0, dry: true });
    const q = parse('--config', 'c', '--level', 'high', '--count', '10', '--json', '--', '--dry');
    expect(q.args).toEqual(['--dry']);
    expect(q.flags).toMatchObject({ level: 'high', count: 10, json: true, dry: false, tag: [], nonce: undefined });
  });

  it('refuses with one-line USAGE errors naming the flag', () => {
    const cases: [string[], string][] = [
      [['f', '--config', 'c', '--bogus'], 'unknown option --bogus (see `uzpgw x --help`)'],
      [['f', '--config', 'c', '-q'], 'unknown option -q (see `uzpgw x --help`)'],
      [['f', '--config'], '--config needs a value'],
      [['f', '--config', '--dry'], '--config needs a value'],
      [['f', '--config', 'c', '--dry=yes'], '--dry takes no value'],
      [['f', '--config', 'a', '--config', 'b'], '--config given twice'],
      [['f', '--config', 'c', '--count', '2', '--count', '3'], '--count given twice'],
      [['f', '--config', 'c', '--count', 'lots'], '--count: expected a whole number, got "lots"'],
      [['f', '--config', 'c', '--count', '-1'], '--count needs a value'],
      [['f', '--config', 'c', '--count', '1.5'], '--count: expected a whole number, got "1.5"'],
      [['f', '--config', 'c', '--count', '11'], '--count: expected 1..10, got 11'],
      [['f', '--config', 'c', '--count', '0'], '--count: expected 1..10, got 0'],
      [['f', '--config', 'c', '--level', 'mid'], '--level: expected one of low|high, got "mid"'],
      [['f'], '--config is required'],
      [['f', '--config', ''], '--config is required'],
      [['--config', 'c'], 'missing FILE (see `uzpgw x --help`)'],
      [['f', 'g', '--config', 'c'], 'unexpected argument "g" (see `uzpgw x --help`)'],
    ];
    for (const [argv, message] of cases) expect(usageMessage(() => parse(...argv)), argv.join(' ')).toBe(message);
  });

  it('a value starting with a dash is given with =', () => {
    expect(parse('f', '--config=-weird').flags.config).toBe('-weird');
  });

  it('--help and -h count only before --', () => {
    expect(wantsHelp(['--config', 'c', '-h'])).toBe(true);
    expect(wantsHelp(['--help'])).toBe(true);
    expect(wantsHelp(['--', '--help'])).toBe(false);
    expect(wantsHelp(['--helpful'])).toBe(false);
  });
});

describe('generated help', () => {
  it('usage: positionals, required flags, then optional ones, repeats marked, --json last; long lines wrap', () => {
    expect(usageLines('x', FLAGS, ['FILE'])).toEqual(['uzpgw x FILE --config FILE [--level L] [--tag T]... [--count N] [--nonce N] [--dry] [--json]']);
    const many: Flags = Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`flag-${i}`, { type: 'string', placeholder: 'VALUE', describe: '' }]));
    const lines = usageLines('long', many, []);
    expect(lines.length).toBeGreaterThan(1);
    for (const l of lines) expect(('usage: ' + l).length).toBeLessThanOrEqual(100);
    expect(lines.slice(1).every((l) => l.startsWith(' '.repeat('uzpgw long '.length)))).toBe(true);
    expect(lines.join(' ').replace(/\s+/g, ' ')).toContain('[--flag-11 VALUE] [--json]');
  });

  it('options: placeholder, description with choices, range, repeatability and default; then --json and --help', () => {
    const text = optionsSection(FLAGS, 'one JSON object').join('\n');
    expect(text).toContain('\n  --config FILE    the config\n');
    expect(text).toContain('\n  --level L        how loud (low|high; default low)\n');
    expect(text).toContain('\n  --count N        how many (1..10; default 3)\n');
    expect(text).toContain('\n  --tag T          a tag (repeatable)\n');
    expect(text).toContain('\n  --nonce N        any whole number\n');
    expect(text).toMatch(/--json +one JSON object\n {2}--help +show this help$/);
  });
});
