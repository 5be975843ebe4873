-- Two-step sign-in (issue 20). Times are unix seconds; flags 0/1.

-- A member's authenticator app. The secret is sealed with a key derived
-- from secret_key (accounts::twostep::seal). enabled is 0 while the member
-- is still setting it up (no valid code typed yet), 1 once it guards
-- sign-in. last_step is the last 30-second step whose code was accepted:
-- no code of that step or an earlier one is accepted again.
CREATE TABLE twostep_totp (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    secret_sealed TEXT NOT NULL,
    enabled INTEGER NOT NULL DEFAULT 0,
    last_step BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    enabled_at BIGINT NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX twostep_totp_user_key ON twostep_totp (user_id);

-- Recovery codes: only their hashes; used_at > 0 once spent.
CREATE TABLE twostep_recovery_codes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL,
    used_at BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX twostep_recovery_codes_hash_key ON twostep_recovery_codes (code_hash);
CREATE INDEX twostep_recovery_codes_user_idx ON twostep_recovery_codes (user_id);

-- A sign-in halfway through: the password (or a provider) said yes, the
-- second step has not yet. It grants nothing: the browser holds a random
-- token (kind 'web', in an encrypted cookie) or the API client a
-- challenge (kind 'api'); the row holds its hash.
CREATE TABLE twostep_pending (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    token_hash TEXT NOT NULL,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind TEXT NOT NULL DEFAULT 'web',
    remember INTEGER NOT NULL DEFAULT 0,
    next_path TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX twostep_pending_token_key ON twostep_pending (token_hash);

-- Browsers a member chose to trust for 30 days skip the second step. Their
-- cookie names this number; ending a member's sessions everywhere (signing
-- out everywhere, a password change or reset, an admin) adds one to it, so
-- every browser trusted before is asked again.
ALTER TABLE users ADD COLUMN trust_generation BIGINT NOT NULL DEFAULT 0;
