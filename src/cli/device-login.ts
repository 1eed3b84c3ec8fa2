import { setTimeout as sleep } from 'node:timers/promises';
import { AuthFailed, InvalidInput, Unavailable } from '../errors.js';
import { CLI_CLIENT_ID, DEVICE_SESSION_PATH } from '../oauth-types.js';
import type { SessionGrant } from '../views.js';
import type { Factory } from './factory.js';
import { localTime } from './format.js';
import { parseTimeout } from './key-ceremony.js';

// `acctsec login --device` (issue #21): sign in to an acctsec server from a terminal that has no
// browser, with the OAuth 2.0 device authorization grant (RFC 8628). The terminal shows a URL and a
// short code; the person opens the URL anywhere, signs in there with the account's full rules
// (password, second factor, IP restriction) and allows "acctsec command line"; the terminal polls
// the token endpoint, then trades the access token for an acctsec session once (the token is spent).
// No password or code ever passes through the terminal.

const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

interface DeviceAuthorization {
  device_code: string;
  user_code: string;
  verification_uri: string;
  verification_uri_complete?: string;
  expires_in: number;
  interval?: number;
}

async function post(url: string, body: URLSearchParams, headers: Record<string, string> = {}) {
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      body,
      redirect: 'error',
    });
  } catch (err) {
    throw new Unavailable(`cannot reach ${new URL(url).origin}: ${(err as Error).message}`);
  }
  const text = await res.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // not JSON: judged by the status below
  }
  return { status: res.status, json };
}

export async function deviceLoginRun(f: Factory, options: { timeout?: string | undefined }): Promise<void> {
  const limit = options.timeout === undefined ? undefined : parseTimeout(options.timeout);
  const backend = await f.backendWith(undefined);
  const server = backend.location;
  if (!/^https?:\/\//.test(server))
    throw new InvalidInput(
      '--device signs in to an acctsec server: give it with --remote URL (or the profile\'s "remote")',
      '--device',
    );
  const base = server.replace(/\/+$/, '');
  const start = await post(
    `${base}/oauth2/device/auth`,
    new URLSearchParams({ client_id: CLI_CLIENT_ID, scope: 'openid' }),
  );
  if (start.status === 404)
    throw new Unavailable(
      `${base} has no sign-in pages (its operator starts \`acctsec serve\` with --public-url)`,
      'no_oauth',
    );
  if (start.status !== 200 || typeof start.json.device_code !== 'string')
    throw new Unavailable(`${base} did not start a device login (HTTP ${start.status})`);
  const auth = start.json as unknown as DeviceAuthorization;
  f.io.note(
    `To sign in, open ${auth.verification_uri_complete ?? auth.verification_uri} in any browser and check that it shows the code ${auth.user_code}.`,
  );
  const until = Date.now() + Math.min(limit ?? auth.expires_in, auth.expires_in) * 1000;
  let interval = Math.max(1, auth.interval ?? 5) * 1000;
  let accessToken: string | undefined;
  while (!accessToken) {
    if (Date.now() + interval > until)
      throw new AuthFailed('the device login was not completed in time; run `acctsec login --device` again', 'timeout');
    await sleep(interval);
    const r = await post(
      `${base}/oauth2/token`,
      new URLSearchParams({ grant_type: DEVICE_GRANT, device_code: auth.device_code, client_id: CLI_CLIENT_ID }),
    );
    if (r.status === 200 && typeof r.json.access_token === 'string') accessToken = r.json.access_token;
    else if (r.json.error === 'authorization_pending') continue;
    else if (r.json.error === 'slow_down') interval += 5000;
    else if (r.json.error === 'access_denied') throw new AuthFailed('the device login was declined in the browser');
    else if (r.json.error === 'expired_token')
      throw new AuthFailed('the device code expired; run `acctsec login --device` again', 'timeout');
    else
      throw new Unavailable(
        `the device login failed: ${typeof r.json.error === 'string' ? r.json.error : `HTTP ${r.status}`}`,
      );
  }
  const traded = await post(`${base}${DEVICE_SESSION_PATH}`, new URLSearchParams(), {
    authorization: `Bearer ${accessToken}`,
  });
  if (traded.status !== 200) throw new AuthFailed('the server did not open a session for this device login');
  const session = traded.json as unknown as SessionGrant;
  const profiles = await f.profiles();
  const previous = profiles.session();
  await profiles.saveSession({
    token: session.token,
    sessionId: session.sessionId,
    username: session.username,
    location: backend.location,
  });
  if (previous && previous.location === backend.location && previous.token !== session.token)
    await (await f.backendWith(previous.token)).signOut().catch(() => undefined);
  await f.rememberServer();
  if (f.globals.json) {
    f.io.json({ username: session.username, sessionId: session.sessionId, expiresAt: session.expiresAt, notices: [] });
    return;
  }
  f.io.out(`Signed in as ${session.username} (session ${session.sessionId}, ends by ${localTime(session.expiresAt)}).`);
}
