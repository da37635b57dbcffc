//! Finding PostgreSQL's server binaries (PATH, Debian's /usr/lib/postgresql/*/bin, …).

use super::*;

/// The server binaries we run, as absolute paths.
#[derive(Debug)]
pub(super) struct Binaries {
    pub(super) initdb: PathBuf,
    pub(super) postgres: PathBuf,
}

/// `bin_dir` when given; else the real directory of an `initdb` on PATH (Debian and Homebrew
/// install symlinks), then the newest `/usr/lib/postgresql/*/bin`, `/usr/local/pgsql/bin` and
/// `/opt/homebrew/bin`. Both programs must share a directory: initdb runs the postgres beside it.
pub(super) fn find_binaries(bin_dir: Option<&Path>) -> Result<Binaries, ClusterError> {
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

pub(super) fn binaries_in(dir: &Path) -> Option<Binaries> {
    let dir = fs::canonicalize(dir).ok()?;
    let (initdb, postgres) = (dir.join("initdb"), dir.join("postgres"));
    (is_executable(&initdb) && is_executable(&postgres)).then_some(Binaries { initdb, postgres })
}

pub(super) fn is_executable(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|m| m.is_file() && m.mode() & 0o111 != 0)
}
