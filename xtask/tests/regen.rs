//! End-to-end tests of `cargo xtask regen`: offline regeneration from the committed spec
//! (always), the pinned and older upstream specs (when present), and hand-written bad inputs.
//!
//! Tests that need the upstream specs find them in `ATLAS_SPEC_DIR` or `../shared/spec`
//! beside the workspace. Without them they print one `skipped:` line and pass, unless
//! `ATLAS_REQUIRE_UPSTREAM_SPECS=1` (set by `.ci/run`) turns the skip into a failure.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use xtask::names;
use xtask::regen::{self, HTTPMOCK_STUBS, RegenOptions, SPEC_FILE, SYS_CLIENT, SYS_OPERATIONS};
use xtask::source;

const PINNED: &str = "atlas-api-2025-06-30.yaml";
const OLDER: &str = "atlas-api-2024-05-09.yaml";

/// The checkout under test, read at run time (`cargo test` sets it) so a test binary shared
/// between checkouts still reads its own.
fn workspace_root() -> PathBuf {
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    manifest_dir.parent().unwrap().to_path_buf()
}

/// The upstream spec `name`, or `None` (after one printed line) when it is not provided.
fn upstream_spec(name: &str) -> Option<PathBuf> {
    let dir = std::env::var_os("ATLAS_SPEC_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("../shared/spec"));
    let path = dir.join(name);
    if path.exists() {
        return Some(path);
    }
    let missing = format!(
        "{} not found (set ATLAS_SPEC_DIR to the folder of the upstream specs)",
        path.display()
    );
    if std::env::var_os("ATLAS_REQUIRE_UPSTREAM_SPECS").is_some_and(|v| v == "1") {
        panic!("{missing}; ATLAS_REQUIRE_UPSTREAM_SPECS=1 forbids skipping");
    }
    // Written to stderr directly, not through `println!`, so the test harness does not
    // capture it: a skip must be visible in a normal `cargo test` run.
    let _ = writeln!(std::io::stderr(), "skipped: {missing}");
    None
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
    // Enough of a workspace for `regen` to find it from its current directory.
    std::fs::write(root.join("Cargo.toml"), "[workspace]\n").unwrap();
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
        offline: false,
        check,
        verbose: false,
        workspace_root: root.to_path_buf(),
    }
}

#[test]
fn the_committed_files_match_the_pinned_spec() {
    let Some(pinned) = upstream_spec(PINNED) else {
        return;
    };
    let report =
        regen::run(&options(&pinned, &workspace_root(), true)).unwrap_or_else(|e| panic!("{e}"));
    assert!(report.written.is_empty());
}

#[test]
fn two_runs_on_the_same_input_are_byte_identical() {
    let Some(pinned) = upstream_spec(PINNED) else {
        return;
    };
    let input = source::load(Some(pinned.to_str().unwrap())).unwrap();
    let names = names::load(&workspace_root()).unwrap();
    let pins = xtask::pins::load(&workspace_root()).unwrap();
    let first = regen::generate(&input, &names, &pins).unwrap();
    let second = regen::generate(&input, &names, &pins).unwrap();
    assert_eq!(first.outputs, second.outputs);
}

#[test]
fn the_pinned_spec_keeps_exactly_the_eight_tagged_operations() {
    let Some(pinned) = upstream_spec(PINNED) else {
        return;
    };
    let input = source::load(Some(pinned.to_str().unwrap())).unwrap();
    let generated = regen::generate(
        &input,
        &names::load(&workspace_root()).unwrap(),
        &xtask::pins::load(&workspace_root()).unwrap(),
    )
    .unwrap();
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
    let Some(pinned) = upstream_spec(PINNED) else {
        return;
    };
    let copy_dir = std::env::temp_dir().join(format!("xtask-copy-{}", std::process::id()));
    std::fs::create_dir_all(&copy_dir).unwrap();
    let copy = copy_dir.join(PINNED);
    std::fs::copy(pinned, &copy).unwrap();
    let report =
        regen::run(&options(&copy, &workspace_root(), true)).unwrap_or_else(|e| panic!("{e}"));
    assert!(report.written.is_empty());
    std::fs::remove_dir_all(&copy_dir).unwrap();
}

#[test]
fn the_older_spec_reports_the_create_and_validate_version_change() {
    let Some(older) = upstream_spec(OLDER) else {
        return;
    };
    let Some(pinned) = upstream_spec(PINNED) else {
        return;
    };
    let root = scratch_workspace("older");
    let report = regen::run(&options(&older, &root, false)).unwrap_or_else(|e| panic!("{e}"));
    let summary = report
        .summary
        .expect("outputs changed, so there is a summary");
    for operation in ["create_migration", "validate_migration"] {
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
    regen::run(&options(&pinned, &workspace_root(), true)).unwrap();
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn check_names_each_stale_file_with_a_diff() {
    let Some(pinned) = upstream_spec(PINNED) else {
        return;
    };
    let root = scratch_workspace("stale");
    let table = root.join(SYS_OPERATIONS);
    let edited = std::fs::read_to_string(&table)
        .unwrap()
        .replace("2023-01-01", "2099-01-01");
    std::fs::write(&table, edited).unwrap();
    let error = regen::run(&options(&pinned, &root, true)).unwrap_err();
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
    let Some(older) = upstream_spec(OLDER) else {
        return;
    };
    let root = scratch_workspace("lock");
    let error = regen::run(&options(&older, &root, true)).unwrap_err();
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
        // A scratch workspace has no crates to compile the generated code with.
        .args([
            "regen",
            "--no-compile",
            "--spec",
            spec,
            "--root",
            root.to_str().unwrap(),
        ])
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
    assert!(client.contains("pub fn get_migration(&self)"));
    // The response enum was opened and the path parameter's pattern dropped.
    assert!(client.contains("pub status: ::std::option::Option<::std::string::String>"));
    std::fs::remove_dir_all(&root).unwrap();
}

/// Runs the built xtask binary in `dir` (its current directory) with `args`; returns
/// (exit code, stdout, stderr).
fn run_in(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_xtask"));
    command.args(args);
    if args.first() == Some(&"regen") {
        // A scratch workspace has no crates to compile the generated code with.
        command.arg("--no-compile");
    }
    let output = command.current_dir(dir).output().unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// The committed normalized spec is a fixed point: fed back through trim, normalize and
/// generate, it reproduces itself and every generated file byte for byte. This is what lets
/// `regen --offline --check` stand in for the upstream document on a fresh clone.
#[test]
fn the_committed_spec_regenerates_every_committed_file() {
    let root = workspace_root();
    let input = source::committed(&root, SPEC_FILE).unwrap();
    let generated = regen::generate(
        &input,
        &names::load(&root).unwrap(),
        &xtask::pins::load(&root).unwrap(),
    )
    .unwrap();
    let mut compared = 0;
    for output in generated
        .outputs
        .iter()
        .filter(|o| o.path != "spec/upstream.lock")
    {
        let committed = std::fs::read_to_string(root.join(output.path)).unwrap();
        assert!(
            committed == output.contents,
            "{} differs when regenerated from the committed spec",
            output.path
        );
        compared += 1;
    }
    assert_eq!(compared, 4, "spec, sys client, operation table, stubs");
    let report = regen::run(&RegenOptions {
        spec: None,
        offline: true,
        check: true,
        verbose: false,
        workspace_root: root,
    })
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(report.written.is_empty());
}

#[test]
fn offline_regen_restores_edited_files_and_leaves_the_lock_alone() {
    let root = scratch_workspace("offline");
    let before = snapshot(&root);
    std::fs::write(root.join(SYS_CLIENT), "// edited by hand\n").unwrap();
    std::fs::remove_file(root.join(HTTPMOCK_STUBS)).unwrap();
    let (code, _, stderr) = run_in(&root, &["regen", "--offline", "--check"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains(&format!("{SYS_CLIENT} is stale")),
        "{stderr}"
    );
    let (code, stdout, stderr) = run_in(&root, &["regen", "--offline"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains(&format!("wrote {}", root.join(SYS_CLIENT).display())),
        "written paths are absolute: {stdout}"
    );
    assert_eq!(snapshot(&root), before);
    std::fs::remove_dir_all(&root).unwrap();
}

/// One binary (as when checkouts share a target directory) run in two checkouts writes
/// each checkout's own files and nothing of the other's.
#[test]
fn one_binary_in_two_checkouts_writes_only_where_it_runs() {
    let first = scratch_workspace("checkout-a");
    let second = scratch_workspace("checkout-b");
    let pristine = snapshot(&first);
    for root in [&first, &second] {
        std::fs::write(root.join(SYS_OPERATIONS), "// stale\n").unwrap();
    }
    let (code, stdout, stderr) = run_in(&second.join("spec"), &["regen", "--offline"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains(&second.join(SYS_OPERATIONS).display().to_string()),
        "{stdout}"
    );
    assert_eq!(
        snapshot(&second),
        pristine,
        "the checkout it ran in is regenerated"
    );
    assert_eq!(
        std::fs::read_to_string(first.join(SYS_OPERATIONS)).unwrap(),
        "// stale\n",
        "the other checkout is untouched"
    );
    let (code, _, stderr) = run_in(&first, &["regen", "--offline"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(snapshot(&first), pristine);
    for root in [first, second] {
        std::fs::remove_dir_all(root).unwrap();
    }
}

#[test]
fn offline_bad_inputs_exit_1_with_one_line_and_write_nothing() {
    let root = scratch_workspace("offline-bad");
    let before = snapshot(&root);
    let (code, _, stderr) = run_in(&root, &["regen", "--offline", "--spec", "x.yaml"]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("takes no --spec"), "{stderr}");
    assert_eq!(snapshot(&root), before);

    let outside = std::env::temp_dir().join(format!("xtask-nowhere-{}", std::process::id()));
    std::fs::create_dir_all(&outside).unwrap();
    let (code, _, stderr) = run_in(&outside, &["regen", "--offline"]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("no atlas-migration workspace"), "{stderr}");
    std::fs::remove_dir_all(&outside).unwrap();

    std::fs::write(root.join(SPEC_FILE), "{ truncated").unwrap();
    let (code, _, stderr) = run_in(&root, &["regen", "--offline"]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("not valid JSON"), "{stderr}");
    let client = std::fs::read_to_string(root.join(SYS_CLIENT)).unwrap();
    assert_eq!(client, before[1].1, "nothing written");
    std::fs::remove_dir_all(&root).unwrap();
}

/// Moving from the 2024-05-09 spec to the 2025-06-30 one: the `ApiError` fields that became
/// required are listed first, as changes that may break decoding, and the version move of
/// create and validate says that upstream deprecated the version left behind.
#[test]
fn moving_to_the_pinned_spec_reports_what_may_break_decoding() {
    let Some(older) = upstream_spec(OLDER) else {
        return;
    };
    let Some(pinned) = upstream_spec(PINNED) else {
        return;
    };
    let root = scratch_workspace("drift");
    regen::run(&options(&older, &root, false)).unwrap_or_else(|e| panic!("{e}"));
    let report = regen::run(&options(&pinned, &root, false)).unwrap_or_else(|e| panic!("{e}"));
    let summary = report.summary.expect("outputs changed");
    println!("{summary}");
    let breaking = &summary.may_break_decoding;
    assert!(
        breaking
            .iter()
            .any(|line| line.starts_with("ApiError.") && line.contains("became required")),
        "{summary}"
    );
    assert!(
        summary
            .to_string()
            .starts_with("spec changes:\n  MAY BREAK DECODING:"),
        "listed first: {summary}"
    );
    assert!(
        summary.deprecations.iter().any(|line| line
            == "create_migration: the previous version 2023-01-01 is marked deprecated upstream"),
        "{summary}"
    );
    std::fs::remove_dir_all(&root).unwrap();
}

/// `spec/version-pins.json`: bad files and pins upstream cannot honour are one-line errors
/// with exit 1 and nothing written.
#[test]
fn bad_version_pins_exit_1_with_one_line_and_write_nothing() {
    let root = scratch_workspace("pins");
    let before = snapshot(&root);
    let pins = root.join(xtask::pins::PINS_FILE);
    let create = "POST /api/atlas/v2/groups/{groupId}/liveMigrations";
    let cases = [
        ("not json".to_string(), "is not a JSON object"),
        (r#"["POST /x"]"#.to_string(), "is not a JSON object"),
        (format!(r#"{{"{create}": "latest"}}"#), "not a YYYY-MM-DD"),
        (
            r#"{"GET /api/atlas/v2/nothing": "2023-01-01"}"#.to_string(),
            "which is not an operation of the trimmed spec",
        ),
        (
            format!(r#"{{"{create}": "2023-01-01"}}"#),
            "the committed spec holds 2024-05-30",
        ),
    ];
    for (text, expected) in cases {
        std::fs::write(&pins, &text).unwrap();
        let (code, _, stderr) = run_in(&root, &["regen", "--offline"]);
        assert_eq!(code, 1, "{text}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{text}: {stderr}");
        assert!(stderr.contains(expected), "{text}: {stderr}");
        assert_eq!(snapshot(&root), before, "{text}: nothing written");
    }
    if let Some(pinned) = upstream_spec(PINNED) {
        std::fs::write(&pins, format!(r#"{{"{create}": "2023-01-01"}}"#)).unwrap();
        let spec = pinned.to_str().unwrap();
        let (code, _, stderr) = run_in(&root, &["regen", "--spec", spec]);
        assert_eq!(code, 1, "{stderr}");
        assert!(
            stderr.contains("upstream no longer offers it (offered: 2024-05-30)"),
            "{stderr}"
        );
        assert_eq!(snapshot(&root), before);
        // Pinned to the version upstream offers: nothing changes.
        std::fs::write(&pins, format!(r#"{{"{create}": "2024-05-30"}}"#)).unwrap();
        let (code, stdout, stderr) = run_in(&root, &["regen", "--spec", spec, "--check"]);
        assert_eq!(code, 0, "{stdout}{stderr}");
        assert!(!stdout.contains("warning:"), "{stdout}");
    }
    std::fs::remove_dir_all(&root).unwrap();
}

/// A pin holds an operation at a version upstream still offers; when upstream deprecates it
/// or gives it a sunset date, every run (`--offline` ones too) prints a `warning:` line
/// naming the operation, the version and the date.
#[test]
fn a_pinned_version_upstream_is_retiring_is_kept_with_a_warning() {
    let root = scratch_workspace("retiring");
    let spec = fixture("retiring-version.yaml");
    let spec = spec.to_str().unwrap();
    let operation = "GET /api/atlas/v2/groups/{groupId}/liveMigrations/{liveMigrationId}";
    let pins = root.join(xtask::pins::PINS_FILE);
    let before = snapshot(&root);

    std::fs::write(&pins, format!(r#"{{"{operation}": "2022-01-01"}}"#)).unwrap();
    let (code, _, stderr) = run_in(&root, &["regen", "--spec", spec]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains(&format!(
            "{operation} is pinned to 2022-01-01 in spec/version-pins.json, but upstream no longer offers it (offered: 2023-01-01, 2024-05-30)"
        )),
        "{stderr}"
    );
    assert_eq!(snapshot(&root), before, "nothing written");

    std::fs::write(&pins, format!(r#"{{"{operation}": "2023-01-01"}}"#)).unwrap();
    let warning = format!(
        "warning: {operation} is pinned to 2023-01-01 in spec/version-pins.json, which upstream gives a sunset date of 2026-03-01"
    );
    for args in [&["regen", "--spec", spec][..], &["regen", "--offline"]] {
        let (code, stdout, stderr) = run_in(&root, args);
        assert_eq!(code, 0, "{args:?}: {stderr}");
        assert!(
            stdout.lines().any(|line| line == warning),
            "{args:?}: {stdout}"
        );
    }
    let table = std::fs::read_to_string(root.join(SYS_OPERATIONS)).unwrap();
    assert!(table.contains("application/vnd.atlas.2023-01-01+json"));
    assert!(!table.contains("2024-05-30"));

    // Without the pin the newest version is chosen, and the summary says so.
    std::fs::remove_file(&pins).unwrap();
    let (code, stdout, stderr) = run_in(&root, &["regen", "--spec", spec]);
    assert_eq!(code, 0, "{stderr}");
    assert!(!stdout.contains("warning:"), "{stdout}");
    assert!(
        stdout.contains("get_migration response: 2023-01-01 → 2024-05-30"),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "get_migration: the previous version 2023-01-01 has a sunset date of 2026-03-01 upstream"
        ),
        "{stdout}"
    );
    std::fs::remove_dir_all(&root).unwrap();
}
