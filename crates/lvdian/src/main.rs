//! `lvdian`: the command-line entry to the green power market engine.

mod clear;
mod demo;

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
    /// Run one month of a Zhejiang-style green power market through all four trading modes —
    /// 集中竞价, 滚动撮合, 挂牌/摘牌, 双边协商 — and print what each made.
    ///
    /// The scenario is generated from a seed: the same seed prints the same report (apart from
    /// the timing lines).
    Demo {
        /// The scenario's seed.
        #[arg(long, default_value_t = 2023)]
        seed: u64,
        /// Sellers: offshore wind generators and distributed-PV aggregators.
        #[arg(long, default_value_t = 60)]
        sellers: usize,
        /// Buyers: wholesale users and retailers.
        #[arg(long, default_value_t = 1_000)]
        buyers: usize,
        /// Commands sent to the rolling-matching session.
        #[arg(long, default_value_t = 1_000_000)]
        rolling_orders: usize,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Clear { file } => clear_command(&file),
        Command::Demo {
            seed,
            sellers,
            buyers,
            rolling_orders,
        } => {
            demo::run(&demo::DemoSize {
                seed,
                sellers,
                buyers,
                rolling_orders,
            });
            ExitCode::SUCCESS
        }
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
