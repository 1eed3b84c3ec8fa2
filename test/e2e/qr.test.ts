import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Home, PASSWORD } from './helpers.js';
import { DARK, LIGHT, paneToPgm, parsePane, zbarimg, type Cell } from './pane-image.js';
import { Terminal } from './tmux.js';

// The enrollment QR code as a phone would see it: the pane captured with its colours, painted under
// a dark and a light theme, and read by Debian's zbarimg at its default settings (it does not try
// the inverted image, and neither do many phone scanners).

const WHITE_256 = [255, 255, 255];

/** The cells painted with the QR code's pinned light background: its rows and columns on screen. */
function pinnedBlock(cells: Cell[][]): { top: number; left: number; rows: number; columns: number } {
  const pinned = (c: Cell): boolean => c.pen.bg !== 'default' && c.pen.bg.every((v, i) => v === WHITE_256[i]);
  const rows = cells
    .map((row, y) => ({ y, xs: row.flatMap((c, x) => (pinned(c) ? [x] : [])) }))
    .filter((r) => r.xs.length > 0);
  expect(rows.length, 'no cell has the pinned background').toBeGreaterThan(0);
  const top = rows[0]!.y;
  const left = Math.min(...rows.flatMap((r) => r.xs));
  const right = Math.max(...rows.flatMap((r) => r.xs));
  // one solid rectangle: every row from the first to the last, each as wide as the first
  rows.forEach((r, i) =>
    expect(r, `row ${i} of the code`).toEqual({
      y: top + i,
      xs: Array.from({ length: right - left + 1 }, (_, k) => left + k),
    }),
  );
  return { top, left, rows: rows.length, columns: right - left + 1 };
}

/** The block's modules, dark = true, read from the glyphs and their colours (two per cell). */
function modules(cells: Cell[][], block: ReturnType<typeof pinnedBlock>): boolean[][] {
  const out: boolean[][] = [];
  for (let y = block.top; y < block.top + block.rows; y++) {
    const upper: boolean[] = [];
    const lower: boolean[] = [];
    for (let x = block.left; x < block.left + block.columns; x++) {
      const { char, pen } = cells[y]![x]!;
      expect(pen.fg, 'dark modules are drawn in colour 16 (black)').toEqual([0, 0, 0]);
      expect(pen.reverse).toBe(false);
      expect(['█', '▀', '▄', ' ']).toContain(char);
      upper.push(char === '█' || char === '▀');
      lower.push(char === '█' || char === '▄');
    }
    out.push(upper, lower);
  }
  return out;
}

const lightRows = (m: boolean[][]): number => m.findIndex((row) => row.some(Boolean));
const lightColumns = (m: boolean[][]): number =>
  Math.min(...m.filter((row) => row.some(Boolean)).map((row) => row.indexOf(true)));

async function enrollOnScreen(
  home: Home,
  size: [number, number],
  env: Record<string, string | null>,
): Promise<{ term: Terminal; uri: string; visible: string }> {
  const term = await Terminal.start(home, ['mfa', 'totp', 'enable'], { size, env });
  await term.waitFor('Password:');
  await term.type(PASSWORD);
  await term.waitFor('Code from the app:');
  const visible = await term.visibleWithColours();
  const uri = /^URI: (otpauth:\S+)$/m.exec(await term.screen(true))![1]!;
  return { term, uri, visible };
}

describe('the enrollment QR code in a real terminal', () => {
  let home: Home;
  let term: Terminal | undefined;
  beforeEach(async () => {
    home = new Home();
    await home.init();
  });
  afterEach(async () => {
    await term?.stop();
    await home.remove();
  });

  it('at 120×40 it is dark on a pinned light background with a 4-module quiet zone, and zbar reads it on dark and light themes', async () => {
    const shown = await enrollOnScreen(home, [120, 40], { NO_COLOR: null });
    term = shown.term;
    const cells = parsePane(shown.visible);
    const block = pinnedBlock(cells);
    const m = modules(cells, block);
    const size = block.columns - 8;
    expect(size % 4, 'a QR symbol is 17 + 4·version modules wide').toBe(1);
    expect(lightColumns(m)).toBe(4);
    expect(lightRows(m)).toBe(4);
    expect(lightRows([...m].reverse())).toBeGreaterThanOrEqual(4);
    for (const theme of [DARK, LIGHT])
      expect(await zbarimg(paneToPgm(cells, 120, theme)), theme.name).toEqual([shown.uri]);
  });

  it('at 80×24 the whole code, the grouped key and the prompt are on screen at once, and zbar reads the screen on dark and light themes', async () => {
    const shown = await enrollOnScreen(home, [80, 24], { NO_COLOR: null });
    term = shown.term;
    const cells = parsePane(shown.visible);
    const text = cells.map((row) =>
      row
        .map((c) => c.char)
        .join('')
        .trimEnd(),
    );
    const block = pinnedBlock(cells);
    const m = modules(cells, block);
    // the whole code: its quiet zone is on screen above and below (thinner there: 2 modules), and 4 left and right
    expect(block.top).toBeGreaterThanOrEqual(0);
    expect(lightRows(m)).toBeGreaterThanOrEqual(2);
    expect(lightRows([...m].reverse())).toBeGreaterThanOrEqual(2);
    expect(lightColumns(m)).toBe(4);
    // the key, in groups of four, beside it, and the prompt under it
    const secret = new URL(shown.uri).searchParams.get('secret')!;
    const keyLines = text.flatMap((l) => /^.{49} {5}((?:[A-Z2-7]{4} ){3}[A-Z2-7]{4})$/.exec(l)?.[1] ?? []);
    expect(keyLines.join(' ').replace(/ /g, '')).toBe(secret);
    expect(text.findIndex((l) => l.includes('Code from the app:'))).toBe(block.top + block.rows);
    for (const theme of [DARK, LIGHT])
      expect(await zbarimg(paneToPgm(cells, 80, theme)), theme.name).toEqual([shown.uri]);
  });

  it.each([
    ['NO_COLOR=1', { NO_COLOR: '1' }],
    ['TERM=dumb', { NO_COLOR: null, TERM: 'dumb' }],
  ])('with %s the code has no colours, reads on a dark theme only, and a one-line note says so', async (_name, env) => {
    const shown = await enrollOnScreen(home, [120, 40], env);
    term = shown.term;
    expect(await term.screen()).toMatch(/^Without colour the QR code assumes a dark background; the key works too\.$/m);
    const cells = parsePane(shown.visible);
    expect(
      cells
        .flat()
        .filter((c) => ['█', '▀', '▄'].includes(c.char) && (c.pen.fg !== 'default' || c.pen.bg !== 'default')),
    ).toEqual([]);
    expect(await zbarimg(paneToPgm(cells, 120, DARK))).toEqual([shown.uri]);
    expect(await zbarimg(paneToPgm(cells, 120, LIGHT))).toEqual([]);
  });
});
