import type { IncomingMessage, ServerResponse } from 'node:http';
import { isCeremony, isMailed, MAILED_DEFAULT } from '../factor-kinds.js';
import type Provider from 'oidc-provider';
import type { Backend } from '../backend/backend.js';
import { AcctsecError, InvalidInput, Unavailable } from '../errors.js';
import { CLI_CLIENT_ID, type OAuthStorage } from '../oauth-types.js';
import { cspHash } from '../page-headers.js';
import type { FactorChoice, KeyCeremonyAnswer, SignInResult } from '../views.js';
import { WEBAUTHN_BROWSER_CODE } from '../webauthn-page.js';

// The sign-in and consent pages of the OAuth provider (issue #21). A person signs in here with the
// account's real rules: the page calls the same Backend `signIn` as the CLI (password, then a second
// factor: an authenticator app code, an emailed code, a recovery code or a security key; locks,
// throttles and the IP restriction all apply), and the acctsec session that sign-in makes is ended
// at once: the provider keeps its own.
//
// A security key goes through the CLI's own path: `beginKeySignIn` (the password again, then a
// WebAuthn ceremony at the server's public URL, which is also this page's origin), the browser's
// answer handed to `submitKeyCeremony`, then `signIn` with the ceremony as the key's code, so a
// wrong or missing answer is a failed second factor like a wrong code. signIn takes the password
// and the second factor in one call; the page must not carry the password, so between the two steps
// it waits in this process's memory (PendingKeySignIns), bound to the interaction, taken once.
//
// The pages load nothing and run no script, except the key step's one inline script (allowed by its
// SHA-256, no 'unsafe-inline'), which calls navigator.credentials.get() and posts the answer in the
// form: it fetches nothing. The forms post back to the same interaction, whose cookie (SameSite=Lax,
// set by the provider) a page on another site cannot send with a POST, so a form there cannot drive
// one.

export interface InteractionDeps {
  provider: Provider;
  storage: OAuthStorage;
  /** A Backend for an anonymous caller from this address (sign-in), or for a session (sign-out). */
  backendFor(credentials: { sessionToken?: string; ip: string; client: string }): Backend;
  ip: string;
  /** The origin this page is served at (the issuer's): a key ceremony must expect this one. */
  origin: string;
  keySignIns: PendingKeySignIns;
}

/** A sign-in between its password step and the key's answer. */
interface PendingKeySignIn {
  username: string;
  password: string;
  ceremonyId: string;
  expiresAt: number;
}

/**
 * Key steps in progress, by interaction uid: what `signIn` will need once the browser answers. Only
 * in memory (never in the page, the database or a log), for the ceremony's lifetime at most, and
 * taken by the first answer, right or wrong, so a failed step starts again from the password. The
 * interaction's cookie, which only the person's browser holds, is checked before a step is looked
 * up; an entry exists only after a right password, so filling the map takes passwords the sign-in
 * throttles already count.
 */
export class PendingKeySignIns {
  private readonly steps = new Map<string, PendingKeySignIn>();
  constructor(
    private readonly max = 1000,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Keeps the interaction's step; false (nothing kept) when the account already has PER_ACCOUNT steps
   * waiting or the table is full. Nobody's waiting step is ever pushed out by someone else's: one
   * account (or many) opening steps can only be refused, not end the steps of others.
   */
  put(uid: string, step: PendingKeySignIn): boolean {
    const at = this.now();
    for (const [k, v] of this.steps) if (v.expiresAt <= at) this.steps.delete(k);
    this.steps.delete(uid);
    const name = step.username.trim().toLowerCase();
    let same = 0;
    for (const v of this.steps.values()) if (v.username.trim().toLowerCase() === name) same++;
    if (same >= PendingKeySignIns.PER_ACCOUNT || this.steps.size >= this.max) return false;
    this.steps.set(uid, step);
    return true;
  }

  /** Key steps one account may have waiting at once (a person signs in in a browser or two). */
  static readonly PER_ACCOUNT = 3;

  /** The interaction's step, once. */
  take(uid: string): PendingKeySignIn | undefined {
    const step = this.steps.get(uid);
    this.steps.delete(uid);
    return step && step.expiresAt > this.now() ? step : undefined;
  }

  drop(uid: string): void {
    this.steps.delete(uid);
  }
}

/** The headers of every page under /oauth2 (here and the device pages of oauth.ts): no script, no framing, no copy kept. */
export const PAGE_HEADERS: Record<string, string> = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  'content-security-policy': "default-src 'none'; base-uri 'none'; frame-ancestors 'none'",
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
};

export const esc = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const INTERACTION = /^\/oauth2\/interaction\/([A-Za-z0-9_-]{1,64})(?:\/(login|send-code|key|confirm|abort))?$/;

/** The interaction a path names, and what is asked of it. */
export function interactionRoute(pathname: string, method: string): { action: string } | undefined {
  const m = INTERACTION.exec(pathname);
  if (!m) return undefined;
  const action = m[2] ?? 'show';
  if ((action === 'show') !== (method === 'GET')) return undefined;
  if (method !== 'GET' && method !== 'POST') return undefined;
  return { action };
}

/** A page with a title and a body (HTML the caller escaped). */
export function pageHtml(title: string, body: string): string {
  return `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>${esc(title)}</title></head><body><main><h1>${esc(title)}</h1>${body}</main></body></html>`;
}

/**
 * The key step's script: on the button, navigator.credentials.get() with the ceremony's options (in
 * the form's data-options), then the answer, or the browser's refusal, into the form's hidden field,
 * and the form posted. Without script the button stays hidden.
 */
const KEY_STEP_SCRIPT = `${WEBAUTHN_BROWSER_CODE}
const form = document.getElementById('key-step');
const button = document.getElementById('key-go');
const status = document.getElementById('key-status');
button.hidden = false;
button.addEventListener('click', async () => {
  button.disabled = true;
  status.textContent = 'Touch your security key.';
  let answer;
  try {
    answer = { response: await assertion(JSON.parse(form.dataset.options)) };
  } catch (e) {
    answer = { error: failure(e) };
  }
  form.elements.assertion.value = JSON.stringify(answer);
  form.submit();
});
`;

/** The key step's headers: those of every page, and its one script, by hash. */
const KEY_STEP_HEADERS: Record<string, string> = {
  ...PAGE_HEADERS,
  'content-security-policy': `default-src 'none'; script-src ${cspHash(KEY_STEP_SCRIPT)}; base-uri 'none'; frame-ancestors 'none'`,
};

function page(res: ServerResponse, status: number, title: string, body: string, headers = PAGE_HEADERS): void {
  const html = pageHtml(title, body);
  res.writeHead(status, { ...headers, 'content-length': Buffer.byteLength(html) });
  res.end(html);
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  if (!/^application\/x-www-form-urlencoded\b/i.test(req.headers['content-type'] ?? ''))
    throw new Error('the form must be application/x-www-form-urlencoded');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > 16 * 1024) throw new Error('the form is too large');
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

interface LoginView {
  uid: string;
  app: string;
  username?: string;
  methods?: FactorChoice[];
  method?: string;
  message?: string;
  /** The key step: the ceremony's WebAuthn options (JSON), when the account has a key. */
  keyOptions?: string;
}

function loginForm(v: LoginView): string {
  const action = `/oauth2/interaction/${esc(v.uid)}`;
  const codes = v.methods?.filter((m) => !isCeremony(m.id)) ?? [];
  const keyStep = v.keyOptions
    ? `<form id="key-step" method="post" action="${action}/key" data-options="${esc(v.keyOptions)}">
<input type="hidden" name="assertion" value="">
<p>This account has a security key. Use it to finish signing in.</p>
<p><button id="key-go" type="button" hidden>Use a security key</button></p>
<p id="key-status" role="status"></p>
<noscript><p>The security key step needs JavaScript in this browser.</p></noscript>
</form>
<script>${KEY_STEP_SCRIPT}</script>`
    : '';
  const second = codes.length
    ? `<p>${v.keyOptions ? 'Or enter' : 'This account has a second factor. Enter'} your password again with a code.</p>
<p><label>Method <select name="method">${codes
        .map((m) => `<option value="${esc(m.id)}"${m.id === v.method ? ' selected' : ''}>${esc(m.label)}</option>`)
        .join('')}</select></label></p>
<p><label>Code <input name="code" autocomplete="one-time-code" inputmode="numeric" required></label></p>`
    : '';
  const sendCode = codes.some((m) => isMailed(m.id))
    ? `<p><button formaction="${action}/send-code" formnovalidate>Email me a code</button></p>`
    : '';
  // With only a key, the password form would just start over: the key step stands alone.
  const passwordForm =
    v.keyOptions && !codes.length
      ? ''
      : `<form method="post" action="${action}/login">
<p><label>Username <input name="username" autocomplete="username" required value="${esc(v.username ?? '')}"></label></p>
<p><label>Password <input name="password" type="password" autocomplete="current-password" required></label></p>
${second}
<p><button type="submit">Sign in</button></p>
${sendCode}
</form>`;
  return `<p>Sign in to allow <strong>${esc(v.app)}</strong> to use your acctsec account.</p>
${v.message ? `<p role="alert"><strong>${esc(v.message)}</strong></p>` : ''}
${keyStep}
${passwordForm}
<form method="post" action="${action}/abort"><p><button type="submit">Cancel</button></p></form>`;
}

/**
 * What the key step's form carried: the browser's answer (its shape is judged by the route schema of
 * submitKeyCeremony), or why there is none, which is a failed step all the same.
 */
function keyAnswer(field: string | null): KeyCeremonyAnswer {
  if (!field) return { error: 'the page sent no security key answer' };
  try {
    return JSON.parse(field) as KeyCeremonyAnswer;
  } catch {
    return { error: 'the page sent an answer that is not JSON' };
  }
}

function consentForm(uid: string, app: { name: string; owner: string }, scopes: string[], redirectHost: string) {
  const action = `/oauth2/interaction/${esc(uid)}`;
  if (redirectHost === '')
    // The CLI's device login: no application, no redirect; what is asked is a whole session.
    return `<p>A terminal asks for a session of your account: it can then do everything you can do with acctsec.</p>
<p>Allow it only if you started <code>acctsec login --device</code> yourself just now.</p>
<form method="post" action="${action}/confirm"><p><button type="submit">Allow</button></p></form>
<form method="post" action="${action}/abort"><p><button type="submit">Deny</button></p></form>`;
  return `<p><strong>${esc(app.name)}</strong>, registered by <strong>${esc(app.owner)}</strong>, asks to use your account.</p>
<p>It will receive: ${scopes.length ? `<ul>${scopes.map((s) => `<li>${esc(s)}</li>`).join('')}</ul>` : 'your account number only.'}</p>
<p>After you answer, your browser goes to <strong>${esc(redirectHost)}</strong>.</p>
<form method="post" action="${action}/confirm"><p><button type="submit">Allow</button></p></form>
<form method="post" action="${action}/abort"><p><button type="submit">Deny</button></p></form>`;
}

/** Serves one request of the sign-in and consent pages. */
export async function handleInteraction(
  req: IncomingMessage,
  res: ServerResponse,
  action: string,
  deps: InteractionDeps,
): Promise<void> {
  const { provider, storage } = deps;
  let details: Awaited<ReturnType<Provider['interactionDetails']>>;
  try {
    details = await provider.interactionDetails(req, res);
  } catch {
    return page(res, 400, 'This sign-in has expired', '<p>Go back to the application and start again.</p>');
  }
  const { uid, prompt, params } = details;
  const clientId = typeof params.client_id === 'string' ? params.client_id : '';
  const app =
    clientId === CLI_CLIENT_ID
      ? { name: 'acctsec command line (a device login)', owner: 'acctsec' }
      : storage.client(clientId);
  if (!app) return page(res, 400, 'Unknown application', '<p>This application is not available.</p>');
  const clientLabel = `OAuth sign-in for ${app.name}`;

  if (action === 'abort') {
    deps.keySignIns.drop(uid);
    return provider.interactionFinished(
      req,
      res,
      { error: 'access_denied', error_description: 'the person declined' },
      { mergeWithLastSubmission: false },
    );
  }

  if (prompt.name === 'login') {
    const signInPage = (status: number, view: Omit<LoginView, 'uid' | 'app'>, headers = PAGE_HEADERS) =>
      page(res, status, 'Sign in with acctsec', loginForm({ uid, app: app.name, ...view }), headers);
    if (action === 'show') return signInPage(200, {});
    if (action !== 'login' && action !== 'send-code' && action !== 'key') return page(res, 400, 'Sign in first', '');
    // Any answer to this interaction ends a key step in progress: it is taken once.
    const pending = deps.keySignIns.take(uid);
    let form: URLSearchParams;
    try {
      form = await readForm(req);
    } catch (err) {
      return signInPage(400, { message: (err as Error).message });
    }
    const backend = deps.backendFor({ ip: deps.ip, client: clientLabel });

    const finish = async (result: Extract<SignInResult, { status: 'signed-in' }>) => {
      const sub = storage.sessionAccount(result.session.token);
      // The provider keeps its own session: the acctsec session the sign-in made ends now.
      await deps
        .backendFor({ sessionToken: result.session.token, ip: deps.ip, client: clientLabel })
        .signOut()
        .catch(() => undefined);
      if (!sub) return page(res, 500, 'Sign-in failed', '<p>Try again.</p>');
      return provider.interactionFinished(req, res, { login: { accountId: sub } }, { mergeWithLastSubmission: false });
    };
    const refused = (err: unknown, username: string) => {
      const message = err instanceof AcctsecError ? err.message : 'the sign-in failed';
      // Throttled: 429; the server cannot take the step now (a full key-step table): 503, which the
      // per-address limit does not count; anything else is a refused sign-in.
      const status =
        err instanceof AcctsecError && err.slug === 'throttled' ? 429 : err instanceof Unavailable ? 503 : 401;
      return signInPage(status, { username, message });
    };

    if (action === 'key') {
      if (!pending) return signInPage(400, { message: 'The security key step has ended; sign in again.' });
      try {
        const answer = keyAnswer(form.get('assertion'));
        await backend.submitKeyCeremony(pending.ceremonyId, answer).catch(async (err: unknown) => {
          // Not a WebAuthn answer at all: recorded as the browser's failure, so signIn counts it.
          if (!(err instanceof InvalidInput)) throw err;
          await backend.submitKeyCeremony(pending.ceremonyId, { error: 'the page sent no WebAuthn answer' });
        });
        const result = await backend.signIn({
          username: pending.username,
          password: pending.password,
          client: clientLabel,
          secondFactor: { method: 'key', code: pending.ceremonyId },
        });
        if (result.status !== 'signed-in') throw new Error('the key sign-in asked for a second factor again');
        return await finish(result);
      } catch (err) {
        return refused(err, pending.username);
      }
    }

    const username = (form.get('username') ?? '').slice(0, 200);
    const password = form.get('password') ?? '';
    const method = form.get('method') ?? undefined;
    const code = form.get('code') ?? undefined;
    try {
      if (action === 'send-code') {
        await backend.sendSignInCode({ username, password, method: MAILED_DEFAULT });
        return signInPage(200, {
          username,
          methods: [{ id: MAILED_DEFAULT, label: 'a code sent by email' }],
          method: MAILED_DEFAULT,
          message: 'A code is on its way to your address.',
        });
      }
      const result = await backend.signIn({
        username,
        password,
        client: clientLabel,
        ...(method && code ? { secondFactor: { method, code } } : {}),
      });
      if (result.status === 'signed-in') return await finish(result);
      if (!result.methods.some((m) => isCeremony(m.id))) return signInPage(200, { username, methods: result.methods });
      // The key step: the CLI's `login --method key`, whose ceremony runs on this page.
      const ceremony = await backend.beginKeySignIn({ username, password });
      // The service verifies the answer against the origin the ceremony was made for: it must be this page's.
      if (new URL(ceremony.url).origin !== deps.origin)
        throw new Unavailable(
          `security keys cannot be used on this page: their ceremonies run at ${new URL(ceremony.url).origin}, not at ${deps.origin}`,
        );
      const options = await backend.keyCeremonyOptions(ceremony.ceremonyId);
      const kept = deps.keySignIns.put(uid, {
        username,
        password,
        ceremonyId: ceremony.ceremonyId,
        expiresAt: Date.parse(ceremony.expiresAt),
      });
      if (!kept)
        throw new Unavailable(
          'too many sign-ins with a security key are waiting for this account or this server; finish or cancel one, or try again in a few minutes',
        );
      return signInPage(
        200,
        { username, methods: result.methods, keyOptions: JSON.stringify(options.publicKey) },
        KEY_STEP_HEADERS,
      );
    } catch (err) {
      return refused(err, username);
    }
  }

  if (prompt.name === 'consent') {
    const missing = (prompt.details.missingOIDCScope as string[] | undefined) ?? [];
    const redirect = clientId !== CLI_CLIENT_ID && typeof params.redirect_uri === 'string' ? params.redirect_uri : '';
    let redirectHost = redirect;
    try {
      redirectHost = new URL(redirect).host;
    } catch {
      // shown as given
    }
    if (action === 'show')
      return page(res, 200, 'Allow this application?', consentForm(uid, app, missing, redirectHost));
    if (action !== 'confirm') return page(res, 400, 'Answer the question first', '');
    const accountId = details.session?.accountId;
    if (!accountId) return page(res, 400, 'Sign in first', '');
    const existing = details.grantId ? await provider.Grant.find(details.grantId) : undefined;
    const grant = existing ?? new provider.Grant({ accountId, clientId });
    if (missing.length) grant.addOIDCScope(missing.join(' '));
    const claims = (prompt.details.missingOIDCClaims as string[] | undefined) ?? [];
    if (claims.length) grant.addOIDCClaims(claims);
    const grantId = await grant.save();
    storage.authorized(accountId, clientId, missing, !existing, deps.ip);
    return provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
  }
  return page(res, 400, 'Nothing to do here', '');
}
