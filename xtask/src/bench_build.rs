//! `cargo xtask bench-build`: what depending on `atlas-migration` costs a user's cold build.
//!
//! For each TLS feature the client offers, two throwaway crates are made in a temporary
//! directory outside the workspace, each with its own fresh target directory: the
//! *dependent*, which depends on this checkout's `atlas-migration` and builds a client once,
//! and the *floor*, which depends only on reqwest (with the same TLS and the reqwest features
//! the client enables), serde_json and tokio. Floor and dependent are built back to back,
//! alternately, `runs` times each, with `cargo build -j <jobs>`; the ratio of the dependent's
//! time to the floor's says what the client adds over the HTTP stack any Atlas client needs.
//! A third crate, the *floor with models*, adds to the floor the two packages the client's
//! models are built on, serde's derive macros and chrono (with the client's features); the
//! dependent's ratio to it says what the client's own code adds. Most services compile both
//! already, for their own types.
//!
//! Both are built without incremental compilation, as registry dependencies are: the
//! dependent reaches the client by path, which cargo would otherwise compile incrementally.
//!
//! Downloads are kept out of the timings: both crates start from this workspace's
//! `Cargo.lock` (so they resolve to the same versions) and `cargo fetch` runs before the
//! clock starts. The machine's load average is recorded before and after, since a busy
//! machine stretches every build. Not run in CI: one pass takes tens of minutes on two cores.

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::{Error, Result};

/// A TLS choice of `atlas-migration` and how each throwaway crate asks for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tls {
    /// The client's feature (`rustls-aws-lc`, `rustls-ring`, `native-tls`).
    pub feature: &'static str,
    /// The dependent's dependency on the client.
    client_dependency: &'static str,
    /// The floor's reqwest TLS feature, and any other dependency that TLS needs.
    floor_reqwest_tls: &'static str,
    floor_extra: &'static str,
    /// A statement the floor's `main` runs first (rustls with ring needs its provider).
    floor_setup: &'static str,
}

/// The client's TLS features (crates/atlas-migration/Cargo.toml), the default first.
pub const TLS: &[Tls] = &[
    Tls {
        feature: "rustls-aws-lc",
        client_dependency: "",
        floor_reqwest_tls: "rustls",
        floor_extra: "",
        floor_setup: "",
    },
    Tls {
        feature: "rustls-ring",
        client_dependency: r#", default-features = false, features = ["rustls-ring"]"#,
        floor_reqwest_tls: "rustls-no-provider",
        floor_extra: r#"rustls = { version = "0.23", default-features = false, features = ["ring", "std"] }"#,
        floor_setup: "let _ = rustls::crypto::ring::default_provider().install_default();",
    },
    Tls {
        feature: "native-tls",
        client_dependency: r#", default-features = false, features = ["native-tls"]"#,
        floor_reqwest_tls: "native-tls",
        floor_extra: "",
        floor_setup: "",
    },
];

/// The reqwest features `atlas-migration` enables (the workspace's `reqwest` entry), so the
/// floor compiles the same HTTP stack.
const REQWEST_FEATURES: &[&str] = &["http2", "json", "query", "form"];

/// The model packages as the client asks for them (the workspace's `serde` and `chrono`).
const MODEL_PACKAGES: &str = "serde = { version = \"1\", features = [\"derive\"] }\n\
     chrono = { version = \"0.4\", default-features = false, features = [\"std\", \"now\", \"serde\"] }\n";

/// A derived model with a timestamp, decoded from JSON: what the client's models do.
const MODEL_MAIN: &str = "#[derive(serde::Serialize, serde::Deserialize, Debug)]\n\
     struct Hosts {\n    #[serde(rename = \"migrationHosts\")]\n    migration_hosts: Vec<String>,\n    \
     expires: Option<chrono::DateTime<chrono::Utc>>,\n}\n\n";

/// tokio as a user's binary has it.
const TOKIO: &str = r#"tokio = { version = "1", features = ["macros", "rt-multi-thread"] }"#;

/// Which crate of a pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Crate {
    /// reqwest + serde_json + tokio.
    Floor,
    /// The floor, serde with its derive macros and chrono: what the client's generated and
    /// public models are built on.
    FloorWithModels,
    /// `atlas-migration` (+ tokio).
    Dependent,
}

impl fmt::Display for Crate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Crate::Floor => "floor",
            Crate::FloorWithModels => "floor-with-models",
            Crate::Dependent => "dependent",
        })
    }
}

/// The throwaway crate's `Cargo.toml` and `src/main.rs`.
pub fn manifest_and_main(tls: &Tls, which: Crate, workspace: &Path) -> (String, String) {
    let header = |name: &str| {
        format!(
            "[package]\nname = \"{name}\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\n\
             # Its own workspace: nothing of the one around it applies.\n[workspace]\n\n[dependencies]\n"
        )
    };
    match which {
        Crate::Floor | Crate::FloorWithModels => {
            let models = which == Crate::FloorWithModels;
            let mut features = vec![tls.floor_reqwest_tls];
            features.extend(REQWEST_FEATURES);
            let features: Vec<String> = features.iter().map(|f| format!("{f:?}")).collect();
            let mut manifest = header(if models {
                "bench-build-floor-with-models"
            } else {
                "bench-build-floor"
            });
            manifest.push_str(&format!(
                "reqwest = {{ version = \"0.13\", default-features = false, features = [{}] }}\n\
                 serde_json = \"1\"\n{TOKIO}\n",
                features.join(", ")
            ));
            if !tls.floor_extra.is_empty() {
                manifest.push_str(tls.floor_extra);
                manifest.push('\n');
            }
            let mut main = String::new();
            if models {
                manifest.push_str(MODEL_PACKAGES);
                main.push_str(MODEL_MAIN);
            }
            // The floor's `main` as it always was; the other decodes into the model.
            let (decode, shown) = if models {
                (
                    "let body: Hosts = serde_json::from_value(body).expect(\"hosts\");\n    ",
                    "{body:?}",
                )
            } else {
                ("", "{body}")
            };
            main.push_str(&format!(
                "#[tokio::main]\nasync fn main() {{\n    {setup}\n    let client = reqwest::Client::builder().build().expect(\"a client\");\n    let body = serde_json::json!({{\"migrationHosts\": [\"mh1.example.net\"]}});\n    {decode}println!(\"{{client:?}} {shown}\");\n}}\n",
                setup = tls.floor_setup
            ));
            (manifest, main)
        }
        Crate::Dependent => {
            let path = workspace.join("crates/atlas-migration");
            let mut manifest = header("bench-build-dependent");
            manifest.push_str(&format!(
                "atlas-migration = {{ path = {:?}{} }}\n{TOKIO}\n",
                path.display().to_string(),
                tls.client_dependency
            ));
            let main = "#[tokio::main]\nasync fn main() {\n    let client = atlas_migration::Client::builder()\n        .api_key(\"public\", \"private\".to_owned())\n        .build()\n        .expect(\"a client\");\n    println!(\"{client:?}\");\n}\n".to_string();
            (manifest, main)
        }
    }
}

/// One timed cold build.
#[derive(Debug, Clone)]
pub struct Build {
    /// The TLS feature.
    pub tls: &'static str,
    /// Floor or dependent.
    pub which: Crate,
    /// Wall time of `cargo build`.
    pub time: Duration,
    /// How many crates cargo compiled (`Compiling` lines).
    pub crates: usize,
    /// CPU time (user and system) of cargo and every compiler it ran, where the system says
    /// (Linux): steadier than wall time on a busy machine, as other work delays a build more
    /// than it slows its instructions.
    pub cpu: Option<Duration>,
}

/// Every build of a run, and the load average around it.
#[derive(Debug, Clone)]
pub struct BuildBench {
    /// In the order they ran.
    pub builds: Vec<Build>,
    /// `-j`.
    pub jobs: usize,
    /// `/proc/loadavg` before and after, when the system has one.
    pub load: (Option<String>, Option<String>),
}

/// Builds each TLS feature's floors and dependent back to back, `runs` times each.
pub fn run(workspace: &Path, tls: &[Tls], runs: usize, jobs: usize) -> Result<BuildBench> {
    let scratch = std::env::temp_dir().join(format!("xtask-bench-build-{}", std::process::id()));
    let load_before = load_average();
    let mut builds = Vec::new();
    let result = (|| {
        for tls in tls {
            for run in 0..runs {
                for which in [Crate::Floor, Crate::FloorWithModels, Crate::Dependent] {
                    let dir = scratch.join(format!("{}-{which}-{run}", tls.feature));
                    let build = cold_build(workspace, tls, which, &dir, jobs)?;
                    eprintln!(
                        "{} {which} #{}: {:.1} s ({} crates)",
                        tls.feature,
                        run + 1,
                        build.time.as_secs_f64(),
                        build.crates
                    );
                    builds.push(build);
                    // A target directory holds hundreds of MB; keep one at a time.
                    let _ = std::fs::remove_dir_all(&dir);
                }
            }
        }
        Ok(())
    })();
    let _ = std::fs::remove_dir_all(&scratch);
    result?;
    Ok(BuildBench {
        builds,
        jobs,
        load: (load_before, load_average()),
    })
}

/// Writes the crate into `dir`, fetches its dependencies, then times `cargo build`.
fn cold_build(workspace: &Path, tls: &Tls, which: Crate, dir: &Path, jobs: usize) -> Result<Build> {
    let _ = std::fs::remove_dir_all(dir);
    let (manifest, main) = manifest_and_main(tls, which, workspace);
    let write = |path: PathBuf, text: &str| {
        std::fs::create_dir_all(path.parent().expect("a file in a directory"))
            .and_then(|()| std::fs::write(&path, text))
            .map_err(|e| Error::new(format!("cannot write {}: {e}", path.display())))
    };
    write(dir.join("Cargo.toml"), &manifest)?;
    write(dir.join("src/main.rs"), &main)?;
    // The workspace's lock: the same versions, and nothing to download that is not cached.
    std::fs::copy(workspace.join("Cargo.lock"), dir.join("Cargo.lock"))
        .map_err(|e| Error::new(format!("cannot copy Cargo.lock: {e}")))?;
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let command = |args: &[&str]| {
        let mut command = Command::new(&cargo);
        command
            .args(args)
            .current_dir(dir)
            .env("CARGO_TARGET_DIR", dir.join("target"))
            // As a user gets the client, from the registry. Cargo compiles path dependencies
            // (how the dependent reaches this checkout) incrementally in the dev profile and
            // registry ones not; incremental compilation costs a cold build time (a third
            // of this crate's own compile here), which no user of the published crate pays.
            // The floor's dependencies all come from the registry, so it is unchanged.
            .env("CARGO_INCREMENTAL", "0")
            .env_remove("RUSTFLAGS")
            .env_remove("CARGO_BUILD_RUSTFLAGS")
            .env_remove("CARGO_ENCODED_RUSTFLAGS");
        command
    };
    let fetch = command(&["fetch"])
        .output()
        .map_err(|e| Error::new(format!("cannot run cargo fetch: {e}")))?;
    if !fetch.status.success() {
        return Err(Error::multiline(format!(
            "cargo fetch failed for the {} {which}:\n{}",
            tls.feature,
            String::from_utf8_lossy(&fetch.stderr)
        )));
    }
    let jobs = jobs.to_string();
    let cpu_before = children_cpu();
    let started = Instant::now();
    let output = command(&["build", "-j", &jobs])
        .output()
        .map_err(|e| Error::new(format!("cannot run cargo build: {e}")))?;
    let time = started.elapsed();
    let cpu = children_cpu()
        .zip(cpu_before)
        .map(|(after, before)| after.saturating_sub(before));
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        let tail: Vec<&str> = stderr.lines().rev().take(30).collect();
        return Err(Error::multiline(format!(
            "cargo build failed for the {} {which}:\n{}",
            tls.feature,
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        )));
    }
    Ok(Build {
        tls: tls.feature,
        which,
        time,
        crates: stderr
            .lines()
            .filter(|line| line.trim_start().starts_with("Compiling "))
            .count(),
        cpu,
    })
}

/// User and system time of this process's children that have ended and been waited for,
/// with all of theirs (`cutime` and `cstime` in `/proc/self/stat`, in clock ticks of 10 ms).
fn children_cpu() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    children_cpu_of(&stat)
}

fn children_cpu_of(stat: &str) -> Option<Duration> {
    // After the command name, which is in parentheses and may hold spaces: field 3 onwards.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    // cutime and cstime are fields 16 and 17 of proc(5), 14 and 15 after the name here.
    let ticks = |i: usize| fields.get(i)?.parse::<u64>().ok();
    let total = ticks(13)?.saturating_add(ticks(14)?);
    Some(Duration::from_millis(total.saturating_mul(10)))
}

fn load_average() -> Option<String> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    Some(
        text.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" "),
    )
}

/// The TLS features named by `names` (all when empty); an unknown name is an error.
pub fn select(names: &[String]) -> Result<Vec<Tls>> {
    if names.is_empty() {
        return Ok(TLS.to_vec());
    }
    names
        .iter()
        .map(|name| {
            TLS.iter()
                .find(|tls| tls.feature == name)
                .copied()
                .ok_or_else(|| {
                    let known: Vec<&str> = TLS.iter().map(|tls| tls.feature).collect();
                    Error::new(format!(
                        "unknown TLS feature `{name}` (known: {})",
                        known.join(", ")
                    ))
                })
        })
        .collect()
}

impl fmt::Display for BuildBench {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "cold `cargo build -j {}` (debug), floor = reqwest + serde_json + tokio:",
            self.jobs
        )?;
        let mut features: Vec<&str> = self.builds.iter().map(|b| b.tls).collect();
        features.dedup();
        for feature in features {
            let times = |which: Crate| -> Vec<&Build> {
                self.builds
                    .iter()
                    .filter(|b| b.tls == feature && b.which == which)
                    .collect()
            };
            let (floor, dependent) = (times(Crate::Floor), times(Crate::Dependent));
            let list = |builds: &[&Build]| {
                builds
                    .iter()
                    .map(|b| format!("{:.1} s", b.time.as_secs_f64()))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let mean = |builds: &[&Build]| {
                builds.iter().map(|b| b.time.as_secs_f64()).sum::<f64>() / builds.len() as f64
            };
            let min = |builds: &[&Build]| {
                builds
                    .iter()
                    .map(|b| b.time.as_secs_f64())
                    .fold(f64::INFINITY, f64::min)
            };
            let crates = |builds: &[&Build]| builds.first().map_or(0, |b| b.crates);
            writeln!(
                f,
                "  {feature}: floor {} ({} crates), dependent {} ({} crates); \
                 ratio of means {:.2}, of fastest {:.2}",
                list(&floor),
                crates(&floor),
                list(&dependent),
                crates(&dependent),
                mean(&dependent) / mean(&floor),
                min(&dependent) / min(&floor)
            )?;
            let cpu = |builds: &[&Build]| -> Option<f64> {
                let each: Option<Vec<f64>> =
                    builds.iter().map(|b| Some(b.cpu?.as_secs_f64())).collect();
                let each = each.filter(|e| !e.is_empty())?;
                Some(each.iter().sum::<f64>() / each.len() as f64)
            };
            if let (Some(floor_cpu), Some(dependent_cpu)) = (cpu(&floor), cpu(&dependent)) {
                writeln!(
                    f,
                    "    CPU (user + system, mean): floor {floor_cpu:.1} s, dependent \
                     {dependent_cpu:.1} s; ratio {:.2}",
                    dependent_cpu / floor_cpu.max(1e-9)
                )?;
            }
            let with_models = times(Crate::FloorWithModels);
            if !with_models.is_empty() {
                writeln!(
                    f,
                    "    against the floor with serde's derive and chrono: {} ({} crates); \
                     ratio of means {:.2}, of fastest {:.2}",
                    list(&with_models),
                    crates(&with_models),
                    mean(&dependent) / mean(&with_models),
                    min(&dependent) / min(&with_models)
                )?;
                if let (Some(models_cpu), Some(dependent_cpu)) =
                    (cpu(&with_models), cpu(&dependent))
                {
                    writeln!(
                        f,
                        "    CPU: floor with models {models_cpu:.1} s; ratio {:.2}",
                        dependent_cpu / models_cpu.max(1e-9)
                    )?;
                }
            }
        }
        if let (Some(before), Some(after)) = &self.load {
            writeln!(
                f,
                "load average before {before}, after {after} (other work on the machine \
                 stretches both crates' builds, not always equally)"
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_floor_asks_for_the_same_tls_and_reqwest_features_as_the_client() {
        let ring = select(&["rustls-ring".to_string()]).unwrap()[0];
        let (manifest, main) = manifest_and_main(&ring, Crate::Floor, Path::new("/w"));
        assert!(
            manifest
                .contains(r#"features = ["rustls-no-provider", "http2", "json", "query", "form"]"#),
            "{manifest}"
        );
        assert!(
            manifest.contains("rustls = { version = \"0.23\""),
            "{manifest}"
        );
        assert!(manifest.contains("[workspace]"), "{manifest}");
        assert!(main.contains("install_default"), "{main}");
        assert!(main.contains(r#"println!("{client:?} {body}");"#), "{main}");
    }

    #[test]
    fn the_floor_with_models_adds_serde_derive_and_chrono_with_the_clients_features() {
        let ring = select(&["rustls-ring".to_string()]).unwrap()[0];
        let (floor, _) = manifest_and_main(&ring, Crate::Floor, Path::new("/w"));
        let (manifest, main) = manifest_and_main(&ring, Crate::FloorWithModels, Path::new("/w"));
        assert!(
            manifest
                .starts_with(&floor.replace("bench-build-floor", "bench-build-floor-with-models")),
            "{manifest}"
        );
        assert!(
            !floor.contains("chrono") && !floor.contains("derive"),
            "{floor}"
        );
        // The workspace's entries, so that the floor compiles what the client compiles.
        let workspace =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.toml")).unwrap();
        for line in MODEL_PACKAGES.lines() {
            assert!(
                workspace.lines().any(|l| l == line),
                "{line} is not the workspace's"
            );
        }
        assert!(
            main.contains("#[derive(serde::Serialize, serde::Deserialize, Debug)]"),
            "{main}"
        );
        assert!(main.contains("serde_json::from_value(body)"), "{main}");
        assert!(
            main.contains(r#"println!("{client:?} {body:?}");"#),
            "{main}"
        );
        assert!(main.contains("install_default"), "{main}");
    }

    #[test]
    fn the_dependent_uses_this_checkout_with_the_chosen_tls_only() {
        let native = select(&["native-tls".to_string()]).unwrap()[0];
        let (manifest, main) = manifest_and_main(&native, Crate::Dependent, Path::new("/w"));
        assert!(
            manifest.contains(r#"atlas-migration = { path = "/w/crates/atlas-migration", default-features = false, features = ["native-tls"] }"#),
            "{manifest}"
        );
        assert!(main.contains("Client::builder()"), "{main}");
        let (default, _) = manifest_and_main(&TLS[0], Crate::Dependent, Path::new("/w"));
        assert!(
            default.contains(r#"atlas-migration = { path = "/w/crates/atlas-migration" }"#),
            "{default}"
        );
    }

    #[test]
    fn an_unknown_tls_feature_is_named() {
        let error = select(&["openssl".to_string()]).unwrap_err();
        assert!(error.message().contains("`openssl`"), "{error}");
        assert_eq!(select(&[]).unwrap().len(), 3);
    }

    #[test]
    fn children_cpu_is_read_after_a_command_name_with_spaces_and_parentheses() {
        // pid (comm) state, then fields 4.. ; cutime = 250 ticks, cstime = 50 ticks.
        let stat = "42 (x (y) z) S 1 42 42 0 -1 4194560 100 200 0 0 7 3 250 50 20 0 1 0";
        assert_eq!(children_cpu_of(stat), Some(Duration::from_secs(3)));
        assert_eq!(children_cpu_of("42 (truncated) S 1"), None);
        assert!(children_cpu().is_some(), "Linux has /proc/self/stat");
    }
}
