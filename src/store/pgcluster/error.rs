//! What can go wrong starting, stopping or reaching the private cluster, each with the advice
//! an operator needs.

use super::START_TIMEOUT;
use std::io;
use std::path::{Path, PathBuf};

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

/// The last `n` lines of a program's output, for an error message.
pub(super) fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

pub(super) fn io_error(
    action: &'static str,
    path: &Path,
) -> impl FnOnce(io::Error) -> ClusterError {
    let path = path.to_path_buf();
    move |source| ClusterError::Io {
        action,
        path,
        source,
    }
}

pub(super) fn spawn_error(program: &Path) -> impl FnOnce(io::Error) -> ClusterError {
    let program = program.to_path_buf();
    move |source| ClusterError::Spawn { program, source }
}
