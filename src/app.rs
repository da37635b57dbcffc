//! Build and run: the database (given or private), the writers, the router, the listener, and
//! the shutdown order:
//!
//! 1. the injected trigger fires: stop accepting connections;
//! 2. in-flight requests finish (their batches are still being written);
//! 3. the queue closes and the writers flush what is left and acknowledge it;
//! 4. the pool closes (and the caller stops a private cluster last).

use crate::config::{Database, DbConfig, ServeConfig};
use crate::http::{self, AppState, DrainAuth, Limits, QueryConfig};
use crate::ingest::{self, Metrics, WriterSettings};
use crate::store::notify::Tails;
use crate::store::pgcluster::{ClusterOptions, PrivateCluster};
use crate::store::{PoolSettings, Store};
use anyhow::Context as _;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;

/// The database a command works on, and the private cluster behind it when there is one
/// (dropping it stops the cluster, so keep it alive as long as the store).
pub struct Db {
    /// The pool.
    pub store: Store,
    /// The private cluster, when `DATABASE_URL` was not given.
    pub cluster: Option<PrivateCluster>,
}

/// Connects to `DATABASE_URL`, or starts the private cluster; then applies migrations.
pub async fn open_database(cfg: &DbConfig) -> anyhow::Result<Db> {
    let settings = PoolSettings {
        max_connections: cfg.pool_size,
        acquire_timeout: cfg.acquire_timeout,
    };
    let (url, cluster) = match &cfg.database {
        Database::Url(url) => (url.expose().to_owned(), None),
        Database::Private {
            data_dir,
            bin_dir,
            run_as,
        } => {
            let opts = ClusterOptions {
                data_dir: data_dir.clone(),
                ephemeral: false,
                unsafe_fast: false,
                bin_dir: bin_dir.clone(),
                run_as: run_as.clone(),
            };
            let cluster = tokio::task::spawn_blocking(move || PrivateCluster::start(opts))
                .await
                .context("private PostgreSQL start task")?
                .context(
                    "DATABASE_URL is not set, so logdrain starts a private PostgreSQL cluster",
                )?;
            (cluster.url("postgres"), Some(cluster))
        }
    };
    let store = Store::connect(&url, &settings)
        .await
        .context("connecting to Postgres")?;
    store.migrate().await.context("applying migrations")?;
    Ok(Db { store, cluster })
}

/// A description of the database without credentials, for the startup line.
pub fn describe_database(cfg: &DbConfig) -> String {
    match &cfg.database {
        Database::Url(url) => {
            let u = url.expose();
            // postgres://user:pass@host:port/db?x → host:port/db
            let after_scheme = u.split_once("://").map_or(u, |(_, r)| r);
            let after_creds = after_scheme
                .rsplit_once('@')
                .map_or(after_scheme, |(_, r)| r);
            after_creds.split('?').next().unwrap_or("").to_owned()
        }
        Database::Private { data_dir, .. } => format!("private cluster in {}", data_dir.display()),
    }
}

/// A bound, ready-to-run server. Binding first lets tests use port 0 and know the port
/// before any request is sent.
pub struct Application {
    listener: TcpListener,
    config: ServeConfig,
    store: Store,
}

impl Application {
    /// Binds the listener and makes the partitions the first lines need.
    pub async fn bind(config: ServeConfig, store: Store) -> anyhow::Result<Application> {
        let listener = TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("binding {}", config.listen))?;
        // Partitions for now and tomorrow before the first line arrives (quick: no index
        // builds); the periodic task does the rest.
        let startup_policy = crate::store::partitions::Policy {
            search_index: false,
            ..config.maintenance.clone()
        };
        if let Err(e) = store.maintain(&startup_policy, now_us()).await {
            tracing::warn!(error = %e, "startup maintenance failed; the periodic task retries");
        }
        // The config file's alert rules replace those of the previous start.
        store
            .sync_config_alerts(&config.alert_rules)
            .await
            .context("storing the config file's [[alerts]]")?;
        Ok(Application {
            listener,
            config,
            store,
        })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> anyhow::Result<SocketAddr> {
        self.listener
            .local_addr()
            .context("reading the bound address")
    }

    /// Serves until `shutdown` completes, then shuts down in the documented order.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let Application {
            listener,
            config,
            store,
        } = self;
        let metrics = Arc::new(Metrics::default());
        let (queue, writers) = ingest::start(
            store.clone(),
            &WriterSettings {
                queue_bytes: config.queue_bytes,
                app_share_bytes: config.app_queue_share,
                batch_bytes: config.batch_bytes,
                writers: config.writers,
                app_concurrency: config.app_concurrency,
            },
            metrics,
        );
        // The query API's reads are bounded by LOGDRAIN_QUERY_TIMEOUT; writers and maintenance
        // keep the unbounded handle.
        let reads = store.clone().with_query_timeout(config.query_timeout);
        let (tails, tails_stop) = Tails::start(reads.clone());
        let maintenance = tokio::spawn(maintenance_loop(
            store.clone(),
            config.maintenance.clone(),
            config.maintenance_every,
        ));
        let rollup_merges =
            tokio::spawn(rollup_merge_loop(store.clone(), config.rollup_merge_every));
        // Alert rounds read with the unbounded handle: they are few, small, and must not fail
        // because an API limit was set low.
        let alerts =
            tokio::spawn(crate::alerts::Evaluator::new(store.clone(), config.alerts.clone()).run());
        let state = AppState {
            query: Arc::new(QueryConfig {
                api_token: config.api_token.clone(),
                maintenance: config.maintenance.clone(),
                session_ttl: config.session_ttl,
                https: config.tls.is_some(),
            }),
            tails,
            rules: config.rules.clone(),
            store: reads,
            queue,
            auth: Arc::new(DrainAuth::new(
                store.clone(),
                config.drain_token.clone(),
                config.auth_cache_ttl,
            )),
            limits: Arc::new(Limits {
                max_body_bytes: config.max_body_bytes,
                max_frame_bytes: config.max_frame_bytes,
                max_lines: config.max_lines,
                otlp_max_attributes: config.otlp_max_attributes,
                ack_timeout: config.ack_timeout,
                retry_after: config.retry_after,
                body_timeout: config.body_timeout,
            }),
        };
        let router = http::router(state);

        let (stopping_tx, stopping_rx) = tokio::sync::oneshot::channel::<()>();
        let stopping = async move {
            shutdown.await;
            tracing::info!("shutdown: no new connections; finishing in-flight requests");
            // Live tails never finish on their own: end them so they do not hold shutdown up.
            tails_stop.stop();
            let _ = stopping_tx.send(());
        };
        let tls = match &config.tls {
            None => None,
            Some(files) => {
                let cert = http::server::ReloadingCert::load(files)?;
                let (reload_stop_tx, reload_stop_rx) = tokio::sync::oneshot::channel::<()>();
                tokio::spawn(http::server::watch_reloads(cert.clone(), async move {
                    let _ = reload_stop_rx.await;
                }));
                Some((http::server::server_config(cert)?, reload_stop_tx))
            }
        };
        let limits = http::server::ConnLimits {
            max_connections: config.max_connections,
            idle_timeout: config.idle_timeout,
            head_timeout: config.head_timeout,
            max_pending_heads: config.max_pending_heads,
            retry_after: config.retry_after,
        };
        let serve = async move {
            let (tls_config, reload_stop) = match tls {
                Some((c, stop)) => (Some(c), Some(stop)),
                None => (None, None),
            };
            http::server::serve(listener, router, tls_config, limits, stopping).await;
            if let Some(stop) = reload_stop {
                let _ = stop.send(());
            }
            Ok::<(), std::io::Error>(())
        };
        let grace = config.shutdown_grace;
        let served = async {
            let mut serve = std::pin::pin!(serve);
            tokio::select! {
                r = &mut serve => r,
                _ = async {
                    let _ = stopping_rx.await;
                    tokio::time::sleep(grace).await;
                } => {
                    tracing::warn!(?grace, "shutdown: in-flight requests did not finish in time");
                    Ok(())
                }
            }
        };
        served.await.context("serving HTTP")?;

        // An index build in progress is abandoned (the next run starts it over).
        maintenance.abort();
        let _ = maintenance.await;
        rollup_merges.abort();
        let _ = rollup_merges.await;
        // A notification being sent is abandoned; its lease runs out and a later round sends it.
        alerts.abort();
        let _ = alerts.await;
        tracing::info!("shutdown: flushing the write queue");
        writers.shutdown().await;
        store.close().await;
        tracing::info!("shutdown: complete");
        Ok(())
    }
}

fn now_us() -> i64 {
    chrono::Utc::now().timestamp_micros()
}

/// Runs maintenance every `every`, for ever (aborted on shutdown).
async fn maintenance_loop(
    store: Store,
    policy: crate::store::partitions::Policy,
    every: std::time::Duration,
) {
    // The start-up run just happened: the first periodic one is `every` later.
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        match store.maintain(&policy, now_us()).await {
            Ok(r) if r.ran => tracing::debug!(
                created = r.created.len(),
                dropped = r.dropped.len(),
                indexed = r.indexed.len(),
                alert_history_pruned = r.alert_history_pruned,
                alert_deliveries_pruned = r.alert_deliveries_pruned,
                db_bytes = r.db_bytes,
                "maintenance done"
            ),
            Ok(_) => tracing::debug!("maintenance running in another process"),
            Err(e) => tracing::warn!(error = %e, "maintenance failed; retrying on the next run"),
        }
    }
}

/// Merges the stats rollups' batch rows every `every` and adds them to the coarse rows, for
/// ever (aborted on shutdown). A merge is one transaction, so an abort or a concurrent merge in
/// another process loses and doubles nothing.
async fn rollup_merge_loop(store: Store, every: std::time::Duration) {
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        match store.merge_rollups().await {
            Ok(n) => tracing::debug!(merged = n, "rollups merged"),
            Err(e) => tracing::warn!(error = %e, "rollup merge failed; retrying on the next run"),
        }
    }
}

/// Resolves on SIGTERM (Heroku's stop signal) or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
