//! How a private cluster is laid out and configured: `initdb` with the settings every start
//! uses, the private 0700 directories, the socket path limit and the socket URL.

use super::os::{run_as, OsUser};
use super::{
    io_error, last_lines, spawn_error, ClusterError, DEFAULT_PORT, LOG_TAIL_LINES, MAX_SOCKET_PATH,
};
use std::ffi::OsString;
use std::fs::{self, Permissions};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Runs `initdb` for a `postgres` superuser with trust authentication, UTF-8 and the C locale.
pub(super) fn initdb(
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
pub(super) fn server_settings(socket_dir: &Path, port: u16, unsafe_fast: bool) -> Vec<OsString> {
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

pub(super) fn socket_url(socket_dir: &Path, port: u16, db: &str) -> String {
    let port = if port == DEFAULT_PORT {
        String::new()
    } else {
        format!(":{port}")
    };
    let db = percent_encode(db.as_bytes(), b"-._~");
    let host = percent_encode(socket_dir.as_os_str().as_bytes(), b"-._~/");
    format!("postgres://postgres@localhost{port}/{db}?host={host}")
}

pub(super) fn percent_encode(bytes: &[u8], keep: &[u8]) -> String {
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

pub(super) fn socket_path_fits(dir: &Path) -> bool {
    dir.as_os_str().len() + "/.s.PGSQL.5432".len() < MAX_SOCKET_PATH
}

/// Creates `dir` (and its parents, for a data directory) as a private 0700 directory owned by
/// `user`, and returns its canonical path. A directory with contents (an existing cluster, or
/// something initdb will refuse) is left as it is: postgres and initdb check it themselves, with
/// clearer messages than ours.
pub(super) fn private_dir(
    dir: &Path,
    user: Option<&OsUser>,
    parents: bool,
) -> Result<PathBuf, ClusterError> {
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
