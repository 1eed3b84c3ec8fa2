import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';

// A real SMTP server on loopback for the mail tests (smtp-server, from nodemailer's authors). It keeps
// every message it receives, parsed, and can require a user name and password.

export interface Received {
  from: string;
  to: string[];
  raw: string;
  parsed: ParsedMail;
}

export class TestSmtp {
  readonly messages: Received[] = [];
  private server!: SMTPServer;
  port = 0;
  /** Credentials the last session authenticated with, to prove the URL's user and password were used. */
  logins: { username: string; password: string }[] = [];

  /** `rejectRecipients`: addresses refused at RCPT TO with 550, as a real server refuses an unknown mailbox. */
  static async start(
    options: { auth?: { user: string; pass: string }; rejectRecipients?: string[] } = {},
  ): Promise<TestSmtp> {
    const t = new TestSmtp();
    t.server = new SMTPServer({
      // STARTTLS needs a certificate the client trusts: off here, so the session stays plain on loopback.
      disabledCommands: options.auth ? ['STARTTLS'] : ['STARTTLS', 'AUTH'],
      authOptional: !options.auth,
      allowInsecureAuth: true,
      logger: false,
      onAuth(auth, _session, callback) {
        t.logins.push({ username: auth.username ?? '', password: auth.password ?? '' });
        if (options.auth && auth.username === options.auth.user && auth.password === options.auth.pass)
          callback(null, { user: auth.username });
        else callback(new Error('invalid credentials'));
      },
      onRcptTo(address, _session, callback) {
        if (options.rejectRecipients?.includes(address.address)) {
          const err = new Error(`5.1.1 <${address.address}>: Recipient address rejected: User unknown`) as Error & {
            responseCode: number;
          };
          err.responseCode = 550;
          callback(err);
        } else callback();
      },
      onData(stream, session, callback) {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          const raw = Buffer.concat(chunks).toString('utf8');
          simpleParser(raw)
            .then((parsed) => {
              t.messages.push({
                from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
                to: session.envelope.rcptTo.map((r) => r.address),
                raw,
                parsed,
              });
              callback();
            })
            .catch(callback);
        });
      },
    });
    await new Promise<void>((resolve) => t.server.listen(0, '127.0.0.1', resolve));
    t.port = (t.server.server.address() as { port: number }).port;
    return t;
  }

  url(credentials = ''): string {
    return `smtp://${credentials ? `${credentials}@` : ''}127.0.0.1:${this.port}`;
  }

  /** The newest message to `to`, waiting up to 5 s for it. */
  async last(to: string, after = 0): Promise<Received> {
    const deadline = Date.now() + 5000;
    for (;;) {
      const found = this.messages.slice(after).filter((m) => m.to.includes(to));
      if (found.length) return found[found.length - 1]!;
      if (Date.now() > deadline) throw new Error(`no message to ${to}; got ${this.messages.length} in all`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** The 6-digit code in the newest message to `to`. */
  async code(to: string, after = 0): Promise<string> {
    const m = await this.last(to, after);
    const code = /^\s+(\d{6})\s*$/m.exec(m.parsed.text ?? '')?.[1];
    if (!code) throw new Error(`no code in "${m.parsed.subject}"`);
    return code;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
