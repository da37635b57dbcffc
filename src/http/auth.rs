//! Drain authentication: HTTP Basic from the drain URL (`https://APP:TOKEN@host/logs`),
//! checked from the headers alone, before any byte of the body is read; for OTLP also
//! `Bearer TOKEN` (an app's drain token, a space token, or the quick-start token).

use super::error::HttpError;
use crate::record::AppName;
use crate::secret::Secret;
use crate::store::apps::{constant_time_eq, hash_token};
use crate::store::spaces::BearerOwner;
use crate::store::Store;
use axum::http::{header, HeaderMap};
use base64::Engine as _;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Most cached apps; the cache is cleared when it grows past this (bounds memory under a flood
/// of made-up app names).
const CACHE_CAP: usize = 10_000;

#[derive(Clone)]
struct Cached {
    id: i64,
    drain_token_hash: Option<Vec<u8>>,
    fetched: Instant,
}

/// Checks drain credentials against the apps table, with a short-lived cache so that a busy
/// drain costs no database round trip per request.
pub struct DrainAuth {
    store: Store,
    shared_token: Option<Secret>,
    ttl: Duration,
    cache: Mutex<HashMap<AppName, Cached>>,
    /// One database lookup per app name at a time: when a busy app's entry expires, its burst
    /// of requests waits for one answer instead of taking a pool connection each (which would
    /// leave none for the batch writers).
    lookups: Mutex<HashMap<AppName, Arc<tokio::sync::Mutex<()>>>>,
    /// Bearer token hash → its owner (found ones only).
    bearers: Mutex<HashMap<Vec<u8>, (BearerOwner, Instant)>>,
    /// (space id, app name) → app id, for apps a space writes to.
    space_apps: Mutex<HashMap<(i64, AppName), (i64, Instant)>>,
}

/// Who may write an OTLP export, and so where its records go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OtlpWriter {
    /// Every record to this app (`Basic APP:TOKEN`, or `Bearer` with the app's drain token).
    App(i64),
    /// Each record to the app its `service.name` names, created in this space on first use.
    Space(i64),
    /// The quick-start token as `Bearer`: each record to its `service.name`'s app, created on
    /// first use, as `/logs` does for any app name in quick-start mode.
    QuickStart,
}

impl DrainAuth {
    /// `shared_token` is the quick-start `LOGDRAIN_DRAIN_TOKEN`.
    pub fn new(store: Store, shared_token: Option<Secret>, ttl: Duration) -> DrainAuth {
        DrainAuth {
            store,
            shared_token,
            ttl,
            cache: Mutex::new(HashMap::new()),
            lookups: Mutex::new(HashMap::new()),
            bearers: Mutex::new(HashMap::new()),
            space_apps: Mutex::new(HashMap::new()),
        }
    }

    /// The writer of an OTLP export, from `Authorization: Basic …` (as on `/logs`) or
    /// `Authorization: Bearer TOKEN`; 401 otherwise.
    pub async fn check_otlp(
        &self,
        headers: &HeaderMap,
        retry_after: Duration,
    ) -> Result<OtlpWriter, HttpError> {
        let Some(token) = bearer_token(headers) else {
            return self.check(headers, retry_after).await.map(OtlpWriter::App);
        };
        if let Some(shared) = &self.shared_token {
            if constant_time_eq(token.as_bytes(), shared.expose().as_bytes()) {
                return Ok(OtlpWriter::QuickStart);
            }
        }
        let hash = hash_token(token);
        let hit = {
            let cache = self.bearers.lock().unwrap_or_else(|p| p.into_inner());
            cache
                .get(&hash)
                .filter(|(_, at)| at.elapsed() < self.ttl)
                .map(|(owner, _)| *owner)
        };
        let owner = match hit {
            Some(owner) => owner,
            None => {
                let found = self
                    .store
                    .bearer_owner(&hash)
                    .await
                    .map_err(|e| HttpError::unavailable(e, retry_after))?
                    .ok_or(HttpError::Unauthorized)?;
                let mut cache = self.bearers.lock().unwrap_or_else(|p| p.into_inner());
                if cache.len() >= CACHE_CAP {
                    cache.clear();
                }
                cache.insert(hash, (found, Instant::now()));
                found
            }
        };
        Ok(match owner {
            BearerOwner::App(id) => OtlpWriter::App(id),
            BearerOwner::Space(id) => OtlpWriter::Space(id),
        })
    }

    /// The app id a record named `name` by its `service.name` goes to, for a writer that
    /// routes by it; `None` when the writer may not write there (an app outside its space).
    pub async fn service_app(
        &self,
        writer: OtlpWriter,
        name: &AppName,
        retry_after: Duration,
    ) -> Result<Option<i64>, HttpError> {
        match writer {
            OtlpWriter::App(id) => Ok(Some(id)),
            OtlpWriter::QuickStart => {
                if let Some(hit) = self.cached(name) {
                    return Ok(Some(hit.id));
                }
                let id = self
                    .store
                    .ensure_app(name)
                    .await
                    .map_err(|e| HttpError::unavailable(e, retry_after))?;
                Ok(Some(id))
            }
            OtlpWriter::Space(space) => {
                let key = (space, name.clone());
                {
                    let cache = self.space_apps.lock().unwrap_or_else(|p| p.into_inner());
                    if let Some((id, at)) = cache.get(&key) {
                        if at.elapsed() < self.ttl {
                            return Ok(Some(*id));
                        }
                    }
                }
                let id = self
                    .store
                    .ensure_space_app(name, space)
                    .await
                    .map_err(|e| HttpError::unavailable(e, retry_after))?;
                if let Some(id) = id {
                    let mut cache = self.space_apps.lock().unwrap_or_else(|p| p.into_inner());
                    if cache.len() >= CACHE_CAP {
                        cache.clear();
                    }
                    cache.insert(key, (id, Instant::now()));
                }
                Ok(id)
            }
        }
    }

    /// Waits for the right to look `name` up (see `lookups`).
    async fn lookup_turn(&self, name: &AppName) -> tokio::sync::OwnedMutexGuard<()> {
        let turn = {
            let mut lookups = self.lookups.lock().unwrap_or_else(|p| p.into_inner());
            if lookups.len() >= CACHE_CAP {
                lookups.clear();
            }
            Arc::clone(lookups.entry(name.clone()).or_default())
        };
        turn.lock_owned().await
    }

    /// The app id the request may write to, or 401. A database failure is a 503, so Logplex
    /// retries instead of dropping the frame.
    pub async fn check(
        &self,
        headers: &HeaderMap,
        retry_after: Duration,
    ) -> Result<i64, HttpError> {
        let (name, password) = basic_credentials(headers).ok_or(HttpError::Unauthorized)?;
        let unavailable = |e: crate::store::StoreError| HttpError::unavailable(e, retry_after);

        if let Some(shared) = &self.shared_token {
            if constant_time_eq(password.as_bytes(), shared.expose().as_bytes()) {
                if let Some(hit) = self.cached(&name) {
                    return Ok(hit.id);
                }
                let _turn = self.lookup_turn(&name).await;
                if let Some(hit) = self.cached(&name) {
                    return Ok(hit.id);
                }
                let id = self.store.ensure_app(&name).await.map_err(unavailable)?;
                let hash = self
                    .store
                    .app_auth(&name)
                    .await
                    .map_err(unavailable)?
                    .and_then(|a| a.drain_token_hash);
                self.remember(
                    name,
                    Cached {
                        id,
                        drain_token_hash: hash,
                        fetched: Instant::now(),
                    },
                );
                return Ok(id);
            }
        }

        let app = match self.cached(&name) {
            Some(hit) => hit,
            None => {
                let _turn = self.lookup_turn(&name).await;
                match self.cached(&name) {
                    Some(hit) => hit,
                    None => {
                        let found = self.store.app_auth(&name).await.map_err(unavailable)?;
                        let Some(found) = found else {
                            return Err(HttpError::Unauthorized);
                        };
                        let c = Cached {
                            id: found.id,
                            drain_token_hash: found.drain_token_hash,
                            fetched: Instant::now(),
                        };
                        self.remember(name, c.clone());
                        c
                    }
                }
            }
        };
        match &app.drain_token_hash {
            Some(stored) if constant_time_eq(&hash_token(&password), stored) => Ok(app.id),
            _ => Err(HttpError::Unauthorized),
        }
    }

    fn cached(&self, name: &AppName) -> Option<Cached> {
        let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        cache
            .get(name)
            .filter(|c| c.fetched.elapsed() < self.ttl)
            .cloned()
    }

    fn remember(&self, name: AppName, entry: Cached) {
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if cache.len() >= CACHE_CAP {
            cache.clear();
        }
        cache.insert(name, entry);
    }
}

/// `Authorization: Bearer TOKEN` → the token.
fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// `Authorization: Basic base64(app:token)` → a valid app name and the token.
fn basic_credentials(headers: &HeaderMap) -> Option<(AppName, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (user, pass) = decoded.split_once(':')?;
    Some((AppName::parse(user)?, pass.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn with_auth(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(v).expect("header"),
        );
        h
    }

    #[test]
    fn basic_credentials_split_app_name_and_token() {
        // "heroku:s3cr3t-t0ken", from samples/posts/13
        let (name, pass) =
            basic_credentials(&with_auth("Basic aGVyb2t1OnMzY3IzdC10MGtlbg==")).expect("parses");
        assert_eq!(name.as_str(), "heroku");
        assert_eq!(pass, "s3cr3t-t0ken");
    }

    #[test]
    fn malformed_credentials_are_rejected() {
        assert!(basic_credentials(&HeaderMap::new()).is_none());
        assert!(basic_credentials(&with_auth("Bearer abc")).is_none());
        assert!(basic_credentials(&with_auth("Basic !!!")).is_none());
        // "Bad_Name:x" is not a Heroku app name
        let enc = base64::engine::general_purpose::STANDARD.encode("Bad_Name:x");
        assert!(basic_credentials(&with_auth(&format!("Basic {enc}"))).is_none());
    }
}
