//! A private, throwaway PostgreSQL cluster started from the machine's own server binaries.
//!
//! This sits in `store/` beside the sqlx code: when no `DATABASE_URL` is given, the server and the
//! tests ask this module for a cluster and then connect to [`PrivateCluster::url`] like to any
//! other database. Nothing here speaks SQL; it runs `initdb` and `postgres` and minds their
//! processes.
//!
//! Decisions worth knowing:
//! - The Unix socket lives in the data directory itself (mode 0700), or in a private 0700
//!   directory under `/tmp` when that path would be too long for a socket address. Authentication
//!   is `trust`, so the directory's permissions are what keeps other local users out; there is no
//!   TCP listener at all.
//! - PostgreSQL refuses to run as root. When we are root, `initdb` and `postgres` run as an
//!   unprivileged user (`postgres` by default) who owns the data and socket directories.
//! - The postmaster runs in its own process group, so a Ctrl-C aimed at logdrain does not stop
//!   the database before logdrain has flushed its last batch; [`PrivateCluster::shutdown`]
//!   stops it.
//! - A detached watchdog shell stops the postmaster (and removes an ephemeral cluster) when our
//!   process dies without running destructors: SIGKILL, `panic = "abort"`, a test harness exit.
//! - There is no libc: signals go through the shell's `kill`, users come from `/etc/passwd` and
//!   the effective uid from `/proc/self/status`.

mod binaries;
mod error;
mod os;
mod setup;

use binaries::find_binaries;
#[cfg(test)]
use binaries::is_executable;
use os::*;
use setup::{initdb, private_dir, server_settings, socket_path_fits, socket_url};

pub use error::ClusterError;
use error::{io_error, last_lines, spawn_error};
use std::ffi::OsString;
use std::fs::{self, OpenOptions};
use std::io;
use std::os::unix::fs::MetadataExt;
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// A fresh cluster is ready in about two seconds (mostly initdb); 30 s leaves room for loaded CI.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// A fast shutdown ends in well under a second; past this we escalate to an immediate shutdown.
const STOP_TIMEOUT: Duration = Duration::from_secs(30);
const POLL: Duration = Duration::from_millis(50);
/// Every cluster has its own socket directory, so all of them can use the default port.
const DEFAULT_PORT: u16 = 5432;
/// `sockaddr_un.sun_path` holds 108 bytes on Linux and 104 on macOS; stay clear of both.
const MAX_SOCKET_PATH: usize = 100;
/// The server log, kept inside the data directory so it goes wherever the cluster goes.
const LOG_FILE: &str = "postgres.log";
const LOG_TAIL_LINES: usize = 20;

/// Stops the postmaster and removes the given directories once our process is gone.
/// Arguments: `$1` our pid, `$2` the data directory, `$3…` the directories to remove.
/// It waits for `postmaster.pid` to vanish as well as for the pid, because an orphaned
/// postmaster may linger as a zombie when nobody reaps it.
const WATCHDOG_SCRIPT: &str = r#"trap '' INT HUP
while kill -0 "$1" 2>/dev/null; do sleep 1; done
pg=
{ IFS= read -r pg < "$2/postmaster.pid"; } 2>/dev/null
if [ -n "$pg" ] && kill -INT "$pg" 2>/dev/null; then
  n=0
  while [ "$n" -lt 60 ] && [ -e "$2/postmaster.pid" ] && kill -0 "$pg" 2>/dev/null; do
    sleep 1
    n=$((n + 1))
  done
fi
shift 2
[ "$#" -eq 0 ] || rm -rf -- "$@"
"#;

/// How to run a private cluster; [`ClusterOptions::new`] gives the server's durable default and
/// [`ClusterOptions::ephemeral_in_temp`] the tests' disposable one.
#[derive(Debug, Clone)]
pub struct ClusterOptions {
    /// Where the cluster lives. Created (initdb) when empty or missing; reused when it already
    /// holds a cluster.
    pub data_dir: PathBuf,
    /// Remove the whole data_dir when the cluster stops (tests); keep it (the server's default)
    /// otherwise.
    pub ephemeral: bool,
    /// Trade durability for speed (fsync=off, synchronous_commit=off, full_page_writes=off): for
    /// tests only.
    pub unsafe_fast: bool,
    /// Directory holding the server binaries; None = search PATH, then the usual install
    /// locations.
    pub bin_dir: Option<PathBuf>,
    /// OS user to run as when we are root, because PostgreSQL refuses to run as root.
    pub run_as: String,
}

impl ClusterOptions {
    /// A durable cluster in `data_dir`, found binaries, run as `postgres` when we are root.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            ephemeral: false,
            unsafe_fast: false,
            bin_dir: None,
            run_as: "postgres".to_owned(),
        }
    }

    /// A fresh, uniquely named directory under the system temp dir, removed on shutdown and
    /// tuned for speed: one per test, so tests never share state.
    pub fn ephemeral_in_temp() -> Self {
        Self {
            ephemeral: true,
            unsafe_fast: true,
            ..Self::new(std::env::temp_dir().join(unique_name("logdrain-pg")))
        }
    }
}

/// A running PostgreSQL server that this process owns: it stops the server (and removes an
/// ephemeral data directory) on [`shutdown`](Self::shutdown) or drop.
///
/// If the data directory already had a live postmaster when [`start`](Self::start) ran (a
/// `logdrain apps …` command next to a running `logdrain serve`), the cluster attaches to it
/// instead of starting a second one, and leaves it running on shutdown: it belongs to whoever
/// started it.
#[derive(Debug)]
pub struct PrivateCluster {
    data_dir: PathBuf,
    socket_dir: PathBuf,
    /// A socket directory we created under /tmp because the data directory's path was too long.
    own_socket_dir: Option<PathBuf>,
    port: u16,
    ephemeral: bool,
    postgres: PathBuf,
    /// The `-c name=value` settings passed on every start.
    settings: Vec<OsString>,
    /// Who runs the server, when we are root.
    run_as: Option<OsUser>,
    server: Option<Server>,
    watchdog: Option<Child>,
    /// We attached to a server someone else started: never stop it.
    attached: bool,
    shut_down: bool,
}

impl PrivateCluster {
    /// initdb if needed (`-U postgres --auth=trust -E UTF8 --locale=C`, plus `--no-sync` when
    /// unsafe_fast), then start the server and wait until it accepts connections (up to 30 s,
    /// with the server log's tail in the error). A new cluster takes about two seconds, nearly
    /// all of it initdb; reusing one takes about a tenth of a second.
    pub fn start(opts: ClusterOptions) -> Result<Self, ClusterError> {
        let bins = find_binaries(opts.bin_dir.as_deref())?;
        let run_as = match effective_uid() {
            Some(0) => Some(lookup_user(&opts.run_as)?),
            _ => None,
        };
        let data_dir = private_dir(&opts.data_dir, run_as.as_ref(), true)?;
        // From here on, dropping `cluster` on an error cleans up what was made so far.
        let mut cluster = Self {
            socket_dir: data_dir.clone(),
            data_dir,
            own_socket_dir: None,
            port: DEFAULT_PORT,
            ephemeral: opts.ephemeral,
            postgres: bins.postgres,
            settings: Vec::new(),
            run_as,
            server: None,
            watchdog: None,
            attached: false,
            shut_down: false,
        };
        if let Some(user) = &cluster.run_as {
            check_reachable(&cluster.data_dir, user)?;
        }
        let running = read_pid_file(&cluster.data_dir).filter(|p| is_postmaster(p.pid));
        if let Some(pid_file) = running {
            tracing::info!(
                pid = pid_file.pid,
                data_dir = %cluster.data_dir.display(),
                "attaching to the PostgreSQL server already running there"
            );
            cluster.socket_dir = pid_file.socket_dir.ok_or_else(|| ClusterError::NoSocket {
                data_dir: cluster.data_dir.clone(),
            })?;
            cluster.port = pid_file.port.unwrap_or(DEFAULT_PORT);
            cluster.server = Some(Server {
                pid: pid_file.pid,
                child: None,
            });
            cluster.attached = true;
        } else if !socket_path_fits(&cluster.data_dir) {
            let dir = Path::new("/tmp").join(unique_name("logdrain-pg-sock"));
            cluster.socket_dir = private_dir(&dir, cluster.run_as.as_ref(), false)?;
            cluster.own_socket_dir = Some(cluster.socket_dir.clone());
        }
        cluster.settings = server_settings(&cluster.socket_dir, cluster.port, opts.unsafe_fast);
        if !cluster.attached {
            cluster.watchdog = Some(cluster.spawn_watchdog()?);
        }

        if cluster.server.is_none() {
            if !cluster.data_dir.join("PG_VERSION").exists() {
                tracing::info!(
                    data_dir = %cluster.data_dir.display(),
                    "creating a PostgreSQL cluster"
                );
                initdb(
                    &bins.initdb,
                    &cluster.data_dir,
                    cluster.run_as.as_ref(),
                    opts.unsafe_fast,
                )?;
            }
            cluster.spawn_postgres()?;
        }
        cluster.wait_until_ready()?;
        Ok(cluster)
    }

    /// A libpq/sqlx style URL for database `db` over the Unix socket, e.g.
    /// `postgres://postgres@localhost/logdrain?host=/tmp/logdrain-pg-…`: sqlx reads a `host`
    /// query parameter starting with '/' as the socket directory.
    pub fn url(&self, db: &str) -> String {
        socket_url(&self.socket_dir, self.port, db)
    }

    /// The directory holding the server's Unix socket, for clients that take a host directory
    /// (`psql -h`).
    pub fn socket_dir(&self) -> &Path {
        &self.socket_dir
    }

    /// Where the cluster's files (and its `postgres.log`) live, as an absolute path.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Fast shutdown (SIGINT to the postmaster), wait for it to exit. Keeps the data dir. Used by
    /// tests to simulate a database outage; a server that already stopped is not an error.
    pub fn stop_server(&mut self) -> Result<(), ClusterError> {
        let Some(mut server) = self.server.take() else {
            return Ok(());
        };
        if server.exit_status().is_none() {
            signal(server.pid, "INT");
            if !server.wait_exit(STOP_TIMEOUT) {
                tracing::warn!(
                    pid = server.pid,
                    "PostgreSQL ignored a fast shutdown; forcing an immediate one"
                );
                signal(server.pid, "QUIT");
                if !server.wait_exit(Duration::from_secs(5)) {
                    let pid = server.pid;
                    self.server = Some(server);
                    return Err(ClusterError::StopTimeout { pid });
                }
            }
        }
        tracing::debug!(pid = server.pid, "PostgreSQL stopped");
        Ok(())
    }

    /// Start the server again on the same data dir (after stop_server), waiting until it
    /// accepts connections. Does nothing while the server runs.
    pub fn start_server(&mut self) -> Result<(), ClusterError> {
        if self.shut_down {
            return Err(ClusterError::ShutDown);
        }
        if let Some(server) = &mut self.server {
            if server.exit_status().is_none() {
                return Ok(());
            }
            self.server = None;
        }
        self.spawn_postgres()?;
        self.wait_until_ready()
    }

    /// Stop the server, stop the watchdog and, when ephemeral, remove the data dir. Idempotent;
    /// drop calls it too.
    pub fn shutdown(&mut self) -> Result<(), ClusterError> {
        if self.shut_down {
            return Ok(());
        }
        if self.attached {
            self.server = None;
            self.shut_down = true;
            return Ok(());
        }
        self.stop_server()?;
        if let Some(mut watchdog) = self.watchdog.take() {
            // It may have exited already; either way it must not outlive the cluster.
            let _ = watchdog.kill();
            let _ = watchdog.wait();
        }
        let mut doomed: Vec<&Path> = self.own_socket_dir.iter().map(PathBuf::as_path).collect();
        if self.ephemeral {
            doomed.push(&self.data_dir);
        }
        for dir in doomed {
            match fs::remove_dir_all(dir) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => {
                    return Err(io_error("remove", dir)(e));
                }
                _ => {}
            }
        }
        self.shut_down = true;
        Ok(())
    }

    fn spawn_postgres(&mut self) -> Result<(), ClusterError> {
        let log_path = self.data_dir.join(LOG_FILE);
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .map_err(io_error("open", &log_path))?;
        if let Some(user) = &self.run_as {
            std::os::unix::fs::chown(&log_path, Some(user.uid), Some(user.gid))
                .map_err(io_error("change the owner of", &log_path))?;
        }
        let log_err = log.try_clone().map_err(io_error("open", &log_path))?;
        let mut cmd = Command::new(&self.postgres);
        cmd.arg("-D").arg(&self.data_dir);
        for setting in &self.settings {
            cmd.arg("-c").arg(setting);
        }
        cmd.current_dir(&self.data_dir)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            .process_group(0);
        run_as(&mut cmd, self.run_as.as_ref());
        let child = cmd.spawn().map_err(spawn_error(&self.postgres))?;
        tracing::debug!(
            pid = child.id(),
            data_dir = %self.data_dir.display(),
            "PostgreSQL starting"
        );
        self.server = Some(Server {
            pid: child.id(),
            child: Some(child),
        });
        Ok(())
    }

    fn spawn_watchdog(&self) -> Result<Child, ClusterError> {
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg(WATCHDOG_SCRIPT)
            .arg("logdrain-pg-watchdog")
            .arg(std::process::id().to_string())
            .arg(&self.data_dir)
            .args(&self.own_socket_dir);
        if self.ephemeral {
            cmd.arg(&self.data_dir);
        }
        // Its own process group and no inherited stdio: a Ctrl-C must not kill it, and
        // `cargo test` must not wait for it to close the output pipes.
        cmd.current_dir("/")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .map_err(spawn_error(Path::new("sh")))
    }

    fn wait_until_ready(&mut self) -> Result<(), ClusterError> {
        let deadline = Instant::now() + START_TIMEOUT;
        while let Some(server) = self.server.as_mut() {
            if let Some(status) = server.exit_status() {
                self.server = None;
                let (log, tail) = self.log_tail();
                return Err(ClusterError::Exited { status, log, tail });
            }
            let pid = server.pid;
            if self.accepts_connections(pid) {
                tracing::info!(pid, socket_dir = %self.socket_dir.display(), "PostgreSQL ready");
                return Ok(());
            }
            if Instant::now() >= deadline {
                let (log, tail) = self.log_tail();
                return Err(ClusterError::StartTimeout { log, tail });
            }
            thread::sleep(POLL);
        }
        Ok(())
    }

    /// Ready means what `pg_ctl` checks (the pid file names this postmaster and says "ready")
    /// plus a socket that takes a connection.
    fn accepts_connections(&self, pid: u32) -> bool {
        let Some(pid_file) = read_pid_file(&self.data_dir) else {
            return false;
        };
        let socket = self.socket_dir.join(format!(".s.PGSQL.{}", self.port));
        pid_file.pid == pid
            // The status line appears only once the postmaster says so (PostgreSQL 10+); until
            // then the socket may exist while connections get "the database system is
            // starting up".
            && matches!(pid_file.status.as_deref(), Some("ready" | "standby"))
            && UnixStream::connect(socket).is_ok()
    }

    fn log_tail(&self) -> (PathBuf, String) {
        let log = self.data_dir.join(LOG_FILE);
        let tail = match fs::read(&log) {
            Ok(bytes) => last_lines(&String::from_utf8_lossy(&bytes), LOG_TAIL_LINES),
            Err(e) => format!("(log unreadable: {e})"),
        };
        (log, tail)
    }
}

impl Drop for PrivateCluster {
    fn drop(&mut self) {
        if let Err(error) = self.shutdown() {
            let mut message = error.to_string();
            let mut source = std::error::Error::source(&error);
            while let Some(cause) = source {
                message = format!("{message}: {cause}");
                source = cause.source();
            }
            tracing::warn!(
                error = %message,
                data_dir = %self.data_dir.display(),
                "could not shut down the private PostgreSQL cluster"
            );
        }
    }
}

/// The postmaster we manage: our child when we started it, only a pid when we attached to it.
#[derive(Debug)]
struct Server {
    pid: u32,
    child: Option<Child>,
}

impl Server {
    /// `None` while the postmaster runs; how it ended once it has exited (reaping our child).
    fn exit_status(&mut self) -> Option<String> {
        match &mut self.child {
            Some(child) => match child.try_wait() {
                Ok(None) => None,
                Ok(Some(status)) => Some(status.to_string()),
                Err(e) => Some(format!("unknown: {e}")),
            },
            None => (!pid_alive(self.pid)).then(|| "exited".to_owned()),
        }
    }

    fn wait_exit(&mut self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if self.exit_status().is_some() {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            thread::sleep(POLL);
        }
    }
}

/// `<prefix>-<pid>-<nanos>-<counter>`: unique among live processes (pid), within this process
/// (counter), and against leftovers of an earlier process with the same pid (nanos).
fn unique_name(prefix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{prefix}-{}-{nanos}-{n}", std::process::id())
}

#[cfg(test)]
mod tests;
