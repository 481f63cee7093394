//! Command-line definitions (clap derive). Scheduler crates reuse `RunArgs`
//! / `ParamArgs` with `#[command(flatten)]`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "scx-loader",
    version,
    about = "Load, parameterise, attach and watch a sched_ext BPF scheduler; JSON lines on stdout",
    after_help = "Exit codes: 0 detached cleanly, 2 bad arguments/params, 3 environment, 4 load/verifier failure, \
5 attach failure, 6 hook failure, 10 ejected (unregistered), 11 ejected (error), 12 ejected (stall)"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Load and attach the scheduler, print stats, report how it ended.
    Run(RunArgs),
    /// Describe the object (ops, params, stats, uei, maps, programs) as one JSON object. No kernel needed.
    Inspect(InspectArgs),
    /// Validate --param/--param-range/--timeout-ms against the object without loading. No kernel needed.
    CheckParams(CheckArgs),
}

#[derive(Args, Debug, Clone, Default)]
pub struct ParamArgs {
    /// Set a parameter (a `const volatile` global in .rodata): NAME=VALUE. Repeatable.
    #[arg(long = "param", short = 'p', value_name = "NAME=VALUE")]
    pub params: Vec<String>,

    /// Allowed range of a parameter: NAME=MIN:MAX (either bound may be empty). Repeatable.
    #[arg(long = "param-range", value_name = "NAME=MIN:MAX")]
    pub param_ranges: Vec<String>,

    /// Set sched_ext_ops.timeout_ms (watchdog timeout) before load: 1..=30000; 0 keeps the object's value.
    #[arg(long = "timeout-ms", value_name = "N")]
    pub timeout_ms: Option<u32>,

    /// Which struct_ops map to attach (map name or ops .name) when the object has several.
    #[arg(long = "ops", value_name = "NAME")]
    pub ops: Option<String>,
}

#[derive(Args, Debug, Clone)]
pub struct RunArgs {
    /// Compiled scheduler object (clang -target bpf -g).
    #[arg(value_name = "OBJECT.bpf.o")]
    pub object: PathBuf,

    #[command(flatten)]
    pub params: ParamArgs,

    /// Interval of {"type":"stats"} lines in ms (0: only a final one).
    #[arg(long = "stats-interval-ms", value_name = "N", default_value_t = 1000)]
    pub stats_interval_ms: u64,

    /// Detach after this many seconds (fractions allowed).
    #[arg(long = "duration-s", value_name = "N", value_parser = parse_duration_s)]
    pub duration_s: Option<f64>,

    /// Load (run the verifier) and report, but do not attach; exits 0 when the load succeeds.
    #[arg(long = "load-only")]
    pub load_only: bool,

    /// Echo libbpf debug output to stderr too (it is always captured).
    #[arg(long, short = 'v')]
    pub verbose: bool,

    /// Ask the verifier for its statistics (log level 4) and print them per program
    /// ({"type":"verifier_stats"}: instructions processed, states, verification time, stack depth),
    /// as veristat does.
    #[arg(long = "verifier-stats")]
    pub verifier_stats: bool,

    /// Stop a load that is still verifying after this many seconds (0: no limit). The loader
    /// prints {"type":"error","stage":"load","code":"verify_timeout"} and exits with status 4;
    /// the verifier notices the dying process and stops.
    #[arg(long = "verify-timeout-s", value_name = "N", default_value_t = 0)]
    pub verify_timeout_s: u64,
}

impl RunArgs {
    pub fn new(object: impl Into<PathBuf>) -> RunArgs {
        RunArgs {
            object: object.into(),
            params: ParamArgs::default(),
            stats_interval_ms: 1000,
            duration_s: None,
            load_only: false,
            verbose: false,
            verifier_stats: false,
            verify_timeout_s: 0,
        }
    }
}

#[derive(Args, Debug, Clone)]
pub struct InspectArgs {
    #[arg(value_name = "OBJECT.bpf.o")]
    pub object: PathBuf,
}

#[derive(Args, Debug, Clone)]
pub struct CheckArgs {
    #[arg(value_name = "OBJECT.bpf.o")]
    pub object: PathBuf,

    #[command(flatten)]
    pub params: ParamArgs,
}

fn parse_duration_s(s: &str) -> Result<f64, String> {
    let v: f64 = s.trim().parse().map_err(|_| format!("{s:?} is not a number of seconds"))?;
    if !v.is_finite() || !(0.0..=1.0e9).contains(&v) {
        return Err(format!("{s:?} must be between 0 and 1e9 seconds"));
    }
    Ok(v)
}
