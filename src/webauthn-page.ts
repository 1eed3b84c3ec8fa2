import { strictPageHeaders } from './page-headers.js';

// The browser page of a security key ceremony (SPEC §4.3), served on loopback by the CLI in local mode
// and by `acctsec serve` under its own origin in remote mode. It reads the ceremony id from the URL's
// fragment (never sent to a server), fetches the options, runs navigator.credentials.create() or
// .get() when the user presses the button (Safari wants a gesture), and posts the browser's answer,
// or its error, back. It never sees a session or a password.

export const KEY_PAGE_PATH = '/webauthn';

/**
 * The browser's side of WebAuthn shared by every page that runs a ceremony (this page, and the key
 * step of the OAuth sign-in page, server/oauth-pages.ts): base64url to and from bytes,
 * navigator.credentials.get() with the server's options answered as AuthenticationResponseJSON, and
 * a refusal as one line.
 */
export const WEBAUTHN_BROWSER_CODE = `
const dec = (s) => Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/') + '==='.slice((s.length + 3) % 4)), (c) => c.charCodeAt(0)).buffer;
const enc = (b) => btoa(String.fromCharCode(...new Uint8Array(b))).replace(/\\+/g, '-').replace(/\\//g, '_').replace(/=+$/, '');
async function assertion(pk) {
  const c = await navigator.credentials.get({ publicKey: { ...pk, challenge: dec(pk.challenge),
    allowCredentials: (pk.allowCredentials || []).map((x) => ({ ...x, id: dec(x.id) })) } });
  return { id: c.id, rawId: enc(c.rawId), type: c.type, authenticatorAttachment: c.authenticatorAttachment || undefined,
    clientExtensionResults: c.getClientExtensionResults(),
    response: { clientDataJSON: enc(c.response.clientDataJSON), authenticatorData: enc(c.response.authenticatorData),
      signature: enc(c.response.signature), userHandle: c.response.userHandle ? enc(c.response.userHandle) : undefined } };
}
const failure = (e) => (e && e.name ? e.name + ': ' : '') + (e && e.message ? e.message : String(e));
`;

const SCRIPT = `
const id = location.hash.slice(1);
const status = document.getElementById('status');
const button = document.getElementById('go');
const show = (text, bad) => { status.textContent = text; status.className = bad ? 'bad' : ''; };
${WEBAUTHN_BROWSER_CODE}async function call(path, body) {
  const r = await fetch(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const j = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error((j.error && j.error.message) || 'the server answered ' + r.status);
  return j;
}
const TITLES = { register: 'Add a security key', signin: 'Sign in with your security key', proof: 'Confirm it is you with your security key', recover: 'Recover your account with your security key' };
let options;
async function load() {
  if (!id) return show('Open the exact link the terminal printed (it ends with #...).', true);
  try {
    options = await call('/v1/keys/ceremony/options', { ceremonyId: id });
  } catch (e) {
    return show(e.message, true);
  }
  document.getElementById('title').textContent = TITLES[options.purpose] || 'Security key';
  button.hidden = false;
  button.focus();
  show('Press the button, then touch your key.');
}
async function run() {
  button.disabled = true;
  const pk = options.publicKey;
  let answer;
  try {
    if (options.purpose === 'register') {
      const c = await navigator.credentials.create({ publicKey: { ...pk, challenge: dec(pk.challenge), user: { ...pk.user, id: dec(pk.user.id) },
        excludeCredentials: (pk.excludeCredentials || []).map((x) => ({ ...x, id: dec(x.id) })) } });
      answer = { response: { id: c.id, rawId: enc(c.rawId), type: c.type, authenticatorAttachment: c.authenticatorAttachment || undefined,
        clientExtensionResults: c.getClientExtensionResults(),
        response: { clientDataJSON: enc(c.response.clientDataJSON), attestationObject: enc(c.response.attestationObject),
          transports: c.response.getTransports ? c.response.getTransports() : [] } } };
    } else {
      answer = { response: await assertion(pk) };
    }
  } catch (e) {
    answer = { error: failure(e) };
  }
  try {
    await call('/v1/keys/ceremony/answer', { ceremonyId: id, answer });
  } catch (e) {
    return show(e.message, true);
  }
  button.hidden = true;
  if (answer.error) show('The browser reported: ' + answer.error + '. Return to the terminal.', true);
  else show('Done. Return to the terminal; you can close this tab.');
  document.body.dataset.done = answer.error ? 'error' : 'ok';
}
button.addEventListener('click', run);
// A new ceremony's link in the same tab changes only the fragment: start over with it.
window.addEventListener('hashchange', () => location.reload());
load();
`;

const STYLE = `body{font:16px/1.5 system-ui,sans-serif;max-width:34em;margin:4em auto;padding:0 1em}button{font-size:1.1em;padding:.5em 1.2em}.bad{color:#b00020}`;

export const KEY_PAGE_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="referrer" content="no-referrer"><title>acctsec: security key</title><style>${STYLE}</style></head>
<body><h1 id="title">Security key</h1><p id="status">Loading…</p><button id="go" type="button" hidden>Use my security key</button>
<script>${SCRIPT}</script></body></html>
`;

/** Only this page's own script and style run; it talks only to its own origin and cannot be framed. */
export const KEY_PAGE_HEADERS: Record<string, string> = strictPageHeaders(SCRIPT, STYLE);
