//! The operating-system side of the private cluster: who we are (/proc), who postgres runs as
//! (/etc/passwd), whether it can reach its directory, and signals to the postmaster by pid.

use super::*;

/// An OS account, as far as running a process as it needs.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct OsUser {
    pub(super) name: String,
    pub(super) uid: u32,
    pub(super) gid: u32,
}

pub(super) fn lookup_user(name: &str) -> Result<OsUser, ClusterError> {
    fs::read_to_string("/etc/passwd")
        .ok()
        .and_then(|passwd| parse_passwd(&passwd, name))
        .ok_or_else(|| ClusterError::NoRunAsUser {
            user: name.to_owned(),
        })
}

/// Finds `name` in /etc/passwd text (`name:password:uid:gid:gecos:home:shell`).
pub(super) fn parse_passwd(passwd: &str, name: &str) -> Option<OsUser> {
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

pub(super) fn effective_uid() -> Option<u32> {
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
pub(super) fn parse_effective_uid(status: &str) -> Option<u32> {
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
pub(super) fn check_reachable(dir: &Path, user: &OsUser) -> Result<(), ClusterError> {
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
pub(super) fn can_search(mode: u32, owner: u32, group: u32, user: &OsUser) -> bool {
    if owner == user.uid {
        mode & 0o100 != 0
    } else if group == user.gid {
        mode & 0o010 != 0
    } else {
        mode & 0o001 != 0
    }
}

pub(super) fn run_as(cmd: &mut Command, user: Option<&OsUser>) {
    if let Some(user) = user {
        cmd.uid(user.uid).gid(user.gid);
    }
}

/// What `postmaster.pid` tells us: line 1 the pid, 4 the port, 5 the first socket directory,
/// 8 the status (`starting`, `ready`, `stopping`, …; PostgreSQL 10 and later).
#[derive(Debug, PartialEq)]
pub(super) struct PidFile {
    pub(super) pid: u32,
    pub(super) port: Option<u16>,
    pub(super) socket_dir: Option<PathBuf>,
    pub(super) status: Option<String>,
}

pub(super) fn read_pid_file(data_dir: &Path) -> Option<PidFile> {
    parse_pid_file(&fs::read_to_string(data_dir.join("postmaster.pid")).ok()?)
}

pub(super) fn parse_pid_file(text: &str) -> Option<PidFile> {
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
pub(super) fn is_postmaster(pid: u32) -> bool {
    pid_alive(pid)
        && fs::read_to_string(format!("/proc/{pid}/comm")).map_or(true, |comm| {
            matches!(comm.trim(), "postgres" | "postmaster")
        })
}

/// Whether `pid` runs; a zombie does not count, since an orphaned postmaster may wait to be
/// reaped after it has exited.
pub(super) fn pid_alive(pid: u32) -> bool {
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
pub(super) fn signal(pid: u32, name: &str) -> bool {
    Command::new("sh")
        .args(["-c", r#"kill -"$0" "$1" 2>/dev/null"#, name])
        .arg(pid.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}
