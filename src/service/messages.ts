import type { OutgoingMail } from '../mail/mailer.js';

// Every email the product sends, in the account's format (SPEC §8): `text` is text/plain alone,
// `html` is multipart with a text alternative.

export type MailFormat = 'html' | 'text';

export interface MessageBody {
  subject: string;
  /** Paragraphs of plain text; the HTML part is built from the same words. */
  paragraphs: string[];
  /** A one-time code, set apart so it is easy to read and copy. */
  code?: string;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

export function renderMessage(to: string[], format: MailFormat, body: MessageBody): OutgoingMail {
  const footer =
    'This message was sent by acctsec, the account security manager. Security notices cannot be turned off.';
  const textParts = [...body.paragraphs];
  if (body.code) textParts.splice(1, 0, `    ${body.code}`);
  const text = [...textParts, '--', footer].join('\n\n') + '\n';
  if (format === 'text') return { to, subject: body.subject, text };
  const htmlParas = body.paragraphs.map((p) => `<p>${escapeHtml(p)}</p>`);
  if (body.code)
    htmlParas.splice(
      1,
      0,
      `<p style="font-size:24px;font-family:monospace;letter-spacing:4px"><strong>${escapeHtml(body.code)}</strong></p>`,
    );
  const html = `<!doctype html><html><body style="font-family:sans-serif">${htmlParas.join('')}<hr><p style="color:#666;font-size:12px">${escapeHtml(footer)}</p></body></html>`;
  return { to, subject: body.subject, text, html };
}

/** a***@example.com: enough to recognise one's own address without revealing it to others. */
export function maskAddress(address: string): string {
  const [local = '', domain = ''] = address.split('@');
  return `${local.slice(0, 1)}***@${domain}`;
}
