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

use std::ffi::OsString;
use std::fs::{self, OpenOptions, Permissions};
use std::io;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
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

/// Why a private cluster could not be started, stopped or cleaned up.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// The machine has no PostgreSQL server; the message says how to get one.
    #[error(
        "PostgreSQL server binaries (initdb, postgres) not found {searched}. Install them with \
         `sudo apt-get install -y postgresql` (Debian/Ubuntu) or `brew install postgresql` \
         (macOS), or set DATABASE_URL to use an existing server."
    )]
    BinariesNotFound {
        /// Where we looked, phrased to follow "not found".
        searched: String,
    },
    /// We are root, PostgreSQL will not run as root, and there is nobody else to run it as.
    #[error(
        "running as root, which PostgreSQL refuses, and there is no `{user}` user in /etc/passwd \
         to run it as instead; create one with `useradd --system {user}` or run logdrain as a \
         normal user"
    )]
    NoRunAsUser {
        /// The user named in [`ClusterOptions::run_as`].
        user: String,
    },
    /// The unprivileged user cannot reach the data directory, so `initdb` would fail obscurely.
    #[error(
        "PostgreSQL runs as `{user}`, who cannot enter {} (no search permission); choose a data \
         directory that `{user}` can reach, for example under /var/lib or /tmp",
        dir.display()
    )]
    Unreachable {
        /// The user PostgreSQL runs as.
        user: String,
        /// The first ancestor of the data directory it cannot traverse.
        dir: PathBuf,
    },
    /// A file-system operation on the cluster's directories failed.
    #[error("could not {action} {}", path.display())]
    Io {
        /// What we were doing, as a verb phrase.
        action: &'static str,
        /// The file or directory involved.
        path: PathBuf,
        /// The operating system's reason.
        source: io::Error,
    },
    /// A helper program (`initdb`, `postgres`, `sh`) could not be started at all.
    #[error("could not run {}", program.display())]
    Spawn {
        /// The program we tried to run.
        program: PathBuf,
        /// The operating system's reason.
        source: io::Error,
    },
    /// `initdb` ran and failed; its own output explains why.
    #[error("initdb failed ({status}):\n{output}")]
    Initdb {
        /// How initdb exited.
        status: String,
        /// The last lines initdb printed.
        output: String,
    },
    /// The postmaster exited before accepting connections.
    #[error(
        "PostgreSQL exited during startup ({status}); last lines of {}:\n{tail}",
        log.display()
    )]
    Exited {
        /// How the postmaster exited.
        status: String,
        /// The server log file.
        log: PathBuf,
        /// Its last lines, which usually name the problem.
        tail: String,
    },
    /// The postmaster kept running but never became ready.
    #[error(
        "PostgreSQL did not accept connections within {} s; last lines of {}:\n{tail}",
        START_TIMEOUT.as_secs(),
        log.display()
    )]
    StartTimeout {
        /// The server log file.
        log: PathBuf,
        /// Its last lines.
        tail: String,
    },
    /// The postmaster ignored both a fast and an immediate shutdown request.
    #[error("PostgreSQL (pid {pid}) did not stop after SIGINT and SIGQUIT")]
    StopTimeout {
        /// The postmaster's pid, for the operator to deal with.
        pid: u32,
    },
    /// A server already runs on the data directory but offers no Unix socket we could use.
    #[error(
        "a PostgreSQL server already runs on {} without a Unix socket; stop it first",
        data_dir.display()
    )]
    NoSocket {
        /// The data directory in use.
        data_dir: PathBuf,
    },
    /// [`PrivateCluster::start_server`] was called after [`PrivateCluster::shutdown`].
    #[error("the private PostgreSQL cluster was shut down; start a new one")]
    ShutDown,
}

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
            && pid_file.status.as_deref().map_or(true, |s| s == "ready")
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

/// The server binaries we run, as absolute paths.
#[derive(Debug)]
struct Binaries {
    initdb: PathBuf,
    postgres: PathBuf,
}

/// `bin_dir` when given; else the real directory of an `initdb` on PATH (Debian and Homebrew
/// install symlinks), then the newest `/usr/lib/postgresql/*/bin`, `/usr/local/pgsql/bin` and
/// `/opt/homebrew/bin`. Both programs must share a directory: initdb runs the postgres beside it.
fn find_binaries(bin_dir: Option<&Path>) -> Result<Binaries, ClusterError> {
    if let Some(dir) = bin_dir {
        return binaries_in(dir).ok_or_else(|| ClusterError::BinariesNotFound {
            searched: format!("in {}", dir.display()),
        });
    }
    let mut candidates = Vec::new();
    for dir in std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
    {
        let initdb = dir.join("initdb");
        if is_executable(&initdb) {
            if let Some(real) = fs::canonicalize(&initdb)
                .ok()
                .and_then(|p| p.parent().map(Path::to_path_buf))
            {
                candidates.push(real);
            }
            candidates.push(dir);
        }
    }
    let mut versions: Vec<(Vec<u32>, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry
                .file_name()
                .to_str()?
                .split('.')
                .map(|n| n.parse().ok())
                .collect::<Option<Vec<u32>>>()?;
            Some((version, entry.path().join("bin")))
        })
        .collect();
    versions.sort_by(|a, b| b.0.cmp(&a.0));
    candidates.extend(versions.into_iter().map(|(_, dir)| dir));
    candidates.extend(["/usr/local/pgsql/bin", "/opt/homebrew/bin"].map(PathBuf::from));
    candidates
        .iter()
        .find_map(|dir| binaries_in(dir))
        .ok_or_else(|| ClusterError::BinariesNotFound {
            searched: "on PATH or in /usr/lib/postgresql/*/bin".to_owned(),
        })
}

fn binaries_in(dir: &Path) -> Option<Binaries> {
    let dir = fs::canonicalize(dir).ok()?;
    let (initdb, postgres) = (dir.join("initdb"), dir.join("postgres"));
    (is_executable(&initdb) && is_executable(&postgres)).then_some(Binaries { initdb, postgres })
}

fn is_executable(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|m| m.is_file() && m.mode() & 0o111 != 0)
}

fn initdb(
    initdb: &Path,
    data_dir: &Path,
    user: Option<&OsUser>,
    fast: bool,
) -> Result<(), ClusterError> {
    let mut cmd = Command::new(initdb);
    cmd.arg("-D").arg(data_dir).args([
        "-U",
        "postgres",
        "--auth=trust",
        "-E",
        "UTF8",
        "--locale=C",
    ]);
    if fast {
        cmd.arg("--no-sync");
    }
    // The unprivileged user may not be able to read our working directory, and initdb needs one.
    cmd.current_dir(data_dir).stdin(Stdio::null());
    run_as(&mut cmd, user);
    let out = cmd.output().map_err(spawn_error(initdb))?;
    if out.status.success() {
        return Ok(());
    }
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    Err(ClusterError::Initdb {
        status: out.status.to_string(),
        output: last_lines(&text, LOG_TAIL_LINES),
    })
}

/// The `-c` settings for every start. The socket directory is quoted because the setting is a
/// comma-separated list in which `"` is escaped by doubling.
fn server_settings(socket_dir: &Path, port: u16, unsafe_fast: bool) -> Vec<OsString> {
    let mut dirs = b"unix_socket_directories=\"".to_vec();
    for &byte in socket_dir.as_os_str().as_bytes() {
        if byte == b'"' {
            dirs.push(b'"');
        }
        dirs.push(byte);
    }
    dirs.push(b'"');
    let mut settings = vec![
        OsString::from("listen_addresses="),
        OsString::from_vec(dirs),
        OsString::from(format!("port={port}")),
        OsString::from("max_connections=200"),
        OsString::from("shared_buffers=128MB"),
    ];
    if unsafe_fast {
        settings.extend(
            [
                "fsync=off",
                "synchronous_commit=off",
                "full_page_writes=off",
            ]
            .map(OsString::from),
        );
    }
    settings
}

fn socket_url(socket_dir: &Path, port: u16, db: &str) -> String {
    let port = if port == DEFAULT_PORT {
        String::new()
    } else {
        format!(":{port}")
    };
    let db = percent_encode(db.as_bytes(), b"-._~");
    let host = percent_encode(socket_dir.as_os_str().as_bytes(), b"-._~/");
    format!("postgres://postgres@localhost{port}/{db}?host={host}")
}

fn percent_encode(bytes: &[u8], keep: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &byte in bytes {
        if byte.is_ascii_alphanumeric() || keep.contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fn socket_path_fits(dir: &Path) -> bool {
    dir.as_os_str().len() + "/.s.PGSQL.5432".len() < MAX_SOCKET_PATH
}

/// Creates `dir` (and its parents, for a data directory) as a private 0700 directory owned by
/// `user`, and returns its canonical path. A directory with contents (an existing cluster, or
/// something initdb will refuse) is left as it is: postgres and initdb check it themselves, with
/// clearer messages than ours.
fn private_dir(dir: &Path, user: Option<&OsUser>, parents: bool) -> Result<PathBuf, ClusterError> {
    let made = if parents {
        fs::create_dir_all(dir)
    } else {
        fs::create_dir(dir)
    };
    made.map_err(io_error("create", dir))?;
    let dir = fs::canonicalize(dir).map_err(io_error("resolve", dir))?;
    let empty = fs::read_dir(&dir).is_ok_and(|mut entries| entries.next().is_none());
    if !empty {
        return Ok(dir);
    }
    fs::set_permissions(&dir, Permissions::from_mode(0o700)).map_err(io_error("restrict", &dir))?;
    if let Some(user) = user {
        std::os::unix::fs::chown(&dir, Some(user.uid), Some(user.gid))
            .map_err(io_error("change the owner of", &dir))?;
    }
    Ok(dir)
}

/// An OS account, as far as running a process as it needs.
#[derive(Debug, Clone, PartialEq)]
struct OsUser {
    name: String,
    uid: u32,
    gid: u32,
}

fn lookup_user(name: &str) -> Result<OsUser, ClusterError> {
    fs::read_to_string("/etc/passwd")
        .ok()
        .and_then(|passwd| parse_passwd(&passwd, name))
        .ok_or_else(|| ClusterError::NoRunAsUser {
            user: name.to_owned(),
        })
}

/// Finds `name` in /etc/passwd text (`name:password:uid:gid:gecos:home:shell`).
fn parse_passwd(passwd: &str, name: &str) -> Option<OsUser> {
    passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        if fields.next()? != name {
            return None;
        }
        let uid = fields.nth(1)?.parse().ok()?;
        let gid = fields.next()?.parse().ok()?;
        Some(OsUser {
            name: name.to_owned(),
            uid,
            gid,
        })
    })
}

fn effective_uid() -> Option<u32> {
    match fs::read_to_string("/proc/self/status") {
        Ok(status) => parse_effective_uid(&status),
        // No procfs (macOS): ask `id`.
        Err(_) => {
            let out = Command::new("id")
                .arg("-u")
                .stderr(Stdio::null())
                .output()
                .ok()?;
            String::from_utf8_lossy(&out.stdout).trim().parse().ok()
        }
    }
}

/// The effective uid from /proc/self/status: its `Uid:` line lists real, effective, saved and
/// filesystem uids.
fn parse_effective_uid(status: &str) -> Option<u32> {
    status
        .lines()
        .find_map(|line| line.strip_prefix("Uid:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// Fails with the first ancestor of `dir`, from `/` down, that `user` cannot traverse. The
/// server gets only its primary group (std cannot set supplementary groups), so only that
/// group counts.
fn check_reachable(dir: &Path, user: &OsUser) -> Result<(), ClusterError> {
    let ancestors: Vec<&Path> = dir.ancestors().skip(1).collect();
    for ancestor in ancestors.into_iter().rev() {
        let meta = fs::metadata(ancestor).map_err(io_error("inspect", ancestor))?;
        if !can_search(meta.mode(), meta.uid(), meta.gid(), user) {
            return Err(ClusterError::Unreachable {
                user: user.name.clone(),
                dir: ancestor.to_path_buf(),
            });
        }
    }
    Ok(())
}

/// POSIX search permission: the owner bits apply to the owner, else the group bits to the
/// group, else the other bits, even when a later class would allow more.
fn can_search(mode: u32, owner: u32, group: u32, user: &OsUser) -> bool {
    if owner == user.uid {
        mode & 0o100 != 0
    } else if group == user.gid {
        mode & 0o010 != 0
    } else {
        mode & 0o001 != 0
    }
}

fn run_as(cmd: &mut Command, user: Option<&OsUser>) {
    if let Some(user) = user {
        cmd.uid(user.uid).gid(user.gid);
    }
}

/// What `postmaster.pid` tells us: line 1 the pid, 4 the port, 5 the first socket directory,
/// 8 the status (`starting`, `ready`, `stopping`, …; PostgreSQL 10 and later).
#[derive(Debug, PartialEq)]
struct PidFile {
    pid: u32,
    port: Option<u16>,
    socket_dir: Option<PathBuf>,
    status: Option<String>,
}

fn read_pid_file(data_dir: &Path) -> Option<PidFile> {
    parse_pid_file(&fs::read_to_string(data_dir.join("postmaster.pid")).ok()?)
}

fn parse_pid_file(text: &str) -> Option<PidFile> {
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    Some(PidFile {
        pid: lines.first()?.parse().ok()?,
        port: lines.get(3).and_then(|l| l.parse().ok()),
        socket_dir: lines.get(4).filter(|l| !l.is_empty()).map(PathBuf::from),
        status: lines
            .get(7)
            .filter(|l| !l.is_empty())
            .map(|l| (*l).to_owned()),
    })
}

/// A live process that is a PostgreSQL server, so a stale pid file whose pid was reused by
/// something else does not count.
fn is_postmaster(pid: u32) -> bool {
    pid_alive(pid)
        && fs::read_to_string(format!("/proc/{pid}/comm")).map_or(true, |comm| {
            matches!(comm.trim(), "postgres" | "postmaster")
        })
}

/// Whether `pid` runs; a zombie does not count, since an orphaned postmaster may wait to be
/// reaped after it has exited.
fn pid_alive(pid: u32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X"),
        Err(_) if Path::new("/proc/self").exists() => false,
        Err(_) => signal(pid, "0"),
    }
}

/// Sends `SIG<name>` through the shell's `kill`, the one way to signal without libc. Returns
/// whether it was delivered.
fn signal(pid: u32, name: &str) -> bool {
    Command::new("sh")
        .args(["-c", r#"kill -"$0" "$1" 2>/dev/null"#, name])
        .arg(pid.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
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

fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

fn io_error(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> ClusterError {
    let path = path.to_path_buf();
    move |source| ClusterError::Io {
        action,
        path,
        source,
    }
}

fn spawn_error(program: &Path) -> impl FnOnce(io::Error) -> ClusterError {
    let program = program.to_path_buf();
    move |source| ClusterError::Spawn { program, source }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    /// Set in the child process that the watchdog test starts and abandons.
    const HELPER_ENV: &str = "LOGDRAIN_PGCLUSTER_WATCHDOG_HELPER";

    fn accepts(cluster: &PrivateCluster) -> bool {
        UnixStream::connect(cluster.socket_dir().join(".s.PGSQL.5432")).is_ok()
    }

    fn server_pid(cluster: &PrivateCluster) -> u32 {
        cluster.server.as_ref().expect("server running").pid
    }

    /// Runs `select 1` through the cluster's own psql, when it ships one.
    fn assert_psql_selects_one(cluster: &PrivateCluster) {
        let bins = find_binaries(None).unwrap();
        let psql = bins.initdb.with_file_name("psql");
        if !is_executable(&psql) {
            return;
        }
        let out = Command::new(psql)
            .args(["-X", "-A", "-t", "-h"])
            .arg(cluster.socket_dir())
            .args(["-U", "postgres", "-d", "postgres", "-c", "select 1"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "psql failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "1");
    }

    #[test]
    fn an_ephemeral_cluster_serves_restarts_and_leaves_nothing_behind() {
        let mut cluster = PrivateCluster::start(ClusterOptions::ephemeral_in_temp()).unwrap();
        let data_dir = cluster.data_dir().to_path_buf();
        assert_eq!(cluster.socket_dir(), data_dir);
        assert!(accepts(&cluster));
        assert_psql_selects_one(&cluster);

        cluster.stop_server().unwrap();
        assert!(!accepts(&cluster));
        cluster.stop_server().unwrap();

        cluster.start_server().unwrap();
        assert!(accepts(&cluster));
        assert_psql_selects_one(&cluster);

        let pid = server_pid(&cluster);
        cluster.shutdown().unwrap();
        assert!(!data_dir.exists());
        assert!(!pid_alive(pid));
        cluster.shutdown().unwrap();
        assert!(matches!(
            cluster.start_server(),
            Err(ClusterError::ShutDown)
        ));
    }

    #[test]
    fn a_durable_cluster_keeps_its_data_dir_and_is_reused() {
        let root = std::env::temp_dir().join(unique_name("logdrain-pg-durable"));
        let opts = ClusterOptions {
            unsafe_fast: true,
            ..ClusterOptions::new(root.join("pgdata"))
        };
        let mut first = PrivateCluster::start(opts.clone()).unwrap();
        first.shutdown().unwrap();
        assert!(root.join("pgdata/PG_VERSION").exists());

        let mut again = PrivateCluster::start(opts).unwrap();
        assert!(accepts(&again));
        again.shutdown().unwrap();
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn a_cluster_can_live_in_a_static_and_move_between_threads() {
        fn send_and_sync<T: Send + Sync>() {}
        send_and_sync::<PrivateCluster>();
    }

    #[test]
    fn two_clusters_run_side_by_side() {
        let a = PrivateCluster::start(ClusterOptions::ephemeral_in_temp()).unwrap();
        let b = PrivateCluster::start(ClusterOptions::ephemeral_in_temp()).unwrap();
        assert_ne!(a.socket_dir(), b.socket_dir());
        assert!(accepts(&a) && accepts(&b));
        assert_psql_selects_one(&a);
        assert_psql_selects_one(&b);
    }

    #[test]
    fn starting_on_a_running_cluster_attaches_instead_of_starting_another() {
        let mut first = PrivateCluster::start(ClusterOptions::ephemeral_in_temp()).unwrap();
        let mut second = PrivateCluster::start(ClusterOptions::new(first.data_dir())).unwrap();
        assert_eq!(server_pid(&first), server_pid(&second));
        assert_eq!(first.socket_dir(), second.socket_dir());

        second.shutdown().unwrap();
        assert!(
            accepts(&first),
            "the attached cluster leaves the server to its owner"
        );
        assert!(first.data_dir().join("PG_VERSION").exists());
        first.shutdown().unwrap();
        assert!(!accepts(&first));
        assert!(!first.data_dir().exists());
    }

    #[test]
    fn a_long_data_dir_gets_a_short_private_socket_dir() {
        let long =
            std::env::temp_dir().join(format!("{}-{}", unique_name("logdrain-pg"), "x".repeat(80)));
        let opts = ClusterOptions {
            ephemeral: true,
            unsafe_fast: true,
            ..ClusterOptions::new(long)
        };
        let mut cluster = PrivateCluster::start(opts).unwrap();
        let socket_dir = cluster.socket_dir().to_path_buf();
        assert!(socket_dir.starts_with("/tmp"));
        assert!(socket_path_fits(&socket_dir));
        assert_eq!(fs::metadata(&socket_dir).unwrap().mode() & 0o777, 0o700);
        assert!(accepts(&cluster));
        assert!(cluster
            .url("logdrain")
            .ends_with(&format!("?host={}", socket_dir.display())));

        cluster.shutdown().unwrap();
        assert!(!socket_dir.exists());
        assert!(!cluster.data_dir().exists());
    }

    #[test]
    fn a_dead_owner_is_cleaned_up_by_the_watchdog() {
        let out = Command::new(std::env::current_exe().unwrap())
            .args([
                "watchdog_helper_abandons_its_cluster",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(HELPER_ENV, "1")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let field = |name: &str| {
            stdout
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .unwrap_or_else(|| panic!("no {name} in helper output: {stdout}"))
                .to_owned()
        };
        let data_dir = PathBuf::from(field("data_dir="));
        let pid: u32 = field("pid=").parse().unwrap();

        let deadline = Instant::now() + Duration::from_secs(20);
        while (data_dir.exists() || pid_alive(pid)) && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(100));
        }
        assert!(!pid_alive(pid), "postmaster {pid} survived its owner");
        assert!(
            !data_dir.exists(),
            "{} survived its owner",
            data_dir.display()
        );
    }

    #[test]
    #[ignore = "run by a_dead_owner_is_cleaned_up_by_the_watchdog in a child process"]
    fn watchdog_helper_abandons_its_cluster() {
        if std::env::var_os(HELPER_ENV).is_none() {
            return;
        }
        let cluster = PrivateCluster::start(ClusterOptions::ephemeral_in_temp()).unwrap();
        // The harness has printed "test … " without a newline; start a fresh line.
        println!("\ndata_dir={}", cluster.data_dir().display());
        println!("pid={}", server_pid(&cluster));
        // Exit without running destructors, as a SIGKILL or an aborting panic would.
        std::process::exit(0);
    }

    #[test]
    fn as_root_a_missing_run_as_user_is_a_clear_error() {
        if effective_uid() != Some(0) {
            return;
        }
        let opts = ClusterOptions {
            run_as: "logdrain-no-such-user".into(),
            ..ClusterOptions::ephemeral_in_temp()
        };
        let data_dir = opts.data_dir.clone();
        let message = PrivateCluster::start(opts).unwrap_err().to_string();
        assert!(
            message.contains("useradd --system logdrain-no-such-user"),
            "{message}"
        );
        assert!(!data_dir.exists());
    }

    #[test]
    fn as_root_an_untraversable_ancestor_is_named_in_the_error() {
        if effective_uid() != Some(0) {
            return;
        }
        let locked = std::env::temp_dir().join(unique_name("logdrain-pg-locked"));
        fs::create_dir(&locked).unwrap();
        fs::set_permissions(&locked, Permissions::from_mode(0o700)).unwrap();
        let opts = ClusterOptions {
            ephemeral: true,
            ..ClusterOptions::new(locked.join("data"))
        };
        let error = PrivateCluster::start(opts).unwrap_err();
        assert!(
            !locked.join("data").exists(),
            "an ephemeral data dir is removed on failure"
        );
        fs::remove_dir_all(&locked).unwrap();
        assert!(
            matches!(&error, ClusterError::Unreachable { dir, .. } if *dir == locked),
            "{error}"
        );
    }

    #[test]
    fn missing_binaries_explain_how_to_install_postgresql() {
        let empty = std::env::temp_dir().join(unique_name("logdrain-pg-nobin"));
        fs::create_dir_all(&empty).unwrap();
        let opts = ClusterOptions {
            bin_dir: Some(empty.clone()),
            ..ClusterOptions::ephemeral_in_temp()
        };
        let error = PrivateCluster::start(opts).unwrap_err();
        fs::remove_dir_all(&empty).unwrap();
        let message = error.to_string();
        assert!(
            message.contains("sudo apt-get install -y postgresql"),
            "{message}"
        );
        assert!(message.contains("DATABASE_URL"), "{message}");

        let searched = "on PATH or in /usr/lib/postgresql/*/bin".to_owned();
        assert_eq!(
            ClusterError::BinariesNotFound { searched }.to_string(),
            "PostgreSQL server binaries (initdb, postgres) not found on PATH or in \
             /usr/lib/postgresql/*/bin. Install them with `sudo apt-get install -y postgresql` \
             (Debian/Ubuntu) or `brew install postgresql` (macOS), or set DATABASE_URL to use an \
             existing server."
        );
    }

    #[test]
    fn the_effective_uid_is_the_second_field_of_the_uid_line() {
        let status =
            "Name:\tlogdrain\nUmask:\t0022\nUid:\t1000\t0\t0\t0\nGid:\t100\t100\t100\t100\n";
        assert_eq!(parse_effective_uid(status), Some(0));
        assert_eq!(parse_effective_uid("Name:\tx\n"), None);
        assert!(parse_effective_uid(&fs::read_to_string("/proc/self/status").unwrap()).is_some());
    }

    #[test]
    fn passwd_lookup_finds_the_named_user_only() {
        let passwd = "root:x:0:0:root:/root:/bin/bash\n\
                      postgresql:x:7:7::/:/bin/false\n\
                      postgres:x:101:104:PostgreSQL administrator,,,:/var/lib/postgresql:/bin/bash\n";
        let user = parse_passwd(passwd, "postgres").unwrap();
        assert_eq!((user.uid, user.gid), (101, 104));
        assert_eq!(parse_passwd(passwd, "nobody"), None);
        assert_eq!(
            parse_passwd("postgres:x:notanumber:1::/:\n", "postgres"),
            None
        );
    }

    #[test]
    fn search_permission_follows_the_first_matching_class() {
        let user = OsUser {
            name: "postgres".into(),
            uid: 101,
            gid: 104,
        };
        assert!(can_search(0o701, 0, 0, &user));
        assert!(!can_search(0o700, 0, 0, &user));
        assert!(can_search(0o710, 0, 104, &user));
        assert!(
            !can_search(0o601, 101, 0, &user),
            "owner bits win over other bits"
        );
        assert!(can_search(0o700, 101, 0, &user));
    }

    #[test]
    fn the_pid_file_gives_pid_port_socket_dir_and_status() {
        let text = "4242\n/tmp/d\n1700000000\n5432\n/tmp/d\n\n  1234567     65538\nready   \n";
        let pid_file = parse_pid_file(text).unwrap();
        assert_eq!(pid_file.pid, 4242);
        assert_eq!(pid_file.port, Some(5432));
        assert_eq!(pid_file.socket_dir.as_deref(), Some(Path::new("/tmp/d")));
        assert_eq!(pid_file.status.as_deref(), Some("ready"));
        assert_eq!(parse_pid_file("4242\n").unwrap().status, None);
        assert_eq!(parse_pid_file(""), None);
    }

    #[test]
    fn the_url_names_the_socket_dir_and_percent_encodes_it() {
        assert_eq!(
            socket_url(Path::new("/tmp/logdrain-pg-1"), 5432, "logdrain"),
            "postgres://postgres@localhost/logdrain?host=/tmp/logdrain-pg-1"
        );
        assert_eq!(
            socket_url(Path::new("/tmp/my dir+x"), 5433, "a/b"),
            "postgres://postgres@localhost:5433/a%2Fb?host=/tmp/my%20dir%2Bx"
        );
    }

    #[test]
    fn the_socket_dir_setting_is_quoted() {
        let settings = server_settings(Path::new("/tmp/a \"b\""), 5432, false);
        assert!(settings.contains(&OsString::from(
            "unix_socket_directories=\"/tmp/a \"\"b\"\"\""
        )));
        assert!(!settings.contains(&OsString::from("fsync=off")));
    }
}
