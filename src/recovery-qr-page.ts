import { strictPageHeaders } from './page-headers.js';

// The approval page of QR-code recovery (issue #20 §1), served by `acctsec serve` at QR_PAGE_PATH
// under its --public-url. A phone opens it by scanning the printed code; the secret is in the URL's
// fragment, which browsers never send, so it reaches no access log; the script takes it, drops it from
// the address bar and history, and posts it: to list the account's waiting requests (time, address,
// and the phrase the terminal also shows, so the owner approves their own request, not someone else's)
// and to approve one. Approval is a POST carrying the secret, so another site cannot make a visitor's
// browser approve anything (no ambient credential: no cookie, no session). Built with textContent
// only: nothing a request carries is read as HTML.

const SCRIPT = `
const secret = location.hash.slice(1);
history.replaceState(null, '', location.pathname);
const status = document.getElementById('status');
const list = document.getElementById('requests');
const again = document.getElementById('again');
const show = (text, bad) => { status.textContent = text; status.className = bad ? 'bad' : ''; };
async function call(path, body) {
  const r = await fetch(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), cache: 'no-store', referrerPolicy: 'no-referrer' });
  const j = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error((j.error && j.error.message) || 'the server answered ' + r.status);
  return j;
}
function line(label, value) {
  const p = document.createElement('p');
  const b = document.createElement('b');
  b.textContent = label + ': ';
  p.append(b, value);
  return p;
}
async function approve(request, button) {
  for (const b of list.querySelectorAll('button')) b.disabled = true;
  try {
    await call('/v1/recover/qr/approve', { secret, requestId: request.id });
  } catch (e) {
    for (const b of list.querySelectorAll('button')) b.disabled = false;
    return show(e.message, true);
  }
  list.replaceChildren();
  again.hidden = true;
  show('Approved. Return to the terminal: it now asks for the new password. This QR code no longer works; make a new one after signing in.');
  document.body.dataset.done = 'ok';
}
async function load() {
  if (!secret) return show('Open this page by scanning your printed recovery QR code.', true);
  show('Looking for your recovery request…');
  let answer;
  try {
    answer = await call('/v1/recover/qr/pending', { secret });
  } catch (e) {
    return show(e.message, true);
  }
  document.getElementById('account').textContent = 'Account: ' + answer.username;
  list.replaceChildren();
  again.hidden = false;
  if (answer.requests.length === 0) {
    document.body.dataset.pending = '0';
    return show('No recovery request is waiting. On your computer, run: acctsec recover --username ' + answer.username + ' --method qr, then press Look again.');
  }
  document.body.dataset.pending = String(answer.requests.length);
  show('Approve only the request whose words match the ones your terminal shows. If none does, someone else is trying: do not approve, and change your password once you are back in.');
  for (const r of answer.requests) {
    const box = document.createElement('section');
    box.className = 'request';
    const phrase = document.createElement('p');
    phrase.className = 'phrase';
    phrase.textContent = r.phrase;
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'approve';
    button.dataset.phrase = r.phrase;
    button.textContent = 'Approve: the words match';
    button.addEventListener('click', () => approve(r, button));
    box.append(phrase, line('Asked at', new Date(r.createdAt).toLocaleString()), line('From', r.ip || 'unknown address'), line('Program', r.client || 'unknown'), button);
    list.append(box);
  }
}
again.addEventListener('click', load);
load();
`;

const STYLE = `body{font:17px/1.5 system-ui,sans-serif;max-width:34em;margin:2em auto;padding:0 1em}button{font-size:1.1em;padding:.6em 1.2em;margin:.3em 0}.bad{color:#b00020}.request{border:1px solid #888;border-radius:8px;padding:.2em 1em;margin:1em 0}.phrase{font:bold 1.5em/1.3 ui-monospace,monospace}`;

export const QR_PAGE_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="referrer" content="no-referrer"><meta name="robots" content="noindex"><title>acctsec: account recovery</title><style>${STYLE}</style></head>
<body><h1>Recover your account</h1><p id="account"></p><p id="status">Loading…</p><div id="requests"></div>
<button id="again" type="button" hidden>Look again</button>
<script>${SCRIPT}</script></body></html>
`;

/** Only this page's own script and style run; it talks only to its own origin and cannot be framed. */
export const QR_PAGE_HEADERS: Record<string, string> = strictPageHeaders(SCRIPT, STYLE);
