-- The notifications mail digest (docs/social.md): each member's choice
-- (off, daily, weekly), when their last digest went and the newest
-- notification it listed, and the generation of their unsubscribe link
-- (using the link moves it on, which voids every older link).
CREATE TABLE notification_digests (
    user_id BIGINT NOT NULL PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    frequency TEXT NOT NULL,
    sent_at BIGINT NOT NULL DEFAULT 0,
    last_id BIGINT NOT NULL DEFAULT 0,
    generation BIGINT NOT NULL DEFAULT 0
);
