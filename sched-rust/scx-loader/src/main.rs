use std::process::ExitCode;

use clap::Parser;
use scx_loader::{check_params, inspect, libbpf_log, Cli, Command, Emitter, ExitStatus, Loader};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => return scx_loader::cli_error(e),
    };
    match cli.command {
        Command::Run(args) => Loader::new(args).run().into(),
        Command::Inspect(a) => {
            libbpf_log::install(false);
            libbpf_log::quiet();
            let mut out = Emitter::stdout();
            match inspect(&a.object) {
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
        Command::CheckParams(a) => {
            libbpf_log::install(false);
            libbpf_log::quiet();
            let (v, s) = check_params(&a.object, &a.params, &mut []);
            Emitter::stdout().emit(&v);
            s.into()
        }
    }
}
