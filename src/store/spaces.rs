//! Space credentials and the OTLP credential lookups: a drain token found without its app
//! name (`Authorization: Bearer TOKEN`), a space token, and the apps a space creates on first
//! use, each named by a record's `service.name`.

use super::apps::{generate_token, hash_token, AppError};
use super::{Store, StoreError};
use crate::record::AppName;

/// Who a `Bearer` token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BearerOwner {
    /// The app whose drain token it is.
    App(i64),
    /// The space whose token it is.
    Space(i64),
}

impl Store {
    /// The app or space whose token has this SHA-256, if any (apps first).
    pub async fn bearer_owner(&self, hash: &[u8]) -> Result<Option<BearerOwner>, StoreError> {
        let row: Option<(bool, i64)> = sqlx::query_as(
            "SELECT true, id FROM apps WHERE drain_token_hash = $1 \
             UNION ALL SELECT false, id FROM spaces WHERE token_hash = $1 LIMIT 1",
        )
        .bind(hash)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|(is_app, id)| {
            if is_app {
                BearerOwner::App(id)
            } else {
                BearerOwner::Space(id)
            }
        }))
    }

    /// The id of app `name` for a space credential: created in the space on first use;
    /// `None` when the app exists outside the space (a space writes only to its own apps).
    pub async fn ensure_space_app(
        &self,
        name: &AppName,
        space_id: i64,
    ) -> Result<Option<i64>, StoreError> {
        let row: Option<(i64, Option<i64>)> = sqlx::query_as(
            "WITH ins AS (INSERT INTO apps (name, space_id) VALUES ($1, $2) \
                 ON CONFLICT (name) DO NOTHING RETURNING id, space_id) \
             SELECT id, space_id FROM ins UNION ALL \
             SELECT id, space_id FROM apps WHERE name = $1 LIMIT 1",
        )
        .bind(name.as_str())
        .bind(space_id)
        .fetch_optional(&self.pool)
        .await?;
        let row = match row {
            Some(row) => row,
            // Created by a concurrent request after this statement's snapshot: read it again.
            None => {
                sqlx::query_as("SELECT id, space_id FROM apps WHERE name = $1")
                    .bind(name.as_str())
                    .fetch_one(&self.pool)
                    .await?
            }
        };
        Ok((row.1 == Some(space_id)).then_some(row.0))
    }

    /// Creates a space credential and returns its token (shown once).
    pub async fn create_space(&self, name: &AppName) -> Result<String, AppError> {
        let token = generate_token().map_err(AppError::Random)?;
        let done = sqlx::query(
            "INSERT INTO spaces (name, token_hash) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
        )
        .bind(name.as_str())
        .bind(hash_token(&token))
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(AppError::Exists(format!("space {name}")));
        }
        Ok(token)
    }

    /// Replaces a space's token and returns the new one.
    pub async fn rotate_space(&self, name: &AppName) -> Result<String, AppError> {
        let token = generate_token().map_err(AppError::Random)?;
        let done = sqlx::query("UPDATE spaces SET token_hash = $2 WHERE name = $1")
            .bind(name.as_str())
            .bind(hash_token(&token))
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(AppError::NotFound(format!("space {name}")));
        }
        Ok(token)
    }

    /// Deletes a space credential; its apps and their lines stay (they become apps of their own).
    pub async fn delete_space(&self, name: &AppName) -> Result<(), AppError> {
        let done = sqlx::query("DELETE FROM spaces WHERE name = $1")
            .bind(name.as_str())
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(AppError::NotFound(format!("space {name}")));
        }
        Ok(())
    }
}
