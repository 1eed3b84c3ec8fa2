import type { IncomingMessage, ServerResponse } from 'node:http';
import type Provider from 'oidc-provider';
import type { Backend } from '../backend/backend.js';
import { AcctsecError } from '../errors.js';
import { CLI_CLIENT_ID, type OAuthStorage } from '../oauth-types.js';
import type { FactorChoice } from '../views.js';

// The sign-in and consent pages of the OAuth provider (issue #21). A person signs in here with the
// account's real rules: the page calls the same Backend `signIn` as the CLI (password, then a second
// factor: an authenticator app code or an emailed code; locks, throttles and the IP restriction all
// apply), and the acctsec session that sign-in makes is ended at once: the provider keeps its own.
// Security keys are not offered on these pages yet (docs/oauth.md).
//
// The pages run no script and load nothing; the forms post back to the same interaction, whose
// cookie (SameSite=Lax, set by the provider) a page on another site cannot send with a POST, so a
// form there cannot drive one.

export interface InteractionDeps {
  provider: Provider;
  storage: OAuthStorage;
  /** A Backend for an anonymous caller from this address (sign-in), or for a session (sign-out). */
  backendFor(credentials: { sessionToken?: string; ip: string; client: string }): Backend;
  ip: string;
}

/** The headers of every page under /oauth2 (here and the device pages of oauth.ts): no script, no framing, no copy kept. */
export const PAGE_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  'content-security-policy': "default-src 'none'; base-uri 'none'; frame-ancestors 'none'",
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
};

export const esc = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const INTERACTION = /^\/oauth2\/interaction\/([A-Za-z0-9_-]{1,64})(?:\/(login|send-code|confirm|abort))?$/;

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

function page(res: ServerResponse, status: number, title: string, body: string): void {
  const html = pageHtml(title, body);
  res.writeHead(status, { ...PAGE_HEADERS, 'content-length': Buffer.byteLength(html) });
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
}

function loginForm(v: LoginView): string {
  const action = `/oauth2/interaction/${esc(v.uid)}`;
  const second = v.methods
    ? `<p>This account has a second factor. Enter your password again with a code.</p>
<p><label>Method <select name="method">${v.methods
        .filter((m) => m.id !== 'key')
        .map((m) => `<option value="${esc(m.id)}"${m.id === v.method ? ' selected' : ''}>${esc(m.label)}</option>`)
        .join('')}</select></label></p>
<p><label>Code <input name="code" autocomplete="one-time-code" inputmode="numeric" required></label></p>`
    : '';
  const sendCode = v.methods?.some((m) => m.id === 'email')
    ? `<p><button formaction="${action}/send-code" formnovalidate>Email me a code</button></p>`
    : '';
  return `<p>Sign in to allow <strong>${esc(v.app)}</strong> to use your acctsec account.</p>
${v.message ? `<p role="alert"><strong>${esc(v.message)}</strong></p>` : ''}
<form method="post" action="${action}/login">
<p><label>Username <input name="username" autocomplete="username" required value="${esc(v.username ?? '')}"></label></p>
<p><label>Password <input name="password" type="password" autocomplete="current-password" required></label></p>
${second}
<p><button type="submit">Sign in</button></p>
${sendCode}
</form>
<form method="post" action="${action}/abort"><p><button type="submit">Cancel</button></p></form>`;
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
    return provider.interactionFinished(
      req,
      res,
      { error: 'access_denied', error_description: 'the person declined' },
      { mergeWithLastSubmission: false },
    );
  }

  if (prompt.name === 'login') {
    if (action === 'show') return page(res, 200, 'Sign in with acctsec', loginForm({ uid, app: app.name }));
    if (action !== 'login' && action !== 'send-code') return page(res, 400, 'Sign in first', '');
    let form: URLSearchParams;
    try {
      form = await readForm(req);
    } catch (err) {
      return page(res, 400, 'Sign in with acctsec', loginForm({ uid, app: app.name, message: (err as Error).message }));
    }
    const username = (form.get('username') ?? '').slice(0, 200);
    const password = form.get('password') ?? '';
    const method = form.get('method') ?? undefined;
    const code = form.get('code') ?? undefined;
    const backend = deps.backendFor({ ip: deps.ip, client: clientLabel });
    try {
      if (action === 'send-code') {
        await backend.sendSignInCode({ username, password, method: 'email' });
        return page(
          res,
          200,
          'Sign in with acctsec',
          loginForm({
            uid,
            app: app.name,
            username,
            methods: [{ id: 'email', label: 'a code sent by email' }],
            method: 'email',
            message: 'A code is on its way to your address.',
          }),
        );
      }
      const result = await backend.signIn({
        username,
        password,
        client: clientLabel,
        ...(method && code ? { secondFactor: { method, code } } : {}),
      });
      if (result.status === 'second-factor-required')
        return page(
          res,
          200,
          'Sign in with acctsec',
          loginForm({ uid, app: app.name, username, methods: result.methods }),
        );
      const sub = storage.sessionAccount(result.session.token);
      // The provider keeps its own session: the acctsec session the sign-in made ends now.
      await deps
        .backendFor({ sessionToken: result.session.token, ip: deps.ip, client: clientLabel })
        .signOut()
        .catch(() => undefined);
      if (!sub) return page(res, 500, 'Sign-in failed', '<p>Try again.</p>');
      return provider.interactionFinished(req, res, { login: { accountId: sub } }, { mergeWithLastSubmission: false });
    } catch (err) {
      const message = err instanceof AcctsecError ? err.message : 'the sign-in failed';
      const status = err instanceof AcctsecError && err.slug === 'throttled' ? 429 : 401;
      return page(res, status, 'Sign in with acctsec', loginForm({ uid, app: app.name, username, message }));
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
