// The enrollment QR code. `qrcode` encodes it at error-correction level L with mixed segments (the
// base32 secret goes in alphanumeric mode), the smallest symbol for the otpauth URI: version 6, 41
// modules, for a short username. It is drawn here with half blocks, two module rows per terminal row.

/** A QR code ready to print: one string per terminal row, all `width` columns wide. */
export interface DrawnQr {
  lines: string[];
  width: number;
}

// ISO/IEC 18004 asks for a light quiet zone of 4 modules on every side; scanners find the finder
// patterns by the light margin around them.
const QUIET = 4;
// A terminal too short for the full quiet zone above and below (80×24: 4 + 41 + 4 module rows need
// 25 rows, and the prompt one more) gets a thinner one there, never under 2 modules, which zbar and
// phone scanners still read; the quiet zone left and right stays 4. A terminal too short even for
// that gets the full quiet zone: the code scrolls either way.
const MIN_QUIET_VERTICAL = 2;

// Dark modules on a light background, whatever the terminal's theme. Colours 16 (#000000) and 231
// (#ffffff) of the 256-colour cube, not the 16 ANSI colours that themes redefine (Solarized's
// "white" is beige, some light themes' "black" is grey).
const DARK_ON_LIGHT = '\x1b[38;5;16;48;5;231m';
const RESET = '\x1b[0m';

/**
 * `color`: pin the colours (dark modules drawn, light ones as the pinned background). Without colour
 * the terminal's own colours are used, so the light modules are the ones drawn: the code then reads
 * on a dark background only (the caller says so).
 * `rows`: how many terminal rows the code may take without pushing what follows it off the screen.
 */
export async function drawQr(text: string, options: { color: boolean; rows: number }): Promise<DrawnQr> {
  const { default: QRCode } = await import('qrcode');
  const { modules } = QRCode.create(text, { errorCorrectionLevel: 'L' });
  const size = modules.size;
  // The module rows are top quiet zone + size + bottom quiet zone, made even (the bottom one gets
  // the spare row) so that every terminal row holds two of them.
  const rowsFor = (top: number): number => (top + size + top + 1) / 2;
  let top = QUIET;
  while (top > MIN_QUIET_VERTICAL && rowsFor(top) > options.rows) top--;
  if (rowsFor(top) > options.rows) top = QUIET;
  const bottom = top + 1;
  const dark = (row: number, col: number): boolean => {
    const r = row - top;
    const c = col - QUIET;
    return r >= 0 && r < size && c >= 0 && c < size && modules.get(r, c) === 1;
  };
  const width = size + 2 * QUIET;
  const lines: string[] = [];
  for (let row = 0; row < top + size + bottom; row += 2) {
    let line = '';
    for (let col = 0; col < width; col++) {
      // With colour the glyph draws the dark modules; without, the light ones.
      const upper = dark(row, col) === options.color;
      const lower = dark(row + 1, col) === options.color;
      line += upper ? (lower ? '█' : '▀') : lower ? '▄' : ' ';
    }
    lines.push(options.color ? DARK_ON_LIGHT + line + RESET : line);
  }
  return { lines, width };
}

/** The terminal's width, or the COLUMNS a caller set, or 80 when output is not a terminal. */
export function terminalColumns(): number {
  return process.stdout.columns || Number(process.env.COLUMNS) || 80;
}

/** The terminal's height, or the LINES a caller set; unbounded when output is not a terminal. */
export function terminalRows(): number {
  return process.stdout.rows || Number(process.env.LINES) || Number.POSITIVE_INFINITY;
}
