// A small model of a VT100 terminal, enough to read what the demo's live view leaves on screen:
// printable text overwrites at the cursor, CR, LF (scrolling at the bottom row into scrollback),
// cursor up/down (CSI n A / B, clamped to the screen as a terminal does), erase line (CSI 2K) and
// erase to end of line (CSI K). Any other escape sequence is dropped. Lines wrap at `columns`.

export interface Screen {
  /** Scrollback and screen, top to bottom, trailing spaces trimmed. */
  readonly lines: string[];
  /** The last `rows` lines: what is visible now. */
  readonly visible: string[];
  /** Longest line written (in characters); the view keeps it under `columns`. */
  readonly widest: number;
}

export function renderScreen(raw: string, columns: number, rows: number): Screen {
  const lines: string[][] = [[]];
  let top = 0; // index in `lines` of the screen's first row
  let row = 0;
  let col = 0;
  let widest = 0;
  const lineAt = (r: number): string[] => {
    while (lines.length <= r) lines.push([]);
    return lines[r]!;
  };
  const down = (): void => {
    row++;
    lineAt(row);
    if (row - top >= rows) top = row - rows + 1;
  };
  for (let i = 0; i < raw.length; i++) {
    const ch = raw[i]!;
    if (ch === '\x1b') {
      const m = /^\x1b\[([0-9;?]*)([A-Za-z])/.exec(raw.slice(i, i + 16));
      if (m === null) continue;
      i += m[0].length - 1;
      const n = m[1] === '' ? 1 : Number(m[1]!.split(';')[0]);
      if (m[2] === 'A') row = Math.max(top, row - n);
      else if (m[2] === 'B') {
        row = Math.min(top + rows - 1, row + n);
        lineAt(row);
      } else if (m[2] === 'K') {
        const l = lineAt(row);
        if (m[1] === '2') l.length = 0;
        else l.length = Math.min(l.length, col);
      }
      continue;
    }
    if (ch === '\r') col = 0;
    else if (ch === '\n') down();
    else if (ch >= ' ' || ch > '\x7f') {
      if (col >= columns) {
        down();
        col = 0;
      }
      const l = lineAt(row);
      while (l.length < col) l.push(' ');
      l[col++] = ch;
      widest = Math.max(widest, l.length);
    }
  }
  const text = lines.map((l) => l.join('').trimEnd());
  while (text.length > 1 && text.at(-1) === '') text.pop();
  return { lines: text, visible: text.slice(Math.max(0, top), top + rows), widest };
}

export interface SlotLine {
  readonly slot: string;
  readonly count: number;
  /** Seconds since the last reading, as shown; undefined while waiting for the first. */
  readonly age?: number;
  readonly last?: string;
  readonly index: number;
}

/** The live view's slot lines among `lines` (`  rs485-1  th-bus-1  modbus     42 readings    0.3s ago  …`). */
export function slotLines(lines: readonly string[]): SlotLine[] {
  const out: SlotLine[] = [];
  lines.forEach((l, index) => {
    const m = /^ {2}(\S+)\s+\S+\s+(modbus|serial|mqtt)\s+(\d+) readings {2}(?:\s*(\d+\.\d)s ago {2}(.*)|waiting for the first)$/.exec(l);
    if (m === null) return;
    out.push({ slot: m[1]!, count: Number(m[3]), ...(m[4] !== undefined ? { age: Number(m[4]), last: m[5]! } : {}), index });
  });
  return out;
}
