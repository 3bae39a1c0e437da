//! Writes a synthetic Zhejiang-sized month — `contracts.csv` and `meters.csv` (~54 million rows,
//! ~2 GB) — into a directory, for timing `lvdian settle` end to end (bench/peers/run_settle.sh).
//!
//! ```sh
//! cargo run --release -p settlement --example gen_month -- DIR [--fraction N] [--time-major]
//! ```
//!
//! `--fraction N` makes 1/N of the month's meters and contracts; `--time-major` orders rows by
//! interval, then meter. The output is deterministic.

#[path = "../benches/synth/mod.rs"]
mod synth;

use std::fs::File;
use std::io::BufWriter;
use std::path::PathBuf;

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let mut dir: Option<PathBuf> = None;
    let mut scale = synth::Scale::zhejiang();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--fraction" => {
                let n: usize = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .expect("--fraction takes a whole number");
                scale = synth::Scale {
                    time_major: scale.time_major,
                    ..synth::Scale::fraction(n)
                };
            }
            "--time-major" => scale.time_major = true,
            _ if dir.is_none() => dir = Some(PathBuf::from(arg)),
            _ => panic!("usage: gen_month DIR [--fraction N] [--time-major]"),
        }
    }
    let dir = dir.expect("usage: gen_month DIR [--fraction N] [--time-major]");
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("contracts.csv"), synth::contracts_csv(&scale))?;
    let mut meters = BufWriter::with_capacity(1 << 22, File::create(dir.join("meters.csv"))?);
    synth::write_meters(&scale, &mut meters)?;
    std::io::Write::flush(&mut meters)?;
    eprintln!(
        "wrote {} meter rows ({} users, {} projects) and {} contracts to {}",
        scale.rows(),
        scale.users,
        scale.projects,
        scale.contracts,
        dir.display()
    );
    Ok(())
}
