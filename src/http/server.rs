//! The connection layer: HTTP/1.1 over plain TCP or in-process TLS (rustls, TLS 1.2 and 1.3),
//! with a connection limit, a keep-alive idle timeout, a head deadline and a cap on connections
//! without a complete head (`heads.rs`), and graceful shutdown, for both.
//!
//! The certificate is reloaded on SIGHUP or when its file changes; connections already open
//! keep theirs, new handshakes get the new one, nothing is dropped. Past the connection limit a
//! new connection gets `503` with `Retry-After` and is closed, so a flood costs a bounded amount.

use super::heads::{HeadWatch, PendingHeads, Watched};
use crate::config::TlsFiles;
use anyhow::{anyhow, Context as _};
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use std::future::Future;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime};
use tokio::net::TcpListener;
use tower::ServiceExt as _;

/// How often the certificate files are checked for changes.
const RELOAD_POLL: Duration = Duration::from_secs(10);
/// Longest a TLS handshake may take before the connection is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Hands every handshake the current certificate; swapped on reload.
#[derive(Debug)]
pub struct ReloadingCert {
    files: TlsFiles,
    current: RwLock<Arc<CertifiedKey>>,
    modified: Mutex<Option<(SystemTime, SystemTime)>>,
}

impl ReloadingCert {
    /// Loads the files; an unreadable or mismatched pair is a startup error.
    pub fn load(files: &TlsFiles) -> anyhow::Result<Arc<ReloadingCert>> {
        let key = load_key(files)?;
        Ok(Arc::new(ReloadingCert {
            files: files.clone(),
            current: RwLock::new(Arc::new(key)),
            modified: Mutex::new(modified(files)),
        }))
    }

    /// Reads the files again; on failure the old certificate stays in use.
    pub fn reload(&self) -> anyhow::Result<()> {
        let key = load_key(&self.files)?;
        if let Ok(mut current) = self.current.write() {
            *current = Arc::new(key);
        }
        if let Ok(mut m) = self.modified.lock() {
            *m = modified(&self.files);
        }
        tracing::info!(cert = %self.files.cert.display(), "TLS certificate reloaded");
        Ok(())
    }

    /// Reloads when either file's modification time changed.
    fn reload_if_changed(&self) {
        let now = modified(&self.files);
        let changed = self.modified.lock().map(|m| *m != now).unwrap_or(false);
        if changed {
            if let Err(e) = self.reload() {
                tracing::warn!(error = %e, "TLS certificate changed but could not be loaded; keeping the old one");
            }
        }
    }
}

impl ResolvesServerCert for ReloadingCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.current.read().ok().map(|c| Arc::clone(&c))
    }
}

fn modified(files: &TlsFiles) -> Option<(SystemTime, SystemTime)> {
    let m = |p: &std::path::Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    Some((m(&files.cert)?, m(&files.key)?))
}

fn load_key(files: &TlsFiles) -> anyhow::Result<CertifiedKey> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&files.cert)
        .with_context(|| format!("reading {}", files.cert.display()))?
        .collect::<Result<_, _>>()
        .with_context(|| format!("parsing {}", files.cert.display()))?;
    if certs.is_empty() {
        return Err(anyhow!("{}: no certificate in it", files.cert.display()));
    }
    let key = PrivateKeyDer::from_pem_file(&files.key)
        .with_context(|| format!("reading a private key from {}", files.key.display()))?;
    let provider = rustls::crypto::ring::default_provider();
    let key = CertifiedKey::from_der(certs, key, &provider).with_context(|| {
        format!(
            "{} and {} do not form a usable pair",
            files.cert.display(),
            files.key.display()
        )
    })?;
    Ok(key)
}

/// The rustls configuration: TLS 1.2 and 1.3, HTTP/1.1 only (what Logplex speaks).
pub fn server_config(cert: Arc<ReloadingCert>) -> anyhow::Result<rustls::ServerConfig> {
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
    .context("TLS protocol versions")?
    .with_no_client_auth()
    .with_cert_resolver(cert);
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// Reloads on SIGHUP and when the files change, until `stop` resolves.
pub async fn watch_reloads(cert: Arc<ReloadingCert>, stop: impl Future<Output = ()>) {
    let mut stop = std::pin::pin!(stop);
    #[cfg(unix)]
    let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
    loop {
        #[cfg(unix)]
        let hangup = async {
            match hup.as_mut() {
                Some(s) => {
                    s.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let hangup = std::future::pending::<()>();
        tokio::select! {
            _ = hangup => {
                if let Err(e) = cert.reload() {
                    tracing::warn!(error = %e, "SIGHUP: TLS certificate not reloaded; keeping the old one");
                }
            }
            _ = tokio::time::sleep(RELOAD_POLL) => cert.reload_if_changed(),
            _ = &mut stop => return,
        }
    }
}

/// Connection-level limits.
#[derive(Debug, Clone, Copy)]
pub struct ConnLimits {
    /// Open connections served at once; more get 503 and are closed.
    pub max_connections: usize,
    /// How long a connection may sit without a complete request head, idle time included: the
    /// keep-alive idle timeout.
    pub idle_timeout: Duration,
    /// How long a request head may take once its first byte has arrived (slow loris).
    pub head_timeout: Duration,
    /// Connections without a complete request head; past it the oldest is closed.
    pub max_pending_heads: usize,
    /// Sent as Retry-After to connections over the limit.
    pub retry_after: Duration,
}

/// Serves `router` (over TLS when `tls` is set) until `shutdown` resolves, then stops
/// accepting and waits for open connections to finish their requests (the caller bounds the
/// wait).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    tls: Option<rustls::ServerConfig>,
    limits: ConnLimits,
    shutdown: impl Future<Output = ()>,
) {
    let acceptor = tls.map(|config| tokio_rustls::TlsAcceptor::from(Arc::new(config)));
    let permits = Arc::new(tokio::sync::Semaphore::new(limits.max_connections.max(1)));
    let heads = PendingHeads::new(limits.max_pending_heads);
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (tcp, _peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let _ = tcp.set_nodelay(true);
        let Ok(permit) = Arc::clone(&permits).try_acquire_owned() else {
            tokio::spawn(refuse(tcp, limits.retry_after));
            continue;
        };
        let acceptor = acceptor.clone();
        let router = router.clone();
        let watcher = graceful.watcher();
        // Pending from the start: a connection that never completes a head counts against
        // LOGDRAIN_MAX_PENDING_HEADS, TLS handshake included.
        let watch = HeadWatch::new(&heads);
        tokio::spawn(async move {
            let conn = Conn {
                router,
                limits,
                watch,
                _permit: permit,
            };
            match acceptor {
                None => conn.serve(tcp, watcher).await,
                Some(acceptor) => {
                    let handshake = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp));
                    tokio::select! {
                        done = handshake => match done {
                            Ok(Ok(tls)) => conn.serve(tls, watcher).await,
                            Ok(Err(e)) => tracing::debug!(error = %e, "TLS handshake failed"),
                            Err(_) => tracing::debug!("TLS handshake timed out"),
                        },
                        reason = conn.watch.must_close(limits.head_timeout) => {
                            tracing::debug!(reason, "connection closed during its TLS handshake");
                        }
                    }
                }
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

/// Answers a connection over LOGDRAIN_MAX_CONNECTIONS with 503 and closes it.
async fn refuse(tcp: tokio::net::TcpStream, retry_after: Duration) {
    use tokio::io::AsyncWriteExt as _;
    let mut tcp = tcp;
    let answer = format!(
        "HTTP/1.1 503 Service Unavailable\r\nRetry-After: {}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        retry_after.as_secs().max(1)
    );
    let _ = tokio::time::timeout(Duration::from_secs(1), tcp.write_all(answer.as_bytes())).await;
    let _ = tcp.shutdown().await;
}

/// One admitted connection: what serving it needs, and its place in the connection limit.
struct Conn {
    router: Router,
    limits: ConnLimits,
    watch: Arc<HeadWatch>,
    /// Held while the connection is open (LOGDRAIN_MAX_CONNECTIONS).
    _permit: tokio::sync::OwnedSemaphorePermit,
}

impl Conn {
    /// Serves HTTP/1.1 with keep-alive until the client goes, the server shuts down, or the
    /// connection is too slow to send a head (closed without an answer).
    async fn serve<I>(self, io: I, watcher: hyper_util::server::graceful::Watcher)
    where
        I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        let Conn {
            router,
            limits,
            watch,
            _permit,
        } = self;
        let io = TokioIo::new(Watched::new(io, Arc::clone(&watch)));
        let service_watch = Arc::clone(&watch);
        let service = hyper::service::service_fn(move |req| {
            service_watch.head_complete();
            let response = router.clone().oneshot(req);
            let watch = Arc::clone(&service_watch);
            async move {
                let response = response.await;
                watch.response_ready();
                response
            }
        });
        // hyper's header read timer runs from the moment it waits for a head, idle time
        // included: it is the keep-alive idle bound. The head deadline is `watch`'s.
        let conn = hyper::server::conn::http1::Builder::new()
            .keep_alive(true)
            .timer(TokioTimer::new())
            .header_read_timeout(limits.idle_timeout)
            .serve_connection(io, service);
        tokio::select! {
            done = watcher.watch(conn) => {
                if let Err(e) = done {
                    tracing::debug!(error = %e, "connection ended with an error");
                }
            }
            reason = watch.must_close(limits.head_timeout) => {
                tracing::debug!(reason, "connection closed");
            }
        }
    }
}
