-- Sign-in identities at OAuth / OpenID Connect providers. Keyed by the
-- provider's own user id, never by email: an email can change hands.
CREATE TABLE identities (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    provider TEXT NOT NULL,
    provider_user_id TEXT NOT NULL,
    email TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX identities_provider_key ON identities (provider, provider_user_id);
CREATE INDEX identities_user_id_idx ON identities (user_id);
