import { createHmac } from 'node:crypto';

// An independent RFC 6238 implementation for tests: node:crypto HMAC and RFC 4226 §5.3 truncation,
// sharing no code with the product (which uses otpauth).

export function base32Decode(text: string): Buffer {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const clean = text.replace(/[\s=]/g, '').toUpperCase();
  let bits = '';
  for (const ch of clean) {
    const v = alphabet.indexOf(ch);
    if (v < 0) throw new Error(`not base32: ${ch}`);
    bits += v.toString(2).padStart(5, '0');
  }
  const bytes = [];
  for (let i = 0; i + 8 <= bits.length; i += 8) bytes.push(parseInt(bits.slice(i, i + 8), 2));
  return Buffer.from(bytes);
}

export function hotp(key: Buffer, counter: number, algorithm = 'sha1', digits = 6): string {
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(BigInt(counter));
  const mac = createHmac(algorithm, key).update(msg).digest();
  const offset = mac[mac.length - 1]! & 0x0f;
  const bin = ((mac[offset]! & 0x7f) << 24) | (mac[offset + 1]! << 16) | (mac[offset + 2]! << 8) | mac[offset + 3]!;
  return String(bin % 10 ** digits).padStart(digits, '0');
}

/** The code for the time step `offset` steps away from now. */
export function codeAt(base32Secret: string, offset = 0, now = Date.now()): string {
  return hotp(base32Decode(base32Secret), Math.floor(now / 30_000) + offset);
}

/** How long the CLI processes of this test file took (test/e2e/helpers.ts records each run). */
export const spawnTimes: number[] = [];
/** What one CLI process takes on an idle 2-core machine; `margin`s below are written for that pace. */
const IDLE_SPAWN_MS = 500;

/**
 * Waits past a step boundary when fewer than `margin` ms are left in the current step. `margin` is
 * written for an idle machine; on a loaded one, where the file's recent processes took longer, it
 * grows in proportion (up to 25 s of the 30 s step), so a test that must stay within one step does
 * not fail because its processes started slowly.
 */
export async function awayFromStepEdge(margin = 6000): Promise<void> {
  const recent = spawnTimes.slice(-8).sort((a, b) => a - b);
  const pace = recent.length ? Math.max(1, recent[Math.floor(recent.length / 2)]! / IDLE_SPAWN_MS) : 1;
  const needed = Math.min(25_000, margin * pace);
  const left = 30_000 - (Date.now() % 30_000);
  if (left < needed) await new Promise((r) => setTimeout(r, left + 200));
}

/** A code no step within ten minutes of now produces: certainly wrong, and not a clock-skew hint. */
export function wrongCode(base32Secret: string): string {
  const near = new Set(Array.from({ length: 41 }, (_, i) => codeAt(base32Secret, i - 20)));
  for (let n = 0; ; n++) {
    const c = String(n).padStart(6, '0');
    if (!near.has(c)) return c;
  }
}
