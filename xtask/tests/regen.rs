//! End-to-end tests of `cargo xtask regen` on the pinned upstream spec, the older one, and
//! hand-written bad inputs. Tests that need the upstream specs find them through
//! `ATLAS_SPEC_DIR` or `../shared/spec` beside the workspace.

use std::path::{Path, PathBuf};
use std::process::Command;

use xtask::names;
use xtask::regen::{self, HTTPMOCK_STUBS, RegenOptions, SPEC_FILE, SYS_CLIENT, SYS_OPERATIONS};
use xtask::source;

const PINNED: &str = "atlas-api-2025-06-30.yaml";
const OLDER: &str = "atlas-api-2024-05-09.yaml";

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn upstream_spec(name: &str) -> PathBuf {
    let dir = std::env::var_os("ATLAS_SPEC_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("../shared/spec"));
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} not found: set ATLAS_SPEC_DIR to the folder of the upstream specs",
        path.display()
    );
    path
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// A throwaway copy of the committed generated files and spec folder.
fn scratch_workspace(name: &str) -> PathBuf {
    let root = std::env::temp_dir().join(format!("xtask-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    for file in [
        SPEC_FILE,
        SYS_CLIENT,
        SYS_OPERATIONS,
        HTTPMOCK_STUBS,
        "spec/upstream.lock",
        names::NAMES_FILE,
    ] {
        let target = root.join(file);
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::copy(workspace_root().join(file), target).unwrap();
    }
    root
}

fn snapshot(root: &Path) -> Vec<(String, String)> {
    [
        SPEC_FILE,
        SYS_CLIENT,
        SYS_OPERATIONS,
        HTTPMOCK_STUBS,
        "spec/upstream.lock",
    ]
    .iter()
    .map(|f| {
        (
            f.to_string(),
            std::fs::read_to_string(root.join(f)).unwrap(),
        )
    })
    .collect()
}

fn options(spec: &Path, root: &Path, check: bool) -> RegenOptions {
    RegenOptions {
        spec: Some(spec.to_str().unwrap().to_string()),
        check,
        verbose: false,
        workspace_root: root.to_path_buf(),
    }
}

#[test]
fn the_committed_files_match_the_pinned_spec() {
    let report = regen::run(&options(&upstream_spec(PINNED), &workspace_root(), true))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(report.written.is_empty());
}

#[test]
fn two_runs_on_the_same_input_are_byte_identical() {
    let input = source::load(Some(upstream_spec(PINNED).to_str().unwrap())).unwrap();
    let names = names::load(&workspace_root()).unwrap();
    let first = regen::generate(&input, &names).unwrap();
    let second = regen::generate(&input, &names).unwrap();
    assert_eq!(first.outputs, second.outputs);
}

#[test]
fn the_pinned_spec_keeps_exactly_the_eight_tagged_operations() {
    let input = source::load(Some(upstream_spec(PINNED).to_str().unwrap())).unwrap();
    let generated = regen::generate(&input, &names::load(&workspace_root()).unwrap()).unwrap();
    let operations = xtask::walk::operations(&generated.spec);
    assert_eq!(operations.len(), 8);
    assert!(generated.notes.unmapped_operations.is_empty());
    let client = &generated
        .outputs
        .iter()
        .find(|o| o.path == SYS_CLIENT)
        .unwrap()
        .contents;
    assert!(
        client.lines().count() <= 3500,
        "generated client has {} lines",
        client.lines().count()
    );
}

#[test]
fn the_same_file_from_another_path_regenerates_identical_outputs() {
    let copy_dir = std::env::temp_dir().join(format!("xtask-copy-{}", std::process::id()));
    std::fs::create_dir_all(&copy_dir).unwrap();
    let copy = copy_dir.join(PINNED);
    std::fs::copy(upstream_spec(PINNED), &copy).unwrap();
    let report =
        regen::run(&options(&copy, &workspace_root(), true)).unwrap_or_else(|e| panic!("{e}"));
    assert!(report.written.is_empty());
    std::fs::remove_dir_all(&copy_dir).unwrap();
}

#[test]
fn the_older_spec_reports_the_create_and_validate_version_change() {
    let root = scratch_workspace("older");
    let report =
        regen::run(&options(&upstream_spec(OLDER), &root, false)).unwrap_or_else(|e| panic!("{e}"));
    let summary = report
        .summary
        .expect("outputs changed, so there is a summary");
    for operation in ["create_push_migration", "validate_migration"] {
        for part in ["request", "response"] {
            let line = format!("{operation} {part}: 2024-05-30 → 2023-01-01");
            assert!(
                summary.version_changes.contains(&line),
                "missing `{line}` in {summary}"
            );
        }
    }
    assert!(report.written.contains(&SYS_OPERATIONS));
    let table = std::fs::read_to_string(root.join(SYS_OPERATIONS)).unwrap();
    assert!(table.contains("application/vnd.atlas.2023-01-01+json"));
    assert!(!table.contains("2024-05-30"));
    // The committed workspace itself was not touched.
    regen::run(&options(&upstream_spec(PINNED), &workspace_root(), true)).unwrap();
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn check_names_each_stale_file_with_a_diff() {
    let root = scratch_workspace("stale");
    let table = root.join(SYS_OPERATIONS);
    let edited = std::fs::read_to_string(&table)
        .unwrap()
        .replace("2023-01-01", "2099-01-01");
    std::fs::write(&table, edited).unwrap();
    let error = regen::run(&options(&upstream_spec(PINNED), &root, true)).unwrap_err();
    let message = error.message();
    assert!(
        message.contains(&format!("{SYS_OPERATIONS} is stale")),
        "{message}"
    );
    assert!(
        message.contains("-") && message.contains("2099-01-01"),
        "{message}"
    );
    assert!(
        !message.contains(&format!("{SYS_CLIENT} is stale")),
        "{message}"
    );
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn check_fails_when_the_input_is_not_the_locked_one() {
    let root = scratch_workspace("lock");
    let error = regen::run(&options(&upstream_spec(OLDER), &root, true)).unwrap_err();
    assert!(
        error
            .message()
            .contains("spec/upstream.lock: the input's sha256 is"),
        "{error}"
    );
    std::fs::remove_dir_all(&root).unwrap();
}

/// Runs the built xtask binary against a scratch workspace; returns (exit code, stderr).
fn run_binary(spec: &str, root: &Path) -> (i32, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["regen", "--spec", spec, "--root", root.to_str().unwrap()])
        .output()
        .unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn bad_inputs_exit_1_with_one_line_and_write_nothing() {
    let root = scratch_workspace("bad");
    let before = snapshot(&root);
    let cases = [
        ("/no/such/spec.yaml".to_string(), "cannot read spec file"),
        (
            "http://127.0.0.1:9/openapi.yaml".to_string(),
            "cannot fetch",
        ),
        (
            fixture("openapi-3-1.yaml").display().to_string(),
            "only OpenAPI 3.0.x",
        ),
        (
            fixture("no-tag.yaml").display().to_string(),
            "no operation tagged 'Cloud Migration Service'",
        ),
        (
            fixture("dangling-ref.yaml").display().to_string(),
            "dangling $ref '#/components/schemas/Missing'",
        ),
    ];
    for (spec, expected) in cases {
        let (code, stderr) = run_binary(&spec, &root);
        assert_eq!(code, 1, "{spec}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{spec}: {stderr}");
        assert!(
            stderr.starts_with("error: ") && stderr.contains(expected),
            "{spec}: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{spec}: {stderr}");
    }
    assert_eq!(snapshot(&root), before);
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn a_minimal_spec_generates_compilable_looking_outputs() {
    let root = scratch_workspace("minimal");
    let (code, stderr) = run_binary(fixture("minimal.yaml").to_str().unwrap(), &root);
    assert_eq!(code, 0, "{stderr}");
    let client = std::fs::read_to_string(root.join(SYS_CLIENT)).unwrap();
    assert!(client.starts_with("// Generated by `cargo xtask regen`"));
    assert!(client.contains("pub fn get_push_migration(&self)"));
    // The response enum was opened and the path parameter's pattern dropped.
    assert!(client.contains("pub status: ::std::option::Option<::std::string::String>"));
    std::fs::remove_dir_all(&root).unwrap();
}
