import { readFileSync } from 'node:fs';
import { InvalidInput } from '../errors.js';

// `recover --qr-image`: the text of the QR code in a photo or scan of the recovery sheet (PNG or
// JPEG), decoded in JavaScript (jsQR), loaded only on this path.

interface Rgba {
  data: Uint8ClampedArray;
  width: number;
  height: number;
}

type Decode = (data: Uint8ClampedArray, width: number, height: number, options?: object) => { data: string } | null;

async function pixels(path: string, bytes: Buffer): Promise<Rgba> {
  if (bytes.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) {
    const { PNG } = await import('pngjs');
    const png = PNG.sync.read(bytes);
    return {
      data: new Uint8ClampedArray(png.data.buffer, png.data.byteOffset, png.data.length),
      width: png.width,
      height: png.height,
    };
  }
  if (bytes[0] === 0xff && bytes[1] === 0xd8) {
    const jpeg = await import('jpeg-js');
    const img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true, maxMemoryUsageInMB: 1024 });
    return {
      data: new Uint8ClampedArray(img.data.buffer, img.data.byteOffset, img.data.length),
      width: img.width,
      height: img.height,
    };
  }
  throw new InvalidInput(
    `cannot read --qr-image ${path}: not a PNG or JPEG image (photograph or scan the sheet)`,
    '--qr-image',
  );
}

/** A smaller copy (nearest pixel): a phone photo of several thousand pixels reads faster and often better. */
function shrink(img: Rgba, longest: number): Rgba {
  const scale = longest / Math.max(img.width, img.height);
  const width = Math.max(1, Math.round(img.width * scale));
  const height = Math.max(1, Math.round(img.height * scale));
  const data = new Uint8ClampedArray(width * height * 4);
  for (let y = 0; y < height; y++) {
    const sy = Math.min(img.height - 1, Math.floor(y / scale));
    for (let x = 0; x < width; x++) {
      const sx = Math.min(img.width - 1, Math.floor(x / scale));
      data.set(img.data.subarray((sy * img.width + sx) * 4, (sy * img.width + sx) * 4 + 4), (y * width + x) * 4);
    }
  }
  return { data, width, height };
}

export async function decodeQrImage(path: string): Promise<string> {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw new InvalidInput(
      `cannot read --qr-image ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
      '--qr-image',
    );
  }
  const img = await pixels(path, bytes);
  // jsqr is CommonJS typed as an ES default export: under NodeNext the callable is its `default`.
  const mod = (await import('jsqr')) as unknown as { default: Decode & { default?: Decode } };
  const jsQR = mod.default.default ?? mod.default;
  const tries = [
    img,
    ...[1600, 1000, 600].filter((n) => Math.max(img.width, img.height) > n).map((n) => shrink(img, n)),
  ];
  for (const t of tries) {
    const found = jsQR(t.data, t.width, t.height, { inversionAttempts: 'attemptBoth' });
    if (found?.data) return found.data;
  }
  throw new InvalidInput(
    `no QR code found in --qr-image ${path}: photograph the code flat, sharp and whole, or give its text with --qr-text -`,
    '--qr-image',
  );
}
