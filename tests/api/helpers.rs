//! Test harness: one private PostgreSQL cluster per test binary (or the server named by
//! DATABASE_URL), a fresh database per test, and the real server bound to port 0.

use logdrain::app::Application;
use logdrain::config::{ServeConfig, Task};
use logdrain::store::pgcluster::{ClusterOptions, PrivateCluster};
use logdrain::store::{PoolSettings, Store};
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions as _, Connection as _, Executor as _};
use std::net::SocketAddr;
use std::str::FromStr as _;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The URL of the maintenance database every test database is created from.
fn admin_url() -> &'static str {
    static URL: OnceLock<String> = OnceLock::new();
    static CLUSTER: OnceLock<PrivateCluster> = OnceLock::new();
    URL.get_or_init(|| match std::env::var("DATABASE_URL") {
        Ok(url) if !url.is_empty() => url,
        _ => {
            let cluster = CLUSTER.get_or_init(|| {
                PrivateCluster::start(ClusterOptions::ephemeral_in_temp())
                    .unwrap_or_else(|e| panic!("cannot start the test cluster: {e}"))
            });
            cluster.url("postgres")
        }
    })
}

/// A fresh database on the shared test cluster (several servers may share it).
pub async fn fresh_database_on_admin() -> String {
    fresh_database_on(admin_url()).await
}

/// Creates an empty database with a unique name and returns its URL.
pub async fn fresh_database_on(admin: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let name = format!(
        "logdrain_test_{}_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0)
    );
    let opts = PgConnectOptions::from_str(admin).expect("admin url");
    let mut conn = opts.connect().await.expect("connect to admin database");
    conn.execute(format!("CREATE DATABASE {name}").as_str())
        .await
        .expect("create test database");
    conn.close().await.ok();
    // Rebuild the URL with the new database name, keeping host/socket parameters.
    url_with_database(admin, &name)
}

/// `admin` with its database replaced by `db`.
pub fn url_with_database(admin: &str, db: &str) -> String {
    let (base, query) = admin
        .split_once('?')
        .map_or((admin, None), |(b, q)| (b, Some(q)));
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let path_start = base[scheme_end..].find('/').map(|i| i + scheme_end);
    let root = path_start.map_or(base, |i| &base[..i]);
    match query {
        Some(q) => format!("{root}/{db}?{q}"),
        None => format!("{root}/{db}"),
    }
}

/// Serve settings as `logdrain serve` loads them from these flags (and the `--config` file
/// among them, if any), with port 0 and this database.
pub fn serve_config(db_url: &str, extra: &[&str]) -> ServeConfig {
    let mut args = vec![
        "logdrain",
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--database-url",
        db_url,
    ];
    // The harness's pool unless the test sets its own.
    for (flag, value) in [("--db-pool", "8"), ("--db-timeout", "2s")] {
        if !extra.contains(&flag) {
            args.extend([flag, value]);
        }
    }
    args.extend_from_slice(extra);
    let argv: Vec<String> = args.into_iter().map(str::to_owned).collect();
    match logdrain::config::load(&argv).expect("valid settings").task {
        Task::Serve(config) => *config,
        other => panic!("not serve: {other:?}"),
    }
}

/// A running server on a fresh database.
pub struct TestApp {
    /// Where it listens.
    pub addr: SocketAddr,
    /// A separate pool for assertions.
    pub store: Store,
    /// The database URL.
    pub db_url: String,
    /// HTTP client.
    pub client: reqwest::Client,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<anyhow::Result<()>>>,
}

impl TestApp {
    /// A server with default settings on a fresh database of the shared cluster.
    pub async fn spawn() -> TestApp {
        TestApp::spawn_with(&[]).await
    }

    /// A server with extra `serve` flags.
    pub async fn spawn_with(extra: &[&str]) -> TestApp {
        let db_url = fresh_database_on(admin_url()).await;
        TestApp::spawn_on(&db_url, extra).await
    }

    /// A server on a given (already created) database.
    pub async fn spawn_on(db_url: &str, extra: &[&str]) -> TestApp {
        TestApp::spawn_configured(db_url, serve_config(db_url, extra)).await
    }

    /// A server with extra flags and a config file holding `toml` (its `[rules]`).
    pub async fn spawn_with_rules(extra: &[&str], toml: &str) -> TestApp {
        let db_url = fresh_database_on(admin_url()).await;
        let file = std::env::temp_dir().join(format!(
            "logdrain-rules-{}-{}.toml",
            std::process::id(),
            db_url.rsplit('/').next().unwrap_or("db")
        ));
        std::fs::write(&file, toml).expect("write the config file");
        let path = file.display().to_string();
        let mut args = vec!["--config", path.as_str()];
        args.extend_from_slice(extra);
        let config = serve_config(&db_url, &args);
        std::fs::remove_file(&file).ok();
        TestApp::spawn_configured(&db_url, config).await
    }

    /// A server with these settings on a given (already created) database.
    pub async fn spawn_configured(db_url: &str, config: ServeConfig) -> TestApp {
        let settings = PoolSettings {
            max_connections: 8,
            acquire_timeout: Duration::from_secs(2),
        };
        let store = Store::connect(db_url, &settings).await.expect("connect");
        store.migrate().await.expect("migrate");
        TestApp::spawn_with_store(db_url, config, store).await
    }

    /// A server with these settings over this store (e.g. one whose aggregates read lines only).
    pub async fn spawn_with_store(db_url: &str, config: ServeConfig, store: Store) -> TestApp {
        let settings = PoolSettings {
            max_connections: 8,
            acquire_timeout: Duration::from_secs(2),
        };
        let app = Application::bind(config, store.clone())
            .await
            .expect("bind");
        let addr = app.local_addr().expect("addr");
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(app.run(async move {
            let _ = rx.await;
        }));
        let assert_store = Store::connect(db_url, &settings).await.expect("connect");
        let client = logdrain::client::http_client();
        TestApp {
            addr,
            store: assert_store,
            db_url: db_url.to_owned(),
            client,
            shutdown: Some(tx),
            task: Some(task),
        }
    }

    /// `http://addr/path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Triggers the graceful shutdown and waits for it to finish.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        match self.task.take() {
            Some(t) => t.await.expect("server task"),
            None => Ok(()),
        }
    }

    /// The status `GET /readyz` answers right now.
    pub async fn readyz_status(&self) -> u16 {
        let res = self
            .client
            .get(self.url("/readyz"))
            .send()
            .await
            .expect("readyz");
        res.status().as_u16()
    }

    /// Lines stored, all apps, in either tier (a restarted server's maintenance may compact
    /// the past days the tests' lines are stamped with).
    pub async fn line_count(&self) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM all_lines")
            .fetch_one(self.store.pool())
            .await
            .expect("count lines")
    }

    /// Creates an app whose drain token is `token` (stored hashed, as `apps create` does).
    pub async fn app_with_token(&self, name: &str, token: &str) -> i64 {
        sqlx::query_scalar("INSERT INTO apps (name, drain_token_hash) VALUES ($1, $2) RETURNING id")
            .bind(name)
            .bind(logdrain::store::apps::hash_token(token))
            .fetch_one(self.store.pool())
            .await
            .expect("insert app")
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// One complete sample request from tests/fixtures/samples/posts.
pub struct SamplePost {
    pub name: String,
    pub query: Option<String>,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub expected_count: usize,
    /// Exact bytes of each message, in body order.
    pub messages: Vec<Vec<u8>>,
}

/// Every sample post with its manifest expectations.
pub fn sample_posts() -> Vec<SamplePost> {
    use base64::Engine as _;
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/samples/posts");
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(format!("{dir}/manifest.json")).expect("manifest"))
            .expect("manifest json");
    let mut posts = Vec::new();
    for entry in manifest.as_array().expect("array") {
        let name = entry["name"].as_str().expect("name").to_owned();
        let head = std::fs::read_to_string(format!(
            "{dir}/{}",
            entry["headers_file"].as_str().expect("h")
        ))
        .expect("headers file");
        let mut lines = head.split("\r\n");
        let request_line = lines.next().expect("request line");
        let target = request_line.split(' ').nth(1).expect("target");
        let query = target.split_once('?').map(|(_, q)| q.to_owned());
        let headers = lines
            .filter(|l| !l.is_empty())
            .filter_map(|l| l.split_once(": "))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        let body = std::fs::read(format!("{dir}/{}", entry["body_file"].as_str().expect("b")))
            .expect("body");
        let messages = entry["messages"]
            .as_array()
            .expect("messages")
            .iter()
            .map(|m| {
                base64::engine::general_purpose::STANDARD
                    .decode(m["raw_b64"].as_str().expect("raw_b64"))
                    .expect("base64")
            })
            .collect();
        posts.push(SamplePost {
            name,
            query,
            headers,
            body,
            expected_count: entry["expected_message_count"].as_u64().expect("count") as usize,
            messages,
        });
    }
    posts
}

/// Basic-auth header value for `app:token`.
pub fn basic(app: &str, token: &str) -> String {
    use base64::Engine as _;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{app}:{token}"))
    )
}

/// POSTs a sample the way Logplex does (its own headers, our credentials).
pub async fn post_sample(app: &TestApp, post: &SamplePost, auth: &str) -> reqwest::Response {
    let path = match &post.query {
        Some(q) => format!("/logs?{q}"),
        None => "/logs".to_owned(),
    };
    let mut req = app.client.post(app.url(&path)).body(post.body.clone());
    for (k, v) in &post.headers {
        let lower = k.to_ascii_lowercase();
        if lower == "host" || lower == "content-length" || lower == "authorization" {
            continue;
        }
        req = req.header(k, v);
    }
    req.header("Authorization", auth)
        .send()
        .await
        .expect("request")
}

/// A free loopback port (for servers run as child processes).
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("port");
    listener.local_addr().expect("addr").port()
}

/// Waits until `GET {base}/readyz` answers 200 (at most 20 s).
pub async fn wait_ready(client: &reqwest::Client, base: &str) {
    let started = std::time::Instant::now();
    while client
        .get(format!("{base}/readyz"))
        .send()
        .await
        .map(|r| r.status() != 200)
        .unwrap_or(true)
    {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "server did not become ready"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// A throwaway cluster of the test's own (to stop and start without disturbing other tests)
/// and the URL of a fresh database on it.
pub async fn own_cluster() -> (PrivateCluster, String) {
    let cluster =
        tokio::task::spawn_blocking(|| PrivateCluster::start(ClusterOptions::ephemeral_in_temp()))
            .await
            .expect("task")
            .expect("cluster");
    let db_url = fresh_database_on(&cluster.url("postgres")).await;
    (cluster, db_url)
}

impl TestApp {
    /// `GET path` with a bearer token, asserting `200`; the body as text.
    pub async fn get_ok(&self, path: &str, token: &str) -> String {
        let res = self
            .client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("get");
        assert_eq!(res.status(), 200, "{path}");
        res.text().await.expect("text")
    }

    /// `GET path` as text (for unauthenticated endpoints such as `/metrics`).
    pub async fn get_text(&self, path: &str) -> String {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("get")
            .text()
            .await
            .expect("text")
    }
}

/// Runs maintenance as of `now`, waiting while another run (the server's own) holds the lock.
pub async fn maintain(
    store: &Store,
    policy: &logdrain::store::partitions::Policy,
    now: chrono::DateTime<chrono::Utc>,
) -> logdrain::store::partitions::Report {
    for _ in 0..200 {
        let report = store
            .maintain(policy, now.timestamp_micros())
            .await
            .expect("maintain");
        if report.ran {
            assert!(report.errors.is_empty(), "{:?}", report.errors);
            return report;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("maintenance lock never free");
}

/// The quick-start drain token of the page tests (`--drain-token`).
pub const QUICK_DRAIN: &str = "quick-start-drain-token-0123456789";

/// POSTs an octet-counted body of `count` messages for app `name` as Logplex would.
pub async fn post_body(app: &TestApp, name: &str, token: &str, body: Vec<u8>, count: usize) {
    let res = app
        .client
        .post(app.url("/logs"))
        .header("Authorization", basic(name, token))
        .header("Content-Type", "application/logplex-1")
        .header("Logplex-Msg-Count", count.to_string())
        .body(body)
        .send()
        .await
        .expect("post");
    assert_eq!(res.status(), 204, "drain POST stored");
}

/// POSTs `messages` (syslog text, one per element) for app `name` with [`QUICK_DRAIN`].
pub async fn post_lines(app: &TestApp, name: &str, messages: &[String]) {
    let mut body = Vec::new();
    for m in messages {
        body.extend_from_slice(format!("{} {m}", m.len()).as_bytes());
    }
    post_body(app, name, QUICK_DRAIN, body, messages.len()).await;
}

/// A syslog message of `app[web.1]` stamped `ago` before now.
pub fn app_line(ago: Duration, text: &str) -> String {
    let ts = chrono::Utc::now() - chrono::Duration::from_std(ago).expect("duration");
    format!(
        "<190>1 {} host app web.1 - {text}",
        ts.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
    )
}

/// Runs the real `logdrain serve` binary, in a process of its own with default settings, on
/// the test app's database; returns it and its base URL once ready. `SERVE_LOG=<file>` keeps
/// its own log (with `RUST_LOG=logdrain=debug`, every batch and its milliseconds).
pub async fn serve_binary(app: &TestApp) -> (std::process::Child, String) {
    let port = free_port();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_logdrain"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .env("DATABASE_URL", &app.db_url)
        .stdout(std::process::Stdio::null())
        .stderr(match std::env::var_os("SERVE_LOG") {
            Some(p) => std::process::Stdio::from(std::fs::File::create(p).expect("log")),
            None => std::process::Stdio::null(),
        })
        .spawn()
        .expect("spawn");
    let base = format!("http://127.0.0.1:{port}");
    wait_ready(&app.client, &base).await;
    (child, base)
}
