//! scx-loader: generic userspace loader for scx-mcp sched_ext schedulers.
//!
//! The `scx-loader` binary is a thin CLI over this library. A scheduler that
//! needs its own userspace part (feeding a BPF map, reacting to stats) builds
//! its own small binary from [`Loader`] plus a [`Hook`]:
//!
//! ```no_run
//! use scx_loader::{Loader, Hook, HookCtx, HookError, RunArgs};
//! struct Feed;
//! impl Hook for Feed {
//!     fn name(&self) -> &str { "feed" }
//!     fn after_load(&mut self, ctx: &mut HookCtx) -> Result<(), HookError> {
//!         let _map = ctx.map("my_map").ok_or_else(|| HookError::new("no my_map"))?;
//!         Ok(())
//!     }
//! }
//! let status = Loader::new(RunArgs::new("sched.bpf.o")).hook(Feed).run();
//! std::process::exit(status.code());
//! ```
//!
//! Conventions followed (bpf-templates/scx_common.bpf.h): parameters are
//! `const volatile` globals in .rodata, statistics are `stat_*` integer
//! globals, the exit record is `struct scx_user_exit_info uei` in .data, the
//! ops table is a `.struct_ops.link` map.

#![allow(clippy::result_large_err, clippy::result_unit_err)]

pub mod btf;
pub mod cli;
pub mod env;
pub mod exit;
pub mod failure;
pub mod kmsg;
pub mod libbpf_log;
pub mod objinfo;
pub mod output;
pub mod params;
pub mod runner;
#[doc(hidden)]
pub mod testutil;
pub mod verifier;

pub use cli::{CheckArgs, Cli, Command, InspectArgs, ParamArgs, RunArgs};
pub use exit::{ExitInfo, ExitStatus};
pub use objinfo::ObjectInfo;
pub use output::{event, Emitter};
pub use runner::{check_params, inspect, open_object, prepare, Failure, Hook, HookCtx, HookError, Loader, Prepared};

/// Re-export so hook crates use the same libbpf-rs version.
pub use libbpf_rs;

/// How libelf/zlib were linked (from build.rs).
pub const LINK_MODE: &str = env!("SCX_LOADER_LINK_MODE");

/// Handle a clap parse error the protocol way: help/version print normally
/// (exit 0); anything else prints clap's message on stderr and an
/// `{"type":"error","stage":"args"}` line on stdout, exit 2.
pub fn cli_error(e: clap::Error) -> std::process::ExitCode {
    use clap::error::ErrorKind;
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = e.print();
            if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
                ExitStatus::BadArgs.into()
            } else {
                std::process::ExitCode::SUCCESS
            }
        }
        _ => {
            let _ = e.print();
            let msg = e.render().to_string();
            let first = msg.lines().next().unwrap_or("").trim_start_matches("error: ").to_string();
            Emitter::stdout().emit(&serde_json::json!({
                "type": "error",
                "stage": "args",
                "message": first,
                "hint": "see --help",
                "exit_code": ExitStatus::BadArgs.code(),
            }));
            ExitStatus::BadArgs.into()
        }
    }
}

/// `{"version": ..., "libbpf": "v1.7", "link": ...}` for protocol lines.
pub fn loader_info() -> serde_json::Value {
    let libbpf = unsafe {
        std::ffi::CStr::from_ptr(libbpf_rs::libbpf_sys::libbpf_version_string()).to_string_lossy().into_owned()
    };
    serde_json::json!({
        "version": env!("CARGO_PKG_VERSION"),
        "libbpf": libbpf,
        "link": LINK_MODE,
    })
}
