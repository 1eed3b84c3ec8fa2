-- 007: security keys (WebAuthn / FIDO2, SPEC §4.3). Only public keys are stored; the signature
-- counter is kept per credential to notice a cloned authenticator.
CREATE TABLE security_keys (
  id            TEXT    PRIMARY KEY,
  account_id    INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  name          TEXT    NOT NULL,
  credential_id TEXT    NOT NULL UNIQUE,
  public_key    BLOB    NOT NULL,
  counter       INTEGER NOT NULL,
  transports    TEXT    NOT NULL,
  aaguid        TEXT    NOT NULL,
  backed_up     INTEGER NOT NULL,
  created_at    INTEGER NOT NULL,
  last_used_at  INTEGER
);
CREATE UNIQUE INDEX security_keys_name ON security_keys(account_id, name);

-- A WebAuthn ceremony in progress: the browser page fetches its options and posts the browser's
-- answer here; the CLI (holding the session or the password) then has it verified. Found by the
-- SHA-256 of its id, which only the terminal that started it has seen.
CREATE TABLE key_ceremonies (
  id_hash     BLOB    PRIMARY KEY,
  account_id  INTEGER REFERENCES accounts(id) ON DELETE CASCADE,
  purpose     TEXT    NOT NULL CHECK (purpose IN ('register', 'signin', 'proof', 'recover')),
  key_name    TEXT,
  challenge   TEXT    NOT NULL,
  rp_id       TEXT    NOT NULL,
  origin      TEXT    NOT NULL,
  options     TEXT    NOT NULL,
  created_at  INTEGER NOT NULL,
  expires_at  INTEGER NOT NULL,
  response    TEXT,
  error       TEXT,
  used_at     INTEGER
);
