-- Sign-in sessions of the pages (`/`, `/apps/{app}`, `/apps/{app}/logs`). Signing in with a
-- read token (the server's LOGDRAIN_API_TOKEN or an app's read token) creates one row; the
-- browser keeps only the random session id, in an HttpOnly cookie. The token itself is never
-- stored: its SHA-256 is, so that a session ends when the token it was opened with is rotated
-- (the read token of the app no longer matches, or LOGDRAIN_API_TOKEN changed).
CREATE TABLE sessions (
    -- SHA-256 of the session id held by the cookie (a database leak gives no usable cookie).
    id_hash    bytea PRIMARY KEY,
    -- SHA-256 of the token the session was opened with.
    token_hash bytea NOT NULL,
    -- The app an app read token covers; NULL for the server token (every app).
    app_id     bigint REFERENCES apps (id) ON DELETE CASCADE,
    -- When the session was opened.
    created_at timestamptz NOT NULL DEFAULT now(),
    -- After this the cookie is refused (LOGDRAIN_SESSION_TTL after sign-in).
    expires_at timestamptz NOT NULL
);
CREATE INDEX sessions_expires_at ON sessions (expires_at);
COMMENT ON TABLE sessions IS 'Signed-in page sessions: the hashed cookie id, the hashed token it was opened with, its app scope and expiry';
COMMENT ON COLUMN sessions.id_hash IS 'SHA-256 of the random session id kept in the browser cookie';
COMMENT ON COLUMN sessions.token_hash IS 'SHA-256 of the read token signed in with; the session ends when that token is rotated';
COMMENT ON COLUMN sessions.app_id IS 'App covered by an app read token; NULL for the server token, which covers every app';
COMMENT ON COLUMN sessions.created_at IS 'When the session was opened';
COMMENT ON COLUMN sessions.expires_at IS 'When the cookie stops being accepted (sign-in time + LOGDRAIN_SESSION_TTL)';
