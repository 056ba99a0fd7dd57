//! Command-line interface: global flags (the highest configuration layer) and subcommands.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use memd_core::config::{ConfigOverrides, EmbedOverrides, LogFormat};
use memd_core::Config;

#[derive(Parser, Debug)]
#[command(name = "memd", version, about = "Memory server for AI agents")]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// Flags shared by every command. Each overrides `memd.toml` and `MEMD_*`.
#[derive(Args, Debug, Clone, Default)]
pub struct Global {
    /// Configuration file (default: ./memd.toml when present).
    #[arg(long, short = 'c', global = true)]
    pub config: Option<PathBuf>,
    /// Data directory (MEMD_DATA_DIR).
    #[arg(long, global = true)]
    pub data_dir: Option<PathBuf>,
    /// Listen address (MEMD_LISTEN).
    #[arg(long, global = true)]
    pub listen: Option<SocketAddr>,
    /// Admin token for /admin routes (MEMD_ADMIN_TOKEN).
    #[arg(long, global = true)]
    pub admin_token: Option<String>,
    /// Embedding model folder in Hugging Face format (MEMD_EMBED_MODEL_DIR).
    #[arg(long, global = true)]
    pub embed_model_dir: Option<PathBuf>,
    /// Log as JSON lines.
    #[arg(long, global = true)]
    pub log_json: bool,
}

impl Global {
    pub fn overrides(&self) -> ConfigOverrides {
        ConfigOverrides {
            data_dir: self.data_dir.clone(),
            listen: self.listen,
            admin_token: self.admin_token.clone(),
            log_format: self.log_json.then_some(LogFormat::Json),
            embed: self
                .embed_model_dir
                .clone()
                .map(|d| EmbedOverrides { model_dir: Some(d), provider: None }),
        }
    }

    pub fn load(&self) -> anyhow::Result<Config> {
        let cfg = Config::load(self.config.as_deref(), &self.overrides())?;
        check_log_level(&cfg)?;
        Ok(cfg)
    }
}

/// `log_level` must be a filter the logger accepts (memd-core cannot check it: the syntax is
/// tracing-subscriber's).
fn check_log_level(cfg: &Config) -> anyhow::Result<()> {
    match tracing_subscriber::EnvFilter::try_new(&cfg.log_level) {
        Ok(_) => Ok(()),
        Err(e) => anyhow::bail!("configuration: log_level {:?} is not a valid filter: {e}", cfg.log_level),
    }
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the HTTP server.
    Serve(ServeArgs),
    /// Serve MCP over stdin/stdout (for MCP clients that start memd themselves). Acts as the
    /// local user of tenant `default`, or as the key in MEMD_API_KEY.
    Mcp,
    /// Manage API keys (works on the data directory directly).
    #[command(subcommand)]
    Keys(KeysCmd),
    /// Import data into the data directory: `--format mcp-memory-jsonl` takes the knowledge
    /// graph file of the MCP reference memory server.
    Import(crate::import::ImportArgs),
    /// Configuration tools.
    #[command(subcommand)]
    Config(ConfigCmd),
    /// Load generator and benchmarks against a running server.
    #[command(subcommand)]
    Bench(crate::bench::BenchCmd),
    /// Print the version.
    Version,
}

#[derive(Args, Debug, Default)]
pub struct ServeArgs {}

#[derive(Subcommand, Debug)]
pub enum KeysCmd {
    /// Create a key; prints the secret once.
    Create {
        /// Tenant the key belongs to.
        #[arg(long)]
        tenant: String,
        /// Comma-separated scopes: read, write, admin.
        #[arg(long, default_value = "read,write")]
        scopes: String,
        /// Bind the key to one user_id.
        #[arg(long)]
        user_id: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// List keys (never their secrets).
    List {
        #[arg(long)]
        tenant: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Revoke a key by id.
    Revoke { id: uuid::Uuid },
}

#[derive(Subcommand, Debug)]
pub enum ConfigCmd {
    /// Validate a configuration file (or the effective configuration when none is given).
    Validate { file: Option<PathBuf> },
}

pub fn validate_config(global: &Global, file: Option<PathBuf>) -> anyhow::Result<()> {
    let cfg = match &file {
        Some(f) => {
            let text = std::fs::read_to_string(f).with_context(|| format!("cannot read {}", f.display()))?;
            Config::from_toml_str(&text)?
        }
        None => global.load()?,
    };
    check_log_level(&cfg)?;
    eprintln!("configuration is valid");
    println!("{}", toml_summary(&cfg));
    Ok(())
}

fn toml_summary(cfg: &Config) -> String {
    serde_json::to_string_pretty(&cfg.redacted()).unwrap_or_default()
}
