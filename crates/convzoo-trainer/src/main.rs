//! `convzoo`: train, evaluate, predict and summarise d2l's CNNs. Errors print one line and exit
//! with status 2 (bad usage) or 1 (anything else); the commands are in `cli/`.

mod cli;

use std::process::ExitCode;

use clap::Parser;

/// Parses the command line; a usage error becomes one line on stderr and exit status 2.
fn parse() -> Result<cli::Cli, ExitCode> {
    use clap::error::ErrorKind;
    cli::Cli::try_parse().map_err(|e| match e.kind() {
        ErrorKind::DisplayHelp
        | ErrorKind::DisplayVersion
        | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => e.exit(),
        _ => {
            let text = e.render().to_string();
            let line: Vec<&str> = text
                .lines()
                .map(str::trim)
                .filter(|l| {
                    !l.is_empty()
                        && !l.starts_with("For more information")
                        && !l.starts_with("Usage:")
                })
                .collect();
            eprintln!("{} (see --help)", line.join(" "));
            ExitCode::from(2)
        }
    })
}

fn main() -> ExitCode {
    convzoo_trainer::allocator::keep_freed_memory();
    let cli = match parse() {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    match cli.command.run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e @ convzoo_trainer::Error::Interrupted { .. }) => {
            eprintln!("{e} (in the convzoo repository: `cargo xtask train --resume DIR`)");
            ExitCode::from(e.exit_code())
        }
        Err(
            e @ convzoo_trainer::Error::Usage(convzoo_trainer::UsageError::BackendNotCompiled {
                ..
            }),
        ) => {
            eprintln!(
                "error: {e} (in the convzoo repository, `cargo xtask <task> --backend NAME` builds it in)"
            );
            ExitCode::from(e.exit_code())
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}
