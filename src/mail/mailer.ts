import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidInput, Unavailable } from '../errors.js';

// Delivery (SPEC §4.2): SMTP through nodemailer when `mail.smtp` is set (smtp:// or smtps://, with
// credentials from the URL); otherwise every message is an .eml file in the outbox folder. nodemailer
// is loaded on the first message only.
//
// Credentials and messages (codes, reset tokens) never go out in clear (issue #17): with a user or
// password in the URL, an smtp:// connection must upgrade with STARTTLS or the message is not sent
// (exit 8), unless the server is on this machine (loopback) or the URL says `?tls=off`. `?tls=required`
// asks the same without credentials; otherwise STARTTLS is used whenever the server offers it.
// Certificates are checked against Node's trust store, extended with NODE_EXTRA_CA_CERTS.

export interface OutgoingMail {
  to: string[];
  subject: string;
  text: string;
  /** Absent for accounts that chose plain text: the message then has no HTML part. */
  html?: string;
}

export type Delivery =
  | { to: string[]; subject: string; via: 'smtp'; server: string }
  | { to: string[]; subject: string; via: 'outbox'; path: string };

export interface Mailer {
  /** Throws Unavailable (exit 8) when the message could not be handed over. */
  send(mail: OutgoingMail): Promise<Delivery>;
  /** For notices after a change is made: a failure is reported, never thrown (the change stands). */
  notify(mail: OutgoingMail): Promise<void>;
}

export interface MailConfig {
  /** smtp://user:pass@host:port or smtps://...; unset means the outbox. */
  smtp?: string | undefined;
  from: string;
  outboxDir: string;
  /** Told of every delivery, so the CLI can say where each message went. */
  onDelivery?: ((delivery: Delivery) => void) | undefined;
  /** Told of a notice that could not be delivered. */
  onFailure?: ((mail: OutgoingMail, error: Error) => void) | undefined;
}

export const DEFAULT_FROM = 'acctsec <no-reply@localhost>';

/** The URL without its password, for messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString().replace(/\/$/, '');
  } catch {
    return '(invalid URL)';
  }
}

export function createMailer(config: MailConfig): Mailer {
  const send = async (mail: OutgoingMail): Promise<Delivery> => {
    const delivery = config.smtp ? await viaSmtp(config, config.smtp, mail) : await toOutbox(config, mail);
    config.onDelivery?.(delivery);
    return delivery;
  };
  return {
    send,
    async notify(mail) {
      try {
        await send(mail);
      } catch (err) {
        config.onFailure?.(mail, err as Error);
      }
    },
  };
}

const LOOPBACK_HOSTS = new Set(['localhost', '[::1]']);

function isLoopbackHost(host: string): boolean {
  return LOOPBACK_HOSTS.has(host) || /^127(\.\d{1,3}){3}$/.test(host);
}

/** How an smtp:// URL is sent: its TLS rule, and the URL nodemailer gets (our own `tls` parameter removed). */
export function smtpPlan(url: string): { url: string; requireTLS: boolean; server: string } {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new InvalidInput(
      `mail.smtp "${redactUrl(url)}" is not a URL (smtp://user:pass@host:587 or smtps://...)`,
      'mail.smtp',
    );
  }
  if (u.protocol !== 'smtp:' && u.protocol !== 'smtps:')
    throw new InvalidInput(`mail.smtp must be an smtp:// or smtps:// URL, not ${u.protocol}`, 'mail.smtp');
  const tls = u.searchParams.get('tls');
  if (tls !== null && tls !== 'off' && tls !== 'required')
    throw new InvalidInput(`mail.smtp: tls=${tls.slice(0, 20)} is not off or required`, 'mail.smtp');
  u.searchParams.delete('tls');
  const credentials = u.username !== '' || u.password !== '';
  const requireTLS =
    u.protocol === 'smtp:' && (tls === 'required' || (tls === null && credentials && !isLoopbackHost(u.hostname)));
  return { url: u.toString(), requireTLS, server: redactUrl(u.toString()) };
}

async function viaSmtp(config: MailConfig, url: string, mail: OutgoingMail): Promise<Delivery> {
  let plan: ReturnType<typeof smtpPlan>;
  try {
    plan = smtpPlan(url);
  } catch (err) {
    // A setting edited by hand past `config set`: a mail that cannot be sent, like any other (exit 8).
    throw new Unavailable(`could not deliver mail: ${(err as Error).message}`, 'mail_failed');
  }
  const nodemailer = await import('nodemailer');
  // Short timeouts: a user waiting at a prompt should hear of a dead server in seconds, not minutes.
  const transport = nodemailer.createTransport({
    url: plan.url,
    requireTLS: plan.requireTLS,
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 20_000,
  });
  try {
    await transport.sendMail({ from: config.from, ...mail });
  } catch (err) {
    const e = err as Error & { code?: string };
    if (plan.requireTLS && e.code === 'ETLS') {
      throw new Unavailable(
        `could not deliver mail through ${plan.server}: the server does not offer STARTTLS, and credentials and codes are never sent in clear (use smtps://, a server with STARTTLS, or ?tls=off to send in plain text)`,
        'mail_failed',
      );
    }
    throw new Unavailable(`could not deliver mail through ${plan.server}: ${e.message}`, 'mail_failed');
  } finally {
    transport.close();
  }
  return { to: mail.to, subject: mail.subject, via: 'smtp', server: plan.server };
}

async function toOutbox(config: MailConfig, mail: OutgoingMail): Promise<Delivery> {
  const nodemailer = await import('nodemailer');
  const transport = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' });
  const info = (await transport.sendMail({ from: config.from, ...mail })) as { message: Buffer };
  try {
    if (!existsSync(config.outboxDir)) mkdirSync(config.outboxDir, { recursive: true, mode: 0o700 });
    const path = join(
      config.outboxDir,
      `${new Date().toISOString().replace(/[:.]/g, '-')}-${randomBytes(4).toString('hex')}.eml`,
    );
    // Messages carry one-time codes: owner-only, like every other secret file.
    const fd = openSync(path, 'wx', 0o600);
    try {
      writeSync(fd, info.message);
    } finally {
      closeSync(fd);
    }
    return { to: mail.to, subject: mail.subject, via: 'outbox', path };
  } catch (err) {
    throw new Unavailable(
      `could not write mail to the outbox ${config.outboxDir}: ${(err as Error).message}`,
      'mail_failed',
    );
  }
}
