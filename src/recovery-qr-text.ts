// What a recovery QR code holds (issue #20 §1), shared by the service (which makes it), the server
// (whose page reads it) and the CLI (which decodes a photo of it or takes its text): a secret of 256
// random bits after a fixed prefix, alone, or, when the server names its public origin, as the
// fragment of the URL of that server's approval page. A fragment never leaves the browser, so the
// secret reaches no access log; the page posts it.

export const QR_SECRET_PREFIX = 'acsqr_';

/** `recover --method qr` with the code's text (its secret), or with a phone-approved request's handle. */
export const QR_METHOD = 'qr';
export const QR_PHONE_METHOD = 'qr-phone';

/** base64url of 32 random bytes. */
const SECRET_PATTERN = /^acsqr_[A-Za-z0-9_-]{43}$/;

/** The approval page of `acctsec serve` that a phone opens by scanning the code. */
export const QR_PAGE_PATH = '/recover/qr';

export function recoveryQrText(secret: string, pageOrigin: string | undefined): string {
  return pageOrigin ? `${pageOrigin}${QR_PAGE_PATH}#${secret}` : secret;
}

/** The secret inside a code's text (the page URL or the bare secret), or undefined when it holds none. */
export function secretFromQrText(text: string): string | undefined {
  const t = text.trim();
  const hash = t.lastIndexOf('#');
  const candidate = hash >= 0 ? t.slice(hash + 1) : t;
  return SECRET_PATTERN.test(candidate) ? candidate : undefined;
}

export function isQrSecret(text: string): boolean {
  return SECRET_PATTERN.test(text);
}
