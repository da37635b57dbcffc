//! The Dockerfile's dependency layer without a container engine: the dummy crate that
//! `.ci/dummy-crate` makes from the real manifest must be a crate Cargo accepts, today and after
//! a target is added. (`.ci/run` goes on to build it in release, as `docker build` does.)

use std::path::{Path, PathBuf};
use std::process::Command;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// A new empty directory under the system temp dir.
fn scratch(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "logdrain-dummy-{tag}-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0)
    ));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// The Dockerfile's first two steps: the manifests copied alone, then the dummy layout.
fn dummy_layout(tag: &str, extra_manifest: &str) -> PathBuf {
    let dir = scratch(tag);
    let manifest = std::fs::read_to_string(format!("{ROOT}/Cargo.toml")).expect("Cargo.toml");
    std::fs::write(dir.join("Cargo.toml"), manifest + extra_manifest).expect("write manifest");
    std::fs::copy(format!("{ROOT}/Cargo.lock"), dir.join("Cargo.lock")).expect("copy lock");
    let made = Command::new("sh")
        .arg(format!("{ROOT}/.ci/dummy-crate"))
        .current_dir(&dir)
        .output()
        .expect("run .ci/dummy-crate");
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    dir
}

/// Whether Cargo accepts the crate in `dir` with the locked dependency graph: parses the
/// manifest with every target (what the dependency step failed on) without compiling.
fn cargo_accepts(dir: &Path) -> Result<(), String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let host = Command::new("rustc")
        .arg("-vV")
        .output()
        .expect("rustc -vV");
    let host = String::from_utf8_lossy(&host.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: ").map(str::to_owned))
        .expect("host triple");
    let out = Command::new(cargo)
        .args(["fetch", "--locked", "--offline", "--target", &host])
        .current_dir(dir)
        .output()
        .expect("cargo fetch");
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

#[test]
fn the_dockerfile_dependency_step_builds_the_dummy_layout_without_hiding_failures() {
    let dockerfile = std::fs::read_to_string(format!("{ROOT}/Dockerfile")).expect("Dockerfile");
    assert!(
        !dockerfile.contains("|| true"),
        "a failure must not be hidden"
    );
    let step = dockerfile
        .lines()
        .find(|l| l.starts_with("RUN dummy-crate"))
        .expect("the dependency step runs .ci/dummy-crate");
    assert!(step.contains("cargo build --release --locked"), "{step}");

    let dir = dummy_layout("today", "");
    let accepted = cargo_accepts(&dir);
    std::fs::remove_dir_all(&dir).ok();
    accepted.expect("the dummy crate is a crate Cargo accepts");
}

#[test]
fn the_dummy_layout_follows_targets_added_to_the_manifest() {
    let added = "\n[[bench]]\nname = \"added_later\"\nharness = false\n\n\
                 [[example]]\nname = \"demo\"\n\n\
                 [[test]]\nname = \"elsewhere\"\npath = \"tests/more/entry.rs\"\n";
    let dir = dummy_layout("added", added);
    let accepted = cargo_accepts(&dir);
    let stubs = [
        "benches/added_later.rs",
        "examples/demo.rs",
        "tests/more/entry.rs",
    ]
    .map(|p| dir.join(p).exists());
    std::fs::remove_dir_all(&dir).ok();
    accepted.expect("the dummy crate is a crate Cargo accepts");
    assert_eq!(stubs, [true; 3]);
}
