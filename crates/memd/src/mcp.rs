//! `memd mcp`: the MCP tools over stdin/stdout, for clients (Claude Desktop, Claude Code, Cursor…)
//! that start memd themselves. Logs go to stderr; stdout carries only protocol messages.
//!
//! It opens the data directory like `memd serve` and may run beside it and beside other
//! `memd mcp` processes on the same directory (see the README, "Several processes on one data
//! directory"). Environment it reads, besides every `MEMD_*` setting: `MEMD_API_KEY`, an API key
//! whose tenant, scopes and user binding the tools then act with; without it the tools act as
//! the local user of tenant `default` (whoever can start this process can read the data
//! directory anyway).

use anyhow::Context;
use memd_core::Caller;
use memd_mcp::MemdMcp;

use crate::cli::Global;
use crate::serve::{init_logging, runtime};

/// The environment variable holding the API key stdio tools act with.
pub const API_KEY_ENV: &str = "MEMD_API_KEY";

pub fn run(global: &Global) -> anyhow::Result<()> {
    let cfg = global.load()?;
    let _no_reloads = init_logging(cfg.log_format, &cfg.log_level);
    runtime("memd-mcp")?.block_on(async {
        let (service, _) = tokio::task::spawn_blocking(move || memd_core::open(cfg)).await??;
        let caller = match std::env::var(API_KEY_ENV) {
            Ok(key) if !key.trim().is_empty() => service
                .authenticate(Some(key.trim().to_owned()))
                .await
                .with_context(|| format!("{API_KEY_ENV} is not a valid API key"))?,
            _ => Caller::local(),
        };
        tracing::info!(event = "mcp_stdio_started", tenant = caller.tenant.as_str());
        let served = MemdMcp::new(service.clone(), caller).serve_stdio().await;
        service.shutdown().await.context("shutting down")?;
        served.context("MCP session failed")
    })
}
