// What the OAuth 2.0 / OpenID Connect provider of `acctsec serve` (issue #21, src/server/oauth.ts)
// needs from the store, as an interface: the server holds no SQL, the service layer implements it
// (service/oauth-storage.ts) and the local back end hands it over.

/** The prefix of the access and refresh tokens the provider issues: secret scanners can match it. */
export const OAUTH_TOKEN_PREFIX = 'acsoa_';

/**
 * The client id of the acctsec CLI itself: a public client built into every server, allowed only the
 * device authorization grant (RFC 8628), for `acctsec login --device`.
 */
export const CLI_CLIENT_ID = 'acctsec-cli';

/** Where the CLI trades the access token of a device login for an acctsec session. */
export const DEVICE_SESSION_PATH = '/oauth2/acctsec/session';

/** A registered application (oauth_apps), as the provider sees it. */
export interface OAuthClientRecord {
  clientId: string;
  name: string;
  /** The username of the account that registered it (the consent page names it). */
  owner: string;
  redirectUris: string[];
  public: boolean;
  /** Hex SHA-256 of the client secret; null for a public client. */
  secretHash: string | null;
}

/** A signed-in person, for the ID token and userinfo. */
export interface OAuthAccount {
  sub: string;
  username: string;
  email: string;
  emailVerified: boolean;
}

export type OAuthPayload = Record<string, unknown>;

/** A private JSON Web Key (RFC 7517) with its kid, alg and use. */
export type OAuthJwk = Record<string, string>;

export interface OAuthStorage {
  /** oidc-provider's adapter contract, per model ("AccessToken", "Grant", ...). */
  upsert(model: string, id: string, payload: OAuthPayload, expiresInSeconds: number | undefined): void;
  find(model: string, id: string): OAuthPayload | undefined;
  findByUid(model: string, uid: string): OAuthPayload | undefined;
  findByUserCode(model: string, userCode: string): OAuthPayload | undefined;
  /** false when it was consumed already (a racing second use). */
  consume(model: string, id: string): boolean;
  destroy(model: string, id: string): void;
  revokeByGrantId(grantId: string): void;
  /** An application that may get tokens now: registered, not deleted, not disabled. */
  client(clientId: string): OAuthClientRecord | undefined;
  /** The ID-token signing keys as private JWKs, the current one first (one is made on first use). */
  signingKeys(): { version: string; keys: OAuthJwk[] };
  /** The version of the keys alone (a cheap read: the provider is rebuilt when it changes). */
  keysVersion(): string;
  /**
   * The person behind a subject. With `accessTokenFrom` (userinfo: the address an access token is
   * presented from), undefined as well when the account is locked or its IP list does not allow that
   * address, as for introspection of the same token.
   */
  account(sub: string, accessTokenFrom?: string): OAuthAccount | undefined;
  /**
   * The account a fresh acctsec session belongs to (the sign-in page signs in through the Backend, as
   * every client does), as the provider's subject: the account's number, stable across renames.
   */
  sessionAccount(sessionToken: string): string | undefined;
  /**
   * The person allowed the application: the activity log says so and, the first time this
   * application is allowed, a security notice goes to the account's address.
   */
  authorized(sub: string, clientId: string, scopes: string[], first: boolean, ip: string | undefined): void;
  /**
   * `acctsec login --device`: the access token the CLI got from the device grant, traded once for an
   * acctsec session of the same account (the token is spent). Undefined when the token is not an
   * active one issued to the CLI.
   */
  deviceSession(
    accessToken: string,
    origin: { ip: string; client: string },
  ): { token: string; sessionId: string; username: string; expiresAt: string } | undefined;
}
