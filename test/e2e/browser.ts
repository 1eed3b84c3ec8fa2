import { existsSync } from 'node:fs';
import { chromium, type Browser, type CDPSession, type Page } from 'playwright-core';

// Debian's Chromium, headless, driven by playwright-core (no browser download), with a CDP virtual
// authenticator standing in for a USB security key: the real WebAuthn code of the browser runs.

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const HAVE_CHROMIUM = existsSync(CHROMIUM);

/** A USB security key with user verification, which answers without a touch. */
export const VIRTUAL_KEY = {
  protocol: 'ctap2',
  transport: 'usb',
  hasResidentKey: true,
  hasUserVerification: true,
  isUserVerified: true,
  automaticPresenceSimulation: true,
} as const;

export interface Credential {
  credentialId: string;
  isResidentCredential: boolean;
  rpId: string;
  privateKey: string;
  userHandle?: string;
  signCount: number;
}

export class KeyBrowser {
  /** Every answer the page posted, as sent (JSON text). */
  readonly answers: string[] = [];

  private constructor(
    readonly browser: Browser,
    readonly page: Page,
    readonly cdp: CDPSession,
    readonly authenticatorId: string,
  ) {
    page.on('request', (req) => {
      if (req.url().endsWith('/v1/keys/ceremony/answer')) this.answers.push(req.postData() ?? '');
    });
  }

  static async launch(): Promise<KeyBrowser> {
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-dev-shm-usage',
        '--disable-background-networking',
        '--no-first-run',
        '--disable-extensions',
      ],
    });
    const page = await browser.newPage();
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('WebAuthn.enable');
    const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', { options: VIRTUAL_KEY });
    return new KeyBrowser(browser, page, cdp, authenticatorId);
  }

  /** Opens the ceremony page, presses its button, and waits for the page to report it posted the answer. */
  async complete(url: string): Promise<string> {
    await this.page.goto(url);
    await this.page.click('#go', { timeout: 10_000 });
    await this.page.waitForSelector('body[data-done]', { timeout: 20_000 });
    return (await this.page.getAttribute('body', 'data-done')) ?? '';
  }

  async credentials(): Promise<Credential[]> {
    const { credentials } = await this.cdp.send('WebAuthn.getCredentials', { authenticatorId: this.authenticatorId });
    return credentials as Credential[];
  }

  /** Puts a credential back with an older signature counter: what a clone of the key would report. */
  async rewindCounter(credential: Credential, signCount: number): Promise<void> {
    await this.cdp.send('WebAuthn.removeCredential', {
      authenticatorId: this.authenticatorId,
      credentialId: credential.credentialId,
    });
    await this.cdp.send('WebAuthn.addCredential', {
      authenticatorId: this.authenticatorId,
      credential: { ...credential, signCount },
    });
  }

  async close(): Promise<void> {
    await this.browser.close();
  }
}
