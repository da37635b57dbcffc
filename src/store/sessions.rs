//! Sign-in sessions of the pages: opened with a read token, looked up by the hash of the
//! cookie's random id, ended by sign-out, expiry or rotation of the token they were opened with.

use super::{Store, StoreError};
use crate::store::apps::hash_token;
use std::time::Duration;

/// Whom a live session belongs to, as stored: the caller still checks a server-token session
/// against the current `LOGDRAIN_API_TOKEN`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionOwner {
    /// Opened with the server token; `token_hash` is that token's SHA-256 at sign-in.
    Server {
        /// SHA-256 of the token signed in with.
        token_hash: Vec<u8>,
    },
    /// Opened with this app's read token, which is still its read token.
    App {
        /// apps.id.
        id: i64,
        /// apps.name.
        name: String,
    },
}

impl Store {
    /// Opens a session for `session_id` (the cookie's value) signed in with the token of hash
    /// `token_hash`, for app `app_id` (None: the server token). Expired sessions are removed
    /// on the way, so the table holds only live ones and those of the last `ttl`.
    pub async fn open_session(
        &self,
        session_id: &str,
        token_hash: &[u8],
        app_id: Option<i64>,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM sessions WHERE expires_at < now()")
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO sessions (id_hash, token_hash, app_id, expires_at) \
             VALUES ($1, $2, $3, now() + make_interval(secs => $4))",
        )
        .bind(hash_token(session_id))
        .bind(token_hash)
        .bind(app_id)
        .bind(ttl.as_secs_f64())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The owner of a live session: not expired, and for an app session the app's read token
    /// is still the one signed in with (a rotation ends it).
    pub async fn session_owner(
        &self,
        session_id: &str,
    ) -> Result<Option<SessionOwner>, StoreError> {
        let row: Option<(Vec<u8>, Option<i64>, Option<String>)> = sqlx::query_as(
            "SELECT s.token_hash, s.app_id, a.name FROM sessions s \
             LEFT JOIN apps a ON a.id = s.app_id \
             WHERE s.id_hash = $1 AND s.expires_at > now() \
               AND (s.app_id IS NULL OR a.read_token_hash = s.token_hash)",
        )
        .bind(hash_token(session_id))
        .fetch_optional(&self.pool)
        .await?;
        Ok(
            row.and_then(|(token_hash, app_id, name)| match (app_id, name) {
                (None, _) => Some(SessionOwner::Server { token_hash }),
                (Some(id), Some(name)) => Some(SessionOwner::App { id, name }),
                (Some(_), None) => None,
            }),
        )
    }

    /// Ends a session (sign-out). Ending one that does not exist is not an error.
    pub async fn close_session(&self, session_id: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
            .bind(hash_token(session_id))
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
