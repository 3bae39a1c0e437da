//! `lvdian`: the command-line entry to the green power market engine.

mod clear;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// lvdian (绿电): a green electricity market — exchange, settlement and certificate registry.
#[derive(Parser)]
#[command(version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Clear one call auction (集中竞价) from a JSON order file and print the result as JSON.
    ///
    /// The file holds `method` ("uniform" for 边际统一出清 or "high_low" for 高低匹配) and
    /// `orders`, each with id, participant, side (buy/sell), period label, mwh and price as
    /// decimal strings ("10.000" MWh, "420.50" yuan/MWh). Array order is submission order.
    /// The result lists, per period sorted by label, the matched volume Q*, the price P* and
    /// every order's fills. Errors name the order and field, go to stderr, and exit with 1.
    Clear {
        /// The order file (see formats.md); `-` reads standard input.
        file: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Clear { file } => clear_command(&file),
    }
}

fn clear_command(path: &std::path::Path) -> ExitCode {
    let text = if path.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin())
    } else {
        std::fs::read_to_string(path)
    };
    let text = match text {
        Ok(text) => text,
        Err(e) => {
            eprintln!("error: cannot read {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
    };
    match clear::run(&text) {
        Ok(output) => {
            print!("{output}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {}: {e}", path.display());
            ExitCode::FAILURE
        }
    }
}
