//! The `memd` binary: `serve`, `mcp`, `keys create|list|revoke`, `config validate [FILE]`,
//! `import --format mcp-memory-jsonl FILE`, `bench load|recall`, `version`.

mod bench;
mod cli;
mod import;
mod keys;
mod mcp;
mod reload;
mod serve;

use clap::Parser;

fn main() -> anyhow::Result<()> {
    let cli = cli::Cli::parse();
    match cli.command {
        cli::Command::Serve(args) => serve::run(&cli.global, args),
        cli::Command::Mcp => mcp::run(&cli.global),
        cli::Command::Keys(cmd) => keys::run(&cli.global, cmd),
        cli::Command::Import(args) => import::run(&cli.global, args),
        cli::Command::Config(cli::ConfigCmd::Validate { file }) => cli::validate_config(&cli.global, file),
        cli::Command::Bench(cmd) => bench::run(&cli.global, cmd),
        cli::Command::Version => {
            println!("memd {}", env!("CARGO_PKG_VERSION"));
            Ok(())
        }
    }
}
