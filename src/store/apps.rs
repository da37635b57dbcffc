//! Apps and their tokens: creation, rotation, deletion, lookup for auth. Tokens are random
//! 256-bit values shown once; only their SHA-256 is stored.

use super::{Store, StoreError};
use crate::record::AppName;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

/// What the auth layer needs to check a drain credential.
#[derive(Debug, Clone)]
pub struct AppAuth {
    /// The app's id.
    pub id: i64,
    /// SHA-256 of the drain token; `None` for quick-start apps.
    pub drain_token_hash: Option<Vec<u8>>,
}

/// A freshly created app: the tokens are shown once and never again.
#[derive(Debug)]
pub struct NewApp {
    /// The drain token, the password in the drain URL.
    pub drain_token: String,
    /// The read token for the query API.
    pub read_token: String,
}

/// One row of `logdrain apps list`.
#[derive(Debug)]
pub struct AppSummary {
    /// App name.
    pub name: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last batch stored.
    pub last_seen_at: Option<DateTime<Utc>>,
    /// Lines stored.
    pub lines: i64,
    /// Messages Logplex reported lost.
    pub dropped: i64,
}

/// Which token `rotate` replaces.
#[derive(Debug, Clone, Copy)]
pub enum TokenKind {
    /// The drain token (Basic-auth password): the drain must be re-added on Heroku.
    Drain,
    /// The read token for the query API.
    Read,
}

/// A new random token: 32 bytes from the OS, hex-encoded (URL-safe, no `:`).
pub fn generate_token() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// SHA-256 of a token, as stored.
pub fn hash_token(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// Compares two byte strings in time that depends only on their lengths.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Errors of app management commands.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// `apps create` of a name that exists.
    #[error("app {0} already exists")]
    Exists(String),
    /// An app that does not exist.
    #[error("no app named {0}")]
    NotFound(String),
    /// The OS random source failed.
    #[error("could not generate a token: {0}")]
    Random(getrandom::Error),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for AppError {
    fn from(e: sqlx::Error) -> Self {
        AppError::Store(e.into())
    }
}

impl Store {
    /// Looks an app up by name for drain auth.
    pub async fn app_auth(&self, name: &AppName) -> Result<Option<AppAuth>, StoreError> {
        let row: Option<(i64, Option<Vec<u8>>)> =
            sqlx::query_as("SELECT id, drain_token_hash FROM apps WHERE name = $1")
                .bind(name.as_str())
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(|(id, drain_token_hash)| AppAuth {
            id,
            drain_token_hash,
        }))
    }

    /// Quick-start mode: the app's id, creating the app (without tokens of its own) on first use.
    pub async fn ensure_app(&self, name: &AppName) -> Result<i64, StoreError> {
        let id: Option<i64> = sqlx::query_scalar(
            "WITH ins AS (INSERT INTO apps (name) VALUES ($1) ON CONFLICT (name) DO NOTHING RETURNING id) \
             SELECT id FROM ins UNION ALL SELECT id FROM apps WHERE name = $1 LIMIT 1",
        )
        .bind(name.as_str())
        .fetch_optional(&self.pool)
        .await?;
        match id {
            Some(id) => Ok(id),
            // Another request created it at the same moment: the INSERT waited for that one
            // and did nothing, and this statement's snapshot predates the row. It is there now.
            None => Ok(sqlx::query_scalar("SELECT id FROM apps WHERE name = $1")
                .bind(name.as_str())
                .fetch_one(&self.pool)
                .await?),
        }
    }

    /// Creates an app with fresh drain and read tokens.
    pub async fn create_app(&self, name: &AppName) -> Result<NewApp, AppError> {
        let drain_token = generate_token().map_err(AppError::Random)?;
        let read_token = generate_token().map_err(AppError::Random)?;
        let done = sqlx::query(
            "INSERT INTO apps (name, drain_token_hash, read_token_hash) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(name.as_str())
        .bind(hash_token(&drain_token))
        .bind(hash_token(&read_token))
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(AppError::Exists(name.to_string()));
        }
        Ok(NewApp {
            drain_token,
            read_token,
        })
    }

    /// Replaces one of an app's tokens and returns the new one.
    pub async fn rotate_token(&self, name: &AppName, which: TokenKind) -> Result<String, AppError> {
        let token = generate_token().map_err(AppError::Random)?;
        let sql = match which {
            TokenKind::Drain => "UPDATE apps SET drain_token_hash = $2 WHERE name = $1",
            TokenKind::Read => "UPDATE apps SET read_token_hash = $2 WHERE name = $1",
        };
        let done = sqlx::query(sql)
            .bind(name.as_str())
            .bind(hash_token(&token))
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(AppError::NotFound(name.to_string()));
        }
        Ok(token)
    }

    /// Deletes an app and every line it stored, in one transaction. (`lines` has no foreign
    /// key to `apps`, for ingest speed, so its rows are removed here explicitly.)
    pub async fn delete_app(&self, name: &AppName) -> Result<(), AppError> {
        let mut tx = self.pool.begin().await?;
        let id: Option<i64> = sqlx::query_scalar("DELETE FROM apps WHERE name = $1 RETURNING id")
            .bind(name.as_str())
            .fetch_optional(&mut *tx)
            .await?;
        let Some(id) = id else {
            return Err(AppError::NotFound(name.to_string()));
        };
        sqlx::query("DELETE FROM lines WHERE app_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Every app with its counters, by name.
    pub async fn list_apps(&self) -> Result<Vec<AppSummary>, StoreError> {
        type Row = (
            String,
            DateTime<Utc>,
            Option<DateTime<Utc>>,
            Option<i64>,
            Option<i64>,
        );
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT a.name, a.created_at, c.last_seen_at, c.lines, c.dropped \
                 FROM apps a LEFT JOIN app_counters c ON c.app_id = a.id ORDER BY a.name",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(
                |(name, created_at, last_seen_at, lines, dropped)| AppSummary {
                    name,
                    created_at,
                    last_seen_at,
                    lines: lines.unwrap_or(0),
                    dropped: dropped.unwrap_or(0),
                },
            )
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_64_hex_characters_and_differ() {
        let a = generate_token().expect("random");
        let b = generate_token().expect("random");
        assert_eq!(a.len(), 64);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }

    #[test]
    fn constant_time_eq_compares_whole_strings() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
