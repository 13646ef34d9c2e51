//! `cargo run --release -p xtask -- bench-regen`: wall time of a full regeneration (load,
//! parse, trim, normalize, generate, format, compare) against PyYAML's C loader parsing the
//! same file, measured in one run so the ratio is fair.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::regen::{self, RegenOptions};
use crate::{Error, Result};

/// Timings of one benchmark run.
#[derive(Debug, Clone)]
pub struct RegenBench {
    /// Median wall time of `regen --check` in this process.
    pub regen: Duration,
    /// Median time PyYAML's `CSafeLoader` takes to parse the file, if Python and PyYAML with
    /// libyaml are available.
    pub pyyaml: Option<Duration>,
    /// Runs of each.
    pub runs: usize,
}

/// Times `runs` full check-mode regenerations of `spec`, then PyYAML parsing it.
pub fn regen_wall_time(spec: &str, workspace_root: &Path, runs: usize) -> Result<RegenBench> {
    let options = RegenOptions {
        spec: Some(spec.to_string()),
        offline: false,
        check: true,
        verbose: false,
        workspace_root: workspace_root.to_path_buf(),
    };
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let started = Instant::now();
        regen::run(&options)?;
        times.push(started.elapsed());
    }
    Ok(RegenBench {
        regen: median(&mut times),
        pyyaml: pyyaml_parse_time(spec, runs),
        runs,
    })
}

fn median(times: &mut [Duration]) -> Duration {
    times.sort();
    times[times.len() / 2]
}

/// Python reports the median of its own parse times, excluding interpreter start-up.
fn pyyaml_parse_time(spec: &str, runs: usize) -> Option<Duration> {
    let script = format!(
        "import sys, time, yaml\n\
         data = open(sys.argv[1], 'rb').read()\n\
         times = []\n\
         for _ in range({runs}):\n\
         \x20   t = time.perf_counter(); yaml.load(data, Loader=yaml.CSafeLoader); times.append(time.perf_counter() - t)\n\
         print(sorted(times)[len(times) // 2])\n"
    );
    let output = Command::new("python3")
        .args(["-c", &script, spec])
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    let seconds: f64 = String::from_utf8_lossy(&output.stdout)
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs_f64(seconds))
}

impl std::fmt::Display for RegenBench {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        writeln!(
            f,
            "regen (full, --check), median of {}: {:.0} ms (goal <= 1500 ms)",
            self.runs,
            ms(self.regen)
        )?;
        match self.pyyaml {
            Some(py) => {
                writeln!(
                    f,
                    "PyYAML CSafeLoader parse alone, median of {}: {:.0} ms",
                    self.runs,
                    ms(py)
                )?;
                writeln!(
                    f,
                    "ratio regen / PyYAML parse: {:.2} (goal < 1.00)",
                    ms(self.regen) / ms(py)
                )
            }
            None => writeln!(f, "PyYAML with libyaml not available: no comparison"),
        }
    }
}

/// Fails when `runs` is zero.
pub fn check_runs(runs: usize) -> Result<usize> {
    if runs == 0 {
        return Err(Error::new("--runs must be at least 1"));
    }
    Ok(runs)
}
