import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type Provider from 'oidc-provider';
import {
  CLI_CLIENT_ID,
  DEVICE_SESSION_PATH,
  OAUTH_TOKEN_PREFIX,
  type OAuthClientRecord,
  type OAuthStorage,
} from '../oauth-types.js';
import {
  esc,
  handleInteraction,
  interactionRoute,
  PAGE_HEADERS,
  pageHtml,
  PendingKeySignIns,
  type InteractionDeps,
} from './oauth-pages.js';

// acctsec as an OAuth 2.0 / OpenID Connect provider (issue #21): oidc-provider (OpenID Certified,
// panva), mounted by `acctsec serve --public-url URL` under /oauth2, so the issuer is URL/oauth2 and
// discovery is at URL/oauth2/.well-known/openid-configuration. Its storage is ours (the adapter below
// over OAuthStorage, service/oauth-storage.ts); it is loaded on the first request under /oauth2, so a
// server that never sees one, and every CLI command, pays nothing for it.
//
// What is decided here (docs/oauth.md says why):
// - clients are the registered applications (oauth_apps); a deleted or disabled one is unknown;
// - a client secret is checked against its SHA-256, in constant time (oidc-provider would compare the
//   plain secret, which we do not keep); HMAC-based algorithms that would key on it are not offered;
// - PKCE with S256 on every authorization code request; refresh tokens rotate on each use;
// - access and refresh tokens carry the prefix acsoa_ (secret scanners match it); only their SHA-256
//   is stored;
// - ID tokens are signed with RS256 keys kept sealed in the database; `admin oauth keys rotate` adds
//   one, and the provider is rebuilt when the keys change (JWKS then lists the new and the old key).

export const OAUTH_PATH = '/oauth2';

export interface OAuthHandlerOptions {
  /** The issuer: the server's public URL and OAUTH_PATH. */
  issuer: string;
  storage: () => Promise<OAuthStorage>;
  /** Backends for the sign-in page (it signs in as every client does). */
  backendFor: InteractionDeps['backendFor'];
  log?: (line: string) => void;
}

/**
 * The server's per-address limits, as the OAuth pages use them (issue #15's limiter: the sign-in page
 * counts failed sign-ins against the address like the API does; anonymous requests that make the
 * provider store something draw from a budget per address).
 */
export interface OAuthGuard {
  /** Seconds until the address may try a sign-in again, or 0 when it may now. */
  retryAfter(ip: string): number;
  /** A turn among the address's sign-in checks in flight, or a refusal with the seconds to wait. */
  admit(ip: string): Promise<{ release: () => void } | { retryAfter: number }>;
  recordFailure(ip: string): void;
  /** One request that makes the provider store a row (an authorization or device request): false when over budget. */
  take(ip: string): boolean;
}

/** Serves a request under /oauth2; `ip` is the client address the server settled on. */
export type OAuthHandler = (req: IncomingMessage, res: ServerResponse, ip: string, guard?: OAuthGuard) => void;

/**
 * Requests that store something for an anonymous caller (an interaction, a device code, a session
 * with the device page's xsrf secret), by method and path as the provider's router matches them:
 * HEAD as GET, any case, trailing slashes ignored (see budgetKey).
 */
const STORING = new Set([
  'GET /oauth2/auth',
  'POST /oauth2/auth',
  'POST /oauth2/device/auth',
  'GET /oauth2/device',
  'POST /oauth2/device',
]);

/** A request as the provider's router sees it (@koa/router: case-insensitive, trailing slash optional, HEAD for GET). */
function budgetKey(method: string, pathname: string): string {
  return `${method === 'HEAD' ? 'GET' : method} ${pathname.toLowerCase().replace(/\/+$/, '')}`;
}

/** The sign-in page's posts that check a password or code. */
const SIGN_IN_ACTIONS = new Set(['login', 'send-code', 'key']);

/** True for the paths the provider answers. */
export function isOAuthPath(pathname: string): boolean {
  return pathname === OAUTH_PATH || pathname.startsWith(`${OAUTH_PATH}/`);
}

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest();

/**
 * The client address the server settled on (its trusted-proxy rules applied), per request handed to
 * the provider: never a header the client sent, which the provider's own ctx.ip would read.
 */
const requestAddress = new WeakMap<IncomingMessage, string>();

/** The acctsec CLI: a public client, allowed only the device grant (`acctsec login --device`). */
const CLI_CLIENT: Record<string, unknown> = {
  client_id: CLI_CLIENT_ID,
  client_name: 'acctsec command line',
  grant_types: ['urn:ietf:params:oauth:grant-type:device_code'],
  response_types: [],
  redirect_uris: [],
  token_endpoint_auth_method: 'none',
  application_type: 'native',
};

/** A page of the device login (RFC 8628), with the sign-in pages' look and headers. */
function devicePage(
  ctx: { type: string; body: unknown; set(name: string, value: string): void },
  title: string,
  body: string,
) {
  ctx.type = 'html';
  for (const [name, value] of Object.entries(PAGE_HEADERS)) if (name !== 'content-type') ctx.set(name, value);
  ctx.body = pageHtml(title, body);
}

/** Client metadata (RFC 7591 names) for a registered application. */
function clientMetadata(app: OAuthClientRecord): Record<string, unknown> {
  const loopback = app.redirectUris.some((u) => u.startsWith('http:'));
  return {
    client_id: app.clientId,
    client_name: app.name,
    redirect_uris: app.redirectUris,
    response_types: ['code'],
    grant_types: app.public
      ? ['authorization_code', 'refresh_token']
      : ['authorization_code', 'refresh_token', 'client_credentials'],
    token_endpoint_auth_method: app.public ? 'none' : 'client_secret_basic',
    // The secret's hash stands where the provider keeps a secret; compareClientSecret checks against it.
    ...(app.public ? {} : { client_secret: app.secretHash ?? '' }),
    application_type: loopback ? 'native' : 'web',
    id_token_signed_response_alg: 'RS256',
  };
}

/**
 * `acctsec login --device`, last step: the CLI presents the access token of its device grant and gets
 * an acctsec session of that account in exchange; the token is spent.
 */
function deviceSession(
  req: IncomingMessage,
  res: ServerResponse,
  storage: OAuthStorage,
  ip: string,
  log?: (line: string) => void,
): void {
  const answer = (status: number, body: unknown) => {
    const text = JSON.stringify(body);
    res.writeHead(status, {
      'content-type': 'application/json',
      'cache-control': 'no-store',
      'content-length': Buffer.byteLength(text),
      ...(status === 401 ? { 'www-authenticate': 'Bearer error="invalid_token"' } : {}),
    });
    res.end(text);
  };
  if (req.method !== 'POST') return answer(405, { error: 'invalid_request', error_description: 'use POST' });
  req.resume();
  const auth = req.headers.authorization ?? '';
  const token = /^Bearer\s+(\S+)$/i.exec(auth)?.[1];
  let session: ReturnType<OAuthStorage['deviceSession']>;
  try {
    session = token?.startsWith(OAUTH_TOKEN_PREFIX)
      ? storage.deviceSession(token, { ip, client: `device login from ${ip}` })
      : undefined;
  } catch (err) {
    log?.(`oauth: device session: ${err instanceof Error ? err.message : String(err)}`);
    return answer(500, { error: 'server_error', error_description: 'the session could not be made; try again' });
  }
  if (!session)
    return answer(401, {
      error: 'invalid_token',
      error_description: 'not an active access token of a device login (each is good for one session)',
    });
  answer(200, session);
}

export function createOAuthHandler(options: OAuthHandlerOptions): OAuthHandler {
  let built:
    | {
        version: string;
        provider: Provider;
        storage: OAuthStorage;
        callback: (req: IncomingMessage, res: ServerResponse) => unknown;
      }
    | undefined;
  let building: Promise<typeof built> | undefined;
  const issuerUrl = new URL(options.issuer);
  const publicHost = issuerUrl.host;
  const publicOrigin = issuerUrl.origin;
  // Key steps of the sign-in page in progress; kept across rebuilds of the provider.
  const keySignIns = new PendingKeySignIns();

  async function build(storage: OAuthStorage) {
    const { default: OidcProvider, errors, interactionPolicy } = await import('oidc-provider');
    const { version, keys } = storage.signingKeys();

    class StoreAdapter {
      constructor(private readonly model: string) {}
      async upsert(id: string, payload: Record<string, unknown>, expiresIn?: number) {
        storage.upsert(this.model, id, payload, expiresIn);
      }
      async find(id: string) {
        if (this.model === 'Client') {
          if (id === CLI_CLIENT_ID) return CLI_CLIENT;
          const app = storage.client(id);
          return app ? clientMetadata(app) : undefined;
        }
        return storage.find(this.model, id);
      }
      async findByUid(uid: string) {
        return storage.findByUid(this.model, uid);
      }
      async findByUserCode(userCode: string) {
        return storage.findByUserCode(this.model, userCode);
      }
      async consume(id: string) {
        // One conditional UPDATE: the second of two racing uses of a code is refused here.
        if (!storage.consume(this.model, id)) throw new errors.InvalidGrant('grant request is invalid');
      }
      async destroy(id: string) {
        storage.destroy(this.model, id);
      }
      async revokeByGrantId(grantId: string) {
        storage.revokeByGrantId(grantId);
      }
    }

    // A device login of the acctsec CLI makes a full acctsec session: it always asks to sign in and to
    // confirm, even in a browser already signed in that allowed it before (a user code someone else
    // sends you must not be one click away from a session of your account).
    const { Check } = interactionPolicy;
    const policy = interactionPolicy.base();
    for (const prompt of ['login', 'consent'] as const)
      policy
        .get(prompt)!
        .checks.add(
          new Check(`acctsec_device_${prompt}`, `a device login asks for ${prompt} every time`, (ctx) =>
            ctx.oidc.client?.clientId === CLI_CLIENT_ID && !ctx.oidc.result?.[prompt]
              ? Check.REQUEST_PROMPT
              : Check.NO_NEED_TO_PROMPT,
          ),
        );

    const provider = new OidcProvider(options.issuer, {
      adapter: StoreAdapter,
      clients: [],
      findAccount: async (ctx, sub, token) => {
        // Userinfo (the one caller that hands over an access token): the token is used from the
        // address the server settled on, and the person's IP list holds, as introspection has it.
        const from = token?.kind === 'AccessToken' ? requestAddress.get(ctx.req) : undefined;
        if (token?.kind === 'AccessToken' && from === undefined) return undefined;
        const account = storage.account(sub, from);
        if (!account) return undefined;
        return {
          accountId: sub,
          claims: async () => ({
            sub,
            preferred_username: account.username,
            email: account.email,
            email_verified: account.emailVerified,
          }),
        };
      },
      claims: { openid: ['sub'], profile: ['preferred_username'], email: ['email', 'email_verified'] },
      scopes: ['openid', 'offline_access', 'profile', 'email'],
      jwks: { keys: keys },
      cookies: {
        // Derived from the signing key's private part: secret, stable across restarts, rotated with it.
        keys: [sha256(`acctsec oauth cookies ${keys[0]!.d}`).toString('base64url')],
      },
      features: {
        devInteractions: { enabled: false },
        // Not offered: a pushed request is one more row an anonymous caller could make us store.
        pushedAuthorizationRequests: { enabled: false },
        // Not offered either: RP-initiated logout (/oauth2/session/end) would let anyone make the
        // provider store a session (its xsrf secret) for a day; apps end their tokens by revocation.
        rpInitiatedLogout: { enabled: false },
        clientCredentials: { enabled: true },
        revocation: { enabled: true },
        // RFC 7662 at /oauth2/token/introspection: an application may ask about the tokens issued to it.
        // RFC 8628, for `acctsec login --device` (the CLI client above) and any registered app.
        deviceFlow: {
          enabled: true,
          charset: 'base-20',
          mask: '****-****',
          // The address the server settled on (set as the only X-Forwarded-For hop below) and a
          // bounded user agent: shown on the confirm page, kept with the device code.
          deviceInfo: (ctx) => ({ ip: ctx.ip, ua: String(ctx.get('user-agent') ?? '').slice(0, 200) }),
          userCodeInputSource: async (ctx, form, _out, err) => {
            const msg = err
              ? '<p role="alert"><strong>That code is not valid (mistyped, used, or expired). Try again.</strong></p>'
              : '<p>Enter the code your terminal shows.</p>';
            devicePage(
              ctx,
              'Sign in a device',
              `${msg}${form}<p><button type="submit" form="op.deviceInputForm">Continue</button></p>`,
            );
          },
          userCodeConfirmSource: async (ctx, form, client, deviceInfo, userCode) => {
            const info = deviceInfo as { ip?: string; ua?: string };
            devicePage(
              ctx,
              'Confirm the device',
              `<p><strong>${esc(String(client.clientName ?? client.clientId))}</strong> asks to sign in.</p>
<p>The request came from the address <strong>${esc(String(info.ip ?? 'unknown'))}</strong>${
                info.ua ? ` (${esc(String(info.ua))})` : ''
              }.</p>
<p>Continue only if you started this sign-in yourself, in your own terminal, and it shows this code: <code>${esc(
                userCode,
              )}</code>. If someone sent you this code or link, stop: they would get access to your account.</p>${form}
<p><button type="submit" form="op.deviceConfirmForm">Continue</button></p>
<p><button type="submit" form="op.deviceConfirmForm" value="yes" name="abort">Abort</button></p>`,
            );
          },
          successSource: async (ctx) => {
            devicePage(ctx, 'Device signed in', '<p>You can close this page and go back to your terminal.</p>');
          },
        },
        introspection: {
          enabled: true,
          allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId,
        },
      },
      clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'none'],
      enabledJWA: {
        idTokenSigningAlgValues: ['RS256'],
        userinfoSigningAlgValues: ['RS256'],
        introspectionSigningAlgValues: ['RS256'],
        authorizationSigningAlgValues: ['RS256'],
        requestObjectSigningAlgValues: ['RS256'],
        clientAuthSigningAlgValues: ['RS256'],
      },
      responseTypes: ['code'],
      pkce: { methods: ['S256'], required: () => true },
      rotateRefreshToken: true,
      ttl: {
        AccessToken: 600,
        ClientCredentials: 600,
        AuthorizationCode: 60,
        IdToken: 3600,
        RefreshToken: 14 * 24 * 3600,
        Interaction: 600,
        Session: 24 * 3600,
        Grant: 365 * 24 * 3600,
        DeviceCode: 600,
      },
      interactions: { policy, url: (_ctx, interaction) => `${OAUTH_PATH}/interaction/${interaction.uid}` },
      clientBasedCORS: () => false,
      renderError: async (ctx, out) => {
        // No stack, no internals: the standard error code and its description, escaped.
        ctx.type = 'html';
        ctx.set('content-security-policy', "default-src 'none'; frame-ancestors 'none'");
        ctx.body = `<!DOCTYPE html><html><head><meta charset="utf-8"><title>acctsec: ${esc(
          String(out.error ?? 'error'),
        )}</title></head><body><h1>${esc(String(out.error ?? 'error'))}</h1><p>${esc(
          String(out.error_description ?? ''),
        )}</p></body></html>`;
      },
    });
    // The provider reads the client's address and the scheme from X-Forwarded-*, which the handler
    // below sets itself on every request (the address the server settled on, the issuer's scheme);
    // whatever a client sent in them is gone by then.
    provider.proxy = true;
    provider.on('server_error', (_ctx, err) => options.log?.(`oauth: ${err instanceof Error ? err.message : err}`));

    // Tokens with our prefix; the id is the token, so only its hash is stored (OAuthStorage).
    for (const model of [provider.AccessToken, provider.ClientCredentials, provider.RefreshToken]) {
      // generateTokenId is not in the type definitions; it is the method every opaque token's id comes from.
      const proto = model.prototype as unknown as { generateTokenId: (this: unknown) => string };
      const generate = proto.generateTokenId;
      proto.generateTokenId = function (this: unknown) {
        return OAUTH_TOKEN_PREFIX + generate.call(this);
      };
    }
    provider.Client.prototype.compareClientSecret = async function (this: { clientSecret?: string }, actual: unknown) {
      if (typeof actual !== 'string' || !this.clientSecret) return false;
      const stored = Buffer.from(this.clientSecret, 'hex');
      const given = sha256(actual);
      return stored.length === given.length && timingSafeEqual(stored, given);
    };
    return { version, provider, storage, callback: provider.callback() };
  }

  async function current() {
    const storage = await options.storage();
    if (built && built.version === storage.keysVersion()) return built;
    building ??= build(storage).finally(() => {
      building = undefined;
    });
    built = await building;
    return built!;
  }

  /** A refusal page of the sign-in pages (throttled, or a form posted from another site). */
  function refuse(res: ServerResponse, status: number, title: string, text: string, retry?: number): void {
    const html = pageHtml(title, `<p>${esc(text)}</p>`);
    res.writeHead(status, {
      ...PAGE_HEADERS,
      'content-length': Buffer.byteLength(html),
      ...(retry ? { 'retry-after': String(retry) } : {}),
    });
    res.end(html);
  }

  /** True when a form post comes from a page of another site (Origin or Fetch Metadata says so). */
  function crossSite(req: IncomingMessage): boolean {
    const origin = req.headers.origin;
    if (origin !== undefined && origin !== 'null' && origin !== publicOrigin) return true;
    const site = req.headers['sec-fetch-site'];
    return site !== undefined && site !== 'same-origin' && site !== 'none';
  }

  async function interact(
    req: IncomingMessage,
    res: ServerResponse,
    action: string,
    deps: InteractionDeps,
    guard: OAuthGuard | undefined,
  ): Promise<void> {
    if (req.method === 'POST' && crossSite(req)) {
      req.resume();
      return refuse(res, 403, 'Refused', 'This form was sent from another site; start again from the application.');
    }
    if (!guard || !SIGN_IN_ACTIONS.has(action)) return handleInteraction(req, res, action, deps);
    // The sign-in page checks passwords and codes as the API does: under the same per-address limits.
    const wait = guard.retryAfter(deps.ip);
    if (wait > 0) {
      req.resume();
      return refuse(
        res,
        429,
        'Too many attempts',
        `Too many failed attempts from your address; try again in ${wait} s.`,
        wait,
      );
    }
    const turn = await guard.admit(deps.ip);
    if (!('release' in turn)) {
      req.resume();
      return refuse(
        res,
        429,
        'Too many attempts',
        `Too many attempts from your address; try again in ${turn.retryAfter} s.`,
        turn.retryAfter,
      );
    }
    try {
      await handleInteraction(req, res, action, deps);
      // Refused credentials (401), or an account's own throttle (429): a failed attempt, as on the API.
      if (res.statusCode === 401 || res.statusCode === 429) guard.recordFailure(deps.ip);
    } finally {
      turn.release();
    }
  }

  return (req, res, ip, guard) => {
    const method = req.method ?? '';
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const pathname = q < 0 ? url : url.slice(0, q);
    if (guard && STORING.has(budgetKey(method, pathname)) && !guard.take(ip)) {
      req.resume();
      return refuse(
        res,
        429,
        'Too many requests',
        'Too many sign-in requests from your address; try again in a minute.',
        60,
      );
    }
    // The provider's view of the request: the client address the server settled on, the issuer's
    // scheme (what a client sent in these headers is not believed; the host is set further down).
    req.headers['x-forwarded-for'] = ip;
    req.headers['x-forwarded-proto'] = issuerUrl.protocol.slice(0, -1);
    delete req.headers['x-forwarded-host'];
    delete req.headers['x-forwarded-port'];
    delete req.headers.forwarded;
    current().then(
      ({ provider, storage, callback }) => {
        if (pathname === DEVICE_SESSION_PATH) return deviceSession(req, res, storage, ip, options.log);
        const interaction = interactionRoute(pathname, method);
        if (interaction) {
          interact(
            req,
            res,
            interaction.action,
            { provider, storage, backendFor: options.backendFor, ip, origin: publicOrigin, keySignIns },
            guard,
          ).catch((err: unknown) => {
            options.log?.(`oauth: sign-in page: ${err instanceof Error ? err.message : String(err)}`);
            if (!res.headersSent) {
              res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
              res.end('the sign-in page failed; start again from the application');
            }
          });
          return;
        }
        // The provider builds its URLs (a device login's verification URL among them) from the request:
        // they name the public host, whichever address the client used.
        req.headers.host = publicHost;
        // Mounted under /oauth2: the provider finds its mount path from originalUrl.
        (req as IncomingMessage & { originalUrl?: string }).originalUrl = url;
        req.url = url.slice(OAUTH_PATH.length) || '/';
        requestAddress.set(req, ip);
        void callback(req, res);
      },
      (err: unknown) => {
        options.log?.(`oauth: the provider could not start: ${err instanceof Error ? err.message : String(err)}`);
        if (!res.headersSent) {
          res.writeHead(503, { 'content-type': 'application/json', 'cache-control': 'no-store' });
          res.end(JSON.stringify({ error: 'temporarily_unavailable' }));
        }
      },
    );
  };
}
