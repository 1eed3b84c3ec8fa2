-- 018: acctsec as an OAuth 2.0 / OpenID Connect provider (issue #21).
--
-- oauth_apps: the applications developers register ("My apps"). A confidential client's secret is
-- shown once and kept as its SHA-256 (256 random bits: a fast hash is enough, as for access tokens);
-- a public client has none and must use PKCE. Deleting an app keeps its row (deleted_at) so that its
-- client id is never handed out again and the audit log can still name it.
CREATE TABLE oauth_apps (
  id               INTEGER PRIMARY KEY,
  client_id        TEXT    NOT NULL UNIQUE,
  owner_account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  name             TEXT    NOT NULL,
  redirect_uris    TEXT    NOT NULL,        -- JSON array of absolute URIs
  public           INTEGER NOT NULL DEFAULT 0,
  secret_hash      BLOB,                    -- SHA-256 of the secret; NULL for a public client
  secret_rotated_at INTEGER,
  created_at       INTEGER NOT NULL,
  disabled_at      INTEGER,                 -- by support: no new tokens, the issued ones inactive
  disabled_by      TEXT,
  disabled_reason  TEXT,
  deleted_at       INTEGER                  -- by its owner: the same, and gone from every list
);
CREATE INDEX oauth_apps_by_owner ON oauth_apps (owner_account_id);

-- oauth_payloads: what oidc-provider stores through its adapter (grants, codes, access and refresh
-- tokens, sessions, interactions, device codes). Keyed by the SHA-256 of the id: a token's id is the
-- token itself, and the database never holds a usable one. The payload is sealed with the database key
-- (AES-256-GCM, the model and hashed id as context).
CREATE TABLE oauth_payloads (
  model       TEXT    NOT NULL,
  id_hash     BLOB    NOT NULL,
  payload     BLOB    NOT NULL,
  grant_id    TEXT,
  user_code_hash BLOB,
  uid         TEXT,
  client_id   TEXT,
  account_id  INTEGER,
  expires_at  INTEGER,
  consumed_at INTEGER,
  PRIMARY KEY (model, id_hash)
);
CREATE INDEX oauth_payloads_by_grant ON oauth_payloads (grant_id);
CREATE INDEX oauth_payloads_by_user_code ON oauth_payloads (user_code_hash);
CREATE INDEX oauth_payloads_by_uid ON oauth_payloads (uid);
CREATE INDEX oauth_payloads_by_client ON oauth_payloads (client_id);
CREATE INDEX oauth_payloads_by_expiry ON oauth_payloads (expires_at);

-- oauth_keys: the keys that sign ID tokens, sealed with the database key. The newest unretired key
-- signs; JWKS publishes it and the one before it, so tokens signed before a rotation still verify.
CREATE TABLE oauth_keys (
  kid        TEXT    PRIMARY KEY,
  jwk        BLOB    NOT NULL,
  created_at INTEGER NOT NULL,
  retired_at INTEGER
);
