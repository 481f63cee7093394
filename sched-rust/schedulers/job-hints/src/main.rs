//! scx-job-hints: scx-loader plus a `job_hints` map feeder (SJF/LJF schedulers).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use scx_job_hints::JobHints;
use scx_loader::{check_params, cli_error, inspect, libbpf_log, Emitter, ExitStatus, Hook, Loader, ParamArgs, RunArgs};

#[derive(Parser, Debug)]
#[command(
    name = "scx-job-hints",
    version,
    about = "Run a sched_ext scheduler with per-command expected runtimes fed into its job_hints map",
    after_help = "Same JSON-lines protocol and exit codes as scx-loader, plus {\"type\":\"hints\"} lines."
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Args, Debug, Clone)]
struct HintArgs {
    /// Expected runtime of tasks whose comm starts with PREFIX: PREFIX=MS (or with a unit: 2s, 500us). Repeatable.
    #[arg(long = "hint", value_name = "PREFIX=RUNTIME")]
    hints: Vec<String>,
    /// JSON file {"comm_prefix": expected_runtime_ms, ...}; --hint entries override it.
    #[arg(long = "hints-file", value_name = "FILE.json")]
    hints_file: Option<PathBuf>,
    /// Hints as JSON text, same format as --hints-file: {"prefix": ms} or a list of rules
    /// [{"argv"|"cgroup"|"pgid"|"sid"|"comm": KEY, "expect_ms": N, "source": "..."}].
    #[arg(long = "hints-json", value_name = "JSON")]
    hints_json: Option<String>,
    /// Print {"type":"job_done","cmdline","cpu_ms",...} for every program that execs and ends
    /// (learned lengths; needs the job-length core's exec half).
    #[arg(long)]
    learn: bool,
    /// Re-read --hints-file when it changes while the scheduler runs.
    #[arg(long)]
    watch: bool,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Load, fill job_hints, attach, watch (see scx-loader run).
    Run {
        #[command(flatten)]
        run: RunArgs,
        #[command(flatten)]
        hints: HintArgs,
    },
    /// Validate params and hints against the object without loading (host-safe).
    Check {
        #[arg(value_name = "OBJECT.bpf.o")]
        object: PathBuf,
        #[command(flatten)]
        params: ParamArgs,
        #[command(flatten)]
        hints: HintArgs,
    },
    /// Same as scx-loader inspect.
    Inspect {
        #[arg(value_name = "OBJECT.bpf.o")]
        object: PathBuf,
    },
}

fn hook(h: &HintArgs) -> Result<JobHints, ExitCode> {
    JobHints::with_json(&h.hints, h.hints_file.clone(), h.hints_json.clone(), h.watch).map(|mut j| {
        j.learn = h.learn;
        j
    }).map_err(|e| {
        Emitter::stdout().emit(&serde_json::json!({
            "type": "error",
            "stage": "params",
            "code": "bad_hint",
            "message": e,
            "hint": "hints are PREFIX=RUNTIME_MS with a comm prefix of at most 15 bytes, or rules [{\"argv\": \"GLOB\", \"expect_ms\": N}, ...]",
            "exit_code": ExitStatus::BadArgs.code(),
        }));
        ExitStatus::BadArgs.into()
    })
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => return cli_error(e),
    };
    match cli.command {
        Cmd::Run { run, hints } => {
            let h = match hook(&hints) {
                Ok(h) => h,
                Err(c) => return c,
            };
            Loader::new(run).hook(h).run().into()
        }
        Cmd::Check { object, params, hints } => {
            libbpf_log::install(false);
            libbpf_log::quiet();
            let h = match hook(&hints) {
                Ok(h) => h,
                Err(c) => return c,
            };
            let mut hooks: Vec<Box<dyn Hook>> = vec![Box::new(h)];
            let (v, s) = check_params(&object, &params, &mut hooks);
            Emitter::stdout().emit(&v);
            s.into()
        }
        Cmd::Inspect { object } => {
            libbpf_log::install(false);
            libbpf_log::quiet();
            let mut out = Emitter::stdout();
            match inspect(&object) {
                Ok(v) => {
                    out.emit(&v);
                    ExitStatus::Ok.into()
                }
                Err(f) => {
                    out.emit(&f.event);
                    f.status.into()
                }
            }
        }
    }
}
