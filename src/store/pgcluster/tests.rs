#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use std::fs::Permissions;
use std::os::unix::fs::PermissionsExt;

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
    let status = "Name:\tlogdrain\nUmask:\t0022\nUid:\t1000\t0\t0\t0\nGid:\t100\t100\t100\t100\n";
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
