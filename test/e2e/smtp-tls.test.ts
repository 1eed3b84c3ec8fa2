import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createConnection } from 'node:net';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { smtpPlan } from '../../src/mail/mailer.js';
import { freePort, Home, PASSWORD, REMOTE } from './helpers.js';

// Issue #17 §3: SMTP credentials and the codes in the messages never go out in clear. Checked against
// aiosmtpd (Debian's python3-aiosmtpd), an SMTP server nobody here wrote, listening on this machine's
// non-loopback address (loopback servers may stay plain: nothing leaves the machine).

const EXTERNAL = Object.values(networkInterfaces())
  .flat()
  .find((i) => i && i.family === 'IPv4' && !i.internal)?.address;

/** aiosmtpd on host:port (its Debugging handler prints each message it accepts on stdout). */
async function aiosmtpd(
  host: string,
  extra: string[] = [],
): Promise<{ port: number; out: () => string; stop: () => void }> {
  const port = await freePort(host);
  const child: ChildProcess = spawn('/usr/bin/python3', ['-m', 'aiosmtpd', '-n', '-l', `${host}:${port}`, ...extra], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (out += c.toString()));
  for (let i = 0; i < 100; i++) {
    const up = await new Promise<boolean>((resolve) => {
      const s = createConnection({ host, port }, () => {
        s.destroy();
        resolve(true);
      }).on('error', () => resolve(false));
    });
    if (up) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return { port, out: () => out, stop: () => child.kill('SIGTERM') };
}

const MESSAGE = '---------- MESSAGE FOLLOWS ----------';

describe.runIf(EXTERNAL && !REMOTE)('SMTP over the network: TLS before credentials and codes', () => {
  let home: Home;
  const stops: (() => void)[] = [];
  beforeEach(() => {
    home = new Home(false);
  });
  afterEach(async () => {
    for (const s of stops.splice(0)) s();
    await home.remove();
  });

  const setSmtp = async (url: string) => {
    const r = await home.run(['config', 'set', 'mail.smtp', url]);
    expect(r.exitCode, r.stderr).toBe(0);
  };
  const enableEmail = (env: Record<string, string> = {}) =>
    home.run(['mfa', 'email', 'enable'], { env: { ACCTSEC_PASSWORD: PASSWORD, ...env } });

  it('with a user and password, a server without STARTTLS gets nothing (exit 8 saying why); ?tls=off sends in plain text', async () => {
    const server = await aiosmtpd(EXTERNAL!);
    stops.push(server.stop);
    await setSmtp(`smtp://mailer:s3cret-pass@${EXTERNAL}:${server.port}`);
    await home.init();
    const refused = await enableEmail();
    expect(refused.exitCode).toBe(8);
    expect(refused.stderr).toContain('does not offer STARTTLS, and credentials and codes are never sent in clear');
    expect(refused.stderr).not.toContain('s3cret-pass');
    expect(server.out()).not.toContain(MESSAGE);
    // The operator says plain text is fine (documented): the code is delivered.
    await setSmtp(`smtp://mailer:s3cret-pass@${EXTERNAL}:${server.port}?tls=off`);
    const plain = await enableEmail();
    expect(plain.exitCode, plain.stderr).toBe(0);
    await expect.poll(() => server.out()).toContain(MESSAGE);
    expect(server.out()).toContain('To: alice@example.com');
  });

  it('a STARTTLS server with a self-signed certificate: refused until the certificate is trusted (NODE_EXTRA_CA_CERTS), then delivered over TLS', async () => {
    const cert = join(home.dir, 'smtp-cert.pem');
    const key = join(home.dir, 'smtp-key.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        key,
        '-out',
        cert,
        '-days',
        '1',
        '-subj',
        '/CN=acctsec-smtp-test',
        '-addext',
        `subjectAltName=IP:${EXTERNAL}`,
      ],
      { stdio: 'ignore' },
    );
    // aiosmtpd with a certificate requires STARTTLS before any mail (its default): a delivery is a TLS one.
    const server = await aiosmtpd(EXTERNAL!, ['--tlscert', cert, '--tlskey', key]);
    stops.push(server.stop);
    // No credentials (aiosmtpd's CLI has no way to accept a login): ?tls=required asks for STARTTLS all the same.
    await setSmtp(`smtp://${EXTERNAL}:${server.port}?tls=required`);
    await home.init();
    const untrusted = await enableEmail({ NODE_EXTRA_CA_CERTS: '' });
    expect(untrusted.exitCode).toBe(8);
    expect(untrusted.stderr).toMatch(/self[- ]signed certificate/);
    expect(server.out()).not.toContain(MESSAGE);
    const trusted = await enableEmail({ NODE_EXTRA_CA_CERTS: cert });
    expect(trusted.exitCode, trusted.stderr).toBe(0);
    await expect.poll(() => server.out()).toContain(MESSAGE);
  });
});

describe('the TLS rule of an smtp:// URL', () => {
  it('requires STARTTLS with credentials unless on loopback or ?tls=off; ?tls=required without them; smtps:// is TLS already', () => {
    expect(smtpPlan('smtp://u:p@mail.example.com:587').requireTLS).toBe(true);
    expect(smtpPlan('smtp://u@mail.example.com:587').requireTLS).toBe(true);
    expect(smtpPlan('smtp://mail.example.com:25').requireTLS).toBe(false);
    expect(smtpPlan('smtp://mail.example.com:25?tls=required').requireTLS).toBe(true);
    expect(smtpPlan('smtp://u:p@mail.example.com:587?tls=off').requireTLS).toBe(false);
    for (const host of ['127.0.0.1', '127.8.9.10', 'localhost', '[::1]'])
      expect(smtpPlan(`smtp://u:p@${host}:587`).requireTLS).toBe(false);
    expect(smtpPlan('smtps://u:p@mail.example.com:465').requireTLS).toBe(false);
    // Our own parameter is not handed to nodemailer (which would read it as its `tls` options).
    expect(smtpPlan('smtp://u:p@mail.example.com:587?tls=off').url).toBe('smtp://u:p@mail.example.com:587');
    expect(smtpPlan('smtp://u:p@mail.example.com:587').server).toBe('smtp://u:***@mail.example.com:587');
  });

  it('config set refuses a tls value that is neither off nor required (exit 2)', async () => {
    const home = new Home(false);
    try {
      const r = await home.run(['config', 'set', 'mail.smtp', 'smtp://u:p@mail.example.com:587?tls=maybe']);
      expect(r.exitCode).toBe(2);
      expect(r.stderr).toContain('tls=maybe is neither off');
    } finally {
      await home.remove();
    }
  });
});
