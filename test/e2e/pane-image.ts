import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';

/**
 * A tmux pane as a person sees it: `capture-pane -e` text, its SGR colours applied to each cell,
 * painted as a grey-scale image (half blocks as two square halves) for a real QR decoder to read.
 */

type Rgb = readonly [number, number, number];

/** A terminal colour theme: the default foreground and background it gives text that sets none. */
export interface Theme {
  name: string;
  fg: Rgb;
  bg: Rgb;
}

export const DARK: Theme = { name: 'dark', fg: [0xd0, 0xcf, 0xcc], bg: [0x17, 0x14, 0x21] };
export const LIGHT: Theme = { name: 'light', fg: [0x17, 0x14, 0x21], bg: [0xff, 0xff, 0xff] };

// xterm's 16 colours; a theme may redefine them, which is why the QR code does not use them.
const ANSI: Rgb[] = [
  [0, 0, 0],
  [205, 0, 0],
  [0, 205, 0],
  [205, 205, 0],
  [0, 0, 238],
  [205, 0, 205],
  [0, 205, 205],
  [229, 229, 229],
  [127, 127, 127],
  [255, 0, 0],
  [0, 255, 0],
  [255, 255, 0],
  [92, 92, 255],
  [255, 0, 255],
  [0, 255, 255],
  [255, 255, 255],
];

/** xterm's 256-colour palette: 16 ANSI, a 6×6×6 cube, 24 greys. */
function palette(n: number): Rgb {
  if (!Number.isInteger(n) || n < 0 || n > 255) throw new Error(`colour index ${n} out of range`);
  if (n < 16) return ANSI[n]!;
  if (n < 232) {
    const level = (v: number): number => (v === 0 ? 0 : 55 + 40 * v);
    const i = n - 16;
    return [level(Math.floor(i / 36)), level(Math.floor(i / 6) % 6), level(i % 6)];
  }
  const grey = 8 + 10 * (n - 232);
  return [grey, grey, grey];
}

type Colour = Rgb | 'default';

interface Pen {
  fg: Colour;
  bg: Colour;
  reverse: boolean;
}

export interface Cell {
  char: string;
  pen: Pen;
}

/** Applies one SGR sequence's parameters; anything this parser does not know is an error, not a guess. */
function applySgr(pen: Pen, params: string): Pen {
  const p = params === '' ? [0] : params.split(';').map((s) => (s === '' ? 0 : Number(s)));
  const next = { ...pen };
  for (let i = 0; i < p.length; i++) {
    const code = p[i]!;
    if (Number.isNaN(code)) throw new Error(`SGR parameter not a number in ${JSON.stringify(params)}`);
    if (code === 0) Object.assign(next, { fg: 'default', bg: 'default', reverse: false });
    else if ([1, 2, 3, 4, 5, 9, 22, 23, 24, 25, 29].includes(code))
      continue; // weight, italic, underline, blink, strike: no colour change
    else if (code === 7) next.reverse = true;
    else if (code === 27) next.reverse = false;
    else if (code >= 30 && code <= 37) next.fg = ANSI[code - 30]!;
    else if (code >= 90 && code <= 97) next.fg = ANSI[code - 90 + 8]!;
    else if (code === 39) next.fg = 'default';
    else if (code >= 40 && code <= 47) next.bg = ANSI[code - 40]!;
    else if (code >= 100 && code <= 107) next.bg = ANSI[code - 100 + 8]!;
    else if (code === 49) next.bg = 'default';
    else if (code === 38 || code === 48) {
      let colour: Rgb;
      if (p[i + 1] === 5 && p.length > i + 2) {
        colour = palette(p[i + 2]!);
        i += 2;
      } else if (p[i + 1] === 2 && p.length > i + 4) {
        colour = [p[i + 2]!, p[i + 3]!, p[i + 4]!];
        if (colour.some((v) => v < 0 || v > 255))
          throw new Error(`RGB colour out of range in ${JSON.stringify(params)}`);
        i += 4;
      } else throw new Error(`incomplete extended colour in ${JSON.stringify(params)}`);
      if (code === 38) next.fg = colour;
      else next.bg = colour;
    } else throw new Error(`SGR ${code} not understood (in ${JSON.stringify(params)})`);
  }
  return next;
}

/** `capture-pane -e -p` output to cells. The pen carries over line ends, as tmux writes it. */
export function parsePane(captured: string): Cell[][] {
  let pen: Pen = { fg: 'default', bg: 'default', reverse: false };
  return captured.split('\n').map((line) => {
    const cells: Cell[] = [];
    for (let i = 0; i < line.length;) {
      if (line[i] === '\x1b') {
        // eslint-disable-next-line no-control-regex -- reading the terminal's own escape sequences
        const m = /^\x1b\[([0-9;]*)m/.exec(line.slice(i));
        if (!m) throw new Error(`escape sequence not understood: ${JSON.stringify(line.slice(i, i + 12))}`);
        pen = applySgr(pen, m[1]!);
        i += m[0].length;
        continue;
      }
      const char = String.fromCodePoint(line.codePointAt(i)!);
      if (char < ' ') throw new Error(`control character ${JSON.stringify(char)} in the pane`);
      cells.push({ char, pen });
      i += char.length;
    }
    return cells;
  });
}

const luminance = ([r, g, b]: Rgb): number => Math.round(0.2126 * r + 0.7152 * g + 0.0722 * b);

/** The grey of a cell's upper and lower halves. Text (not block) characters count as background: thin strokes. */
function halves(cell: Cell | undefined, theme: Theme): [number, number] {
  const pen = cell?.pen ?? { fg: 'default', bg: 'default', reverse: false };
  let fg = luminance(pen.fg === 'default' ? theme.fg : pen.fg);
  let bg = luminance(pen.bg === 'default' ? theme.bg : pen.bg);
  if (pen.reverse) [fg, bg] = [bg, fg];
  switch (cell?.char) {
    case '█':
      return [fg, fg];
    case '▀':
      return [fg, bg];
    case '▄':
      return [bg, fg];
    default:
      return [bg, bg];
  }
}

/** Binary PGM (P5) of the pane, `scale` pixels per half cell. */
export function paneToPgm(cells: Cell[][], columns: number, theme: Theme, scale = 4): Buffer {
  const width = columns * scale;
  const height = cells.length * 2 * scale;
  const header = Buffer.from(`P5\n${width} ${height}\n255\n`, 'ascii');
  const pixels = Buffer.alloc(width * height);
  cells.forEach((row, y) => {
    for (let x = 0; x < columns; x++) {
      halves(row[x], theme).forEach((grey, half) => {
        for (let dy = 0; dy < scale; dy++)
          pixels.fill(
            grey,
            ((2 * y + half) * scale + dy) * width + x * scale,
            ((2 * y + half) * scale + dy) * width + (x + 1) * scale,
          );
      });
    }
  });
  return Buffer.concat([header, pixels]);
}

/** What Debian's zbarimg reads in the image, at its default settings (no inversion); [] for nothing. */
export async function zbarimg(pgm: Buffer): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'acctsec-zbar-'));
  try {
    const file = join(dir, 'pane.pgm');
    writeFileSync(file, pgm);
    const r = await execa('/usr/bin/zbarimg', ['-q', file], { reject: false });
    // zbarimg: 0 found, 4 nothing found; anything else is a broken run, not a failed scan.
    if (r.exitCode !== 0 && r.exitCode !== 4) throw new Error(`zbarimg failed (${r.exitCode}): ${r.stderr}`);
    return String(r.stdout)
      .split('\n')
      .filter(Boolean)
      .map((l) => l.replace(/^QR-Code:/, ''));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
