-- Passkeys (WebAuthn, issue 20). Times are unix seconds.

-- The random id a member's passkeys carry as their user handle: the
-- authenticator hands it back at a discoverable sign-in, and it says
-- nothing about the account (not its id, name or address).
CREATE TABLE passkey_handles (
    user_id BIGINT NOT NULL PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    handle TEXT NOT NULL
);
CREATE UNIQUE INDEX passkey_handles_handle_key ON passkey_handles (handle);

-- A member's passkeys. credential_id is the authenticator's id for it
-- (base64url), unique across every account; passkey is webauthn-rs's
-- Passkey as JSON (public key, counter, flags); last_used_at is 0 until
-- it signs in.
CREATE TABLE passkeys (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    credential_id TEXT NOT NULL,
    name TEXT NOT NULL,
    passkey TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX passkeys_credential_key ON passkeys (credential_id);
CREATE INDEX passkeys_user_idx ON passkeys (user_id);

-- A WebAuthn ceremony under way: the challenge and what webauthn-rs needs
-- to check the answer (state, JSON), for a few minutes, used once. The
-- browser holds a random token in an encrypted cookie; the row holds its
-- hash, so any process behind the balancer can finish it. kind is
-- 'register', 'signin' (a discoverable sign-in, no account yet: user_id
-- NULL) or 'second' (the second step of a pending sign-in). name is the
-- passkey's name while registering.
CREATE TABLE passkey_ceremonies (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    token_hash TEXT NOT NULL,
    kind TEXT NOT NULL,
    user_id BIGINT REFERENCES users (id) ON DELETE CASCADE,
    name TEXT NOT NULL DEFAULT '',
    state TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX passkey_ceremonies_token_key ON passkey_ceremonies (token_hash);
CREATE INDEX passkey_ceremonies_expires_idx ON passkey_ceremonies (expires_at);
