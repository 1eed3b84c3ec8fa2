import { createHash } from 'node:crypto';

/** A CSP source for an inline script or style: its SHA-256. */
export const cspHash = (text: string): string => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;

/**
 * The headers of a page served by acctsec (the security key page, the recovery QR approval page): only
 * its own inline script and style run, it talks only to its own origin, cannot be framed, keeps no
 * copy in caches and sends no Referer.
 */
export function strictPageHeaders(script: string, style: string): Record<string, string> {
  return {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    'content-security-policy': `default-src 'none'; script-src ${cspHash(script)}; style-src ${cspHash(style)}; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
    'x-frame-options': 'DENY',
    'referrer-policy': 'no-referrer',
    'x-content-type-options': 'nosniff',
  };
}
