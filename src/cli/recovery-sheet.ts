import { closeSync, existsSync, openSync, writeSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import { crc32 } from 'node:zlib';
import { Conflict, InvalidInput } from '../errors.js';

// The printable recovery sheet of `recovery qr create --output` (issue #20 §1): the QR code, the
// account, the date and plain instructions, as PNG, SVG or HTML. Written as a new file, mode 0600 from
// its first byte; an existing file is never overwritten (as `admin users export --output`).

export type SheetFormat = 'png' | 'svg' | 'html';

const FORMATS: Record<string, SheetFormat> = { '.png': 'png', '.svg': 'svg', '.html': 'html', '.htm': 'html' };

/** The format a path asks for, checked before anything is made: a bad or taken name changes nothing. */
export function sheetFormat(path: string): SheetFormat {
  if (existsSync(path))
    throw new Conflict(`${path} already exists: --output writes a new file, and never overwrites one`);
  const format = FORMATS[extname(path).toLowerCase()];
  if (!format)
    throw new InvalidInput(
      `invalid --output "${path}": the sheet is written as .png, .svg or .html (the name's ending says which)`,
      '--output',
    );
  return format;
}

export interface SheetContent {
  text: string;
  username: string;
  createdAt: string;
  /** The code opens the server's page on a phone (else its text is given to `recover --qr-image/--qr-text`). */
  phone: boolean;
}

/** A command is never broken across lines: its spaces do not break. */
const command = (text: string): string => text.replace(/ /g, '\u00a0');

function instructions(c: SheetContent): string[] {
  return [
    `Recovery QR code for the acctsec account ${c.username}`,
    `Made ${c.createdAt.slice(0, 16).replace('T', ' ')} UTC. It works once; a newer code voids this one.`,
    c.phone
      ? `Lost your password? Run ${command(`acctsec recover --username ${c.username} --method qr`)} then scan this code with your phone and approve the request whose words match your terminal.`
      : `Lost your password? Photograph or scan this sheet and run ${command(`acctsec recover --username ${c.username} --qr-image photo.png`)}`,
    'Keep it somewhere safe, like a spare key: whoever holds it can reset your password (your second factor still applies at sign-in).',
  ];
}

const escapeXml = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** The QR code as an SVG `<path>` of its dark modules, `size` modules square with a 4-module quiet zone. */
async function qrModules(text: string): Promise<{ path: string; size: number }> {
  const { default: QRCode } = await import('qrcode');
  const { modules } = QRCode.create(text, { errorCorrectionLevel: 'M' });
  // One rectangle per run of dark modules in a row.
  let d = '';
  for (let r = 0; r < modules.size; r++) {
    for (let c = 0; c < modules.size; c++) {
      if (!modules.get(r, c)) continue;
      let end = c;
      while (end + 1 < modules.size && modules.get(r, end + 1)) end++;
      d += `M${c + 4} ${r + 4}h${end - c + 1}v1h-${end - c + 1}z`;
      c = end;
    }
  }
  return { path: d, size: modules.size + 8 };
}

async function svgSheet(c: SheetContent): Promise<string> {
  const { path, size } = await qrModules(c.text);
  const [title, made, how, keep] = instructions(c);
  // A page 180 mm wide: the code 100 mm square, the lines of text under it (wrapped by hand: SVG 1.1 has no wrapping).
  const wrap = (s: string, width = 80): string[] => {
    const out: string[] = [];
    let line = '';
    for (const word of s.split(' ')) {
      if ((line + ' ' + word).trim().length > width) {
        out.push(line);
        line = word;
      } else line = (line + ' ' + word).trim();
    }
    return line ? [...out, line] : out;
  };
  const lines = [...wrap(made!), '', ...wrap(how!), '', ...wrap(keep!)];
  const textRows = lines
    .map((l, i) => `<text x="10" y="${128 + i * 6}" font-size="4.2">${escapeXml(l)}</text>`)
    .join('\n');
  return `<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="180mm" height="${140 + lines.length * 6}mm" viewBox="0 0 180 ${140 + lines.length * 6}" font-family="sans-serif">
<rect width="100%" height="100%" fill="#fff"/>
<text x="10" y="14" font-size="6" font-weight="bold">${escapeXml(title!)}</text>
<svg x="40" y="20" width="100" height="100" viewBox="0 0 ${size} ${size}" shape-rendering="crispEdges"><rect width="${size}" height="${size}" fill="#fff"/><path fill="#000" d="${path}"/></svg>
${textRows}
</svg>
`;
}

async function htmlSheet(c: SheetContent): Promise<string> {
  const { path, size } = await qrModules(c.text);
  const [title, made, how, keep] = instructions(c);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeXml(title!)}</title>
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<style>body{font:12pt/1.5 sans-serif;max-width:17cm;margin:1.5cm auto}svg{display:block;width:9cm;height:9cm;margin:1cm auto}@media print{body{margin:0 auto}}</style></head>
<body><h1>${escapeXml(title!)}</h1>
<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${size} ${size}" shape-rendering="crispEdges" role="img" aria-label="recovery QR code"><rect width="${size}" height="${size}" fill="#fff"/><path fill="#000" d="${path}"/></svg>
<p>${escapeXml(made!)}</p>
<p>${escapeXml(how!)}</p>
<p>${escapeXml(keep!)}</p>
</body></html>
`;
}

/** A PNG text chunk (PNG 1.2 §4.2.3.1): Latin-1 keyword, NUL, text; its CRC over type and data. */
function textChunk(keyword: string, text: string): Buffer {
  const data = Buffer.from(`${keyword}\0${text.replace(/\u00a0/g, ' ')}`, 'latin1');
  const type = Buffer.from('tEXt', 'latin1');
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([type, data])) >>> 0);
  return Buffer.concat([length, type, data, crc]);
}

/** Page width in pixels of the PNG sheet, and its margin. */
const PNG_WIDTH = 1000;
const PNG_MARGIN = 40;

/**
 * The PNG: a printable page like the SVG and HTML sheets: the title, the code (8 pixels a module, with
 * its quiet zone) and under it the date and the instructions, drawn with jimp's bitmap Open Sans (pure
 * JavaScript, loaded only here). The same words also go in its text chunks, which image viewers show
 * as its properties and which a screen reader or a search can read.
 */
async function pngSheet(c: SheetContent): Promise<Buffer> {
  const [{ default: QRCode }, { Jimp, loadFont, measureTextHeight }, fonts] = await Promise.all([
    import('qrcode'),
    import('jimp'),
    import('jimp/fonts'),
  ]);
  const [title, made, how, keep] = instructions(c).map((l) => l.replace(/\u00a0/g, ' ')) as [
    string,
    string,
    string,
    string,
  ];
  const [big, small] = await Promise.all([loadFont(fonts.SANS_32_BLACK), loadFont(fonts.SANS_16_BLACK)]);
  const code = await Jimp.fromBuffer(
    await QRCode.toBuffer(c.text, { type: 'png', errorCorrectionLevel: 'M', margin: 4, scale: 8 }),
  );
  const textWidth = PNG_WIDTH - 2 * PNG_MARGIN;
  const titleHeight = measureTextHeight(big, title, textWidth);
  const paragraphs = [made, how, keep];
  const heights = paragraphs.map((p) => measureTextHeight(small, p, textWidth));
  const codeTop = PNG_MARGIN + titleHeight + 10;
  const textTop = codeTop + code.bitmap.height + 10;
  const height = textTop + heights.reduce((a, h) => a + h + 16, 0) + PNG_MARGIN;
  const page = new Jimp({ width: PNG_WIDTH, height, color: 0xffffffff });
  page.print({ font: big, x: PNG_MARGIN, y: PNG_MARGIN, text: title, maxWidth: textWidth });
  page.composite(code, Math.round((PNG_WIDTH - code.bitmap.width) / 2), codeTop);
  let y = textTop;
  paragraphs.forEach((p, i) => {
    page.print({ font: small, x: PNG_MARGIN, y, text: p, maxWidth: textWidth });
    y += heights[i]! + 16;
  });
  const png = await page.getBuffer('image/png');
  // After the signature (8 bytes) and IHDR (25 bytes): text chunks may come anywhere before IEND.
  const at = 8 + 25;
  return Buffer.concat([
    png.subarray(0, at),
    textChunk('Title', title),
    textChunk('Creation Time', new Date(c.createdAt).toUTCString()),
    textChunk('Description', `${made} ${how} ${keep}`),
    png.subarray(at),
  ]);
}

/** Writes the sheet as a new file (mode 0600); refuses a path that exists. Returns the absolute path. */
export async function writeRecoverySheet(path: string, content: SheetContent): Promise<string> {
  const format = FORMATS[extname(path).toLowerCase()] ?? sheetFormat(path);
  const body =
    format === 'png'
      ? await pngSheet(content)
      : Buffer.from(format === 'svg' ? await svgSheet(content) : await htmlSheet(content), 'utf8');
  const target = resolve(path);
  let fd: number;
  try {
    fd = openSync(target, 'wx', 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST')
      throw new Conflict(`${path} already exists: --output writes a new file, and never overwrites one`);
    throw new InvalidInput(
      `cannot write --output ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
      '--output',
    );
  }
  try {
    writeSync(fd, body);
  } finally {
    closeSync(fd);
  }
  return target;
}
