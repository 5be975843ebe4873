-- When this session's person last proved who they are (signing in, or
-- signing in again at a provider to confirm a sensitive change). Unix
-- seconds; 0 for sessions started before this column existed.
ALTER TABLE sessions ADD COLUMN reauth_at BIGINT NOT NULL DEFAULT 0;

-- Identities are keyed by issuer as well: an OpenID Connect subject is
-- unique only within its issuer, so another configured issuer must never
-- reach the accounts of the first. Rows stored before this column existed
-- have '' and are matched only as docs/oauth.md describes (never by an
-- issuer other than oauth.oidc.legacy_issuer). GitHub and Google keep ''.
ALTER TABLE identities ADD COLUMN issuer TEXT NOT NULL DEFAULT '';
DROP INDEX identities_provider_key;
CREATE UNIQUE INDEX identities_provider_key ON identities (provider, issuer, provider_user_id);
