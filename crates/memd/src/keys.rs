//! `memd keys …`: key management straight on the data directory (no server needed).

use std::sync::Arc;

use anyhow::Context;
use memd_core::config::Config;
use memd_core::Authenticator;
use memd_store::sqlite::{SqliteOptions, SqliteStore};
use memd_store::{Scope, Store, TenantId};

use crate::cli::{Global, KeysCmd};

fn open_store(cfg: &Config) -> anyhow::Result<Arc<dyn Store>> {
    std::fs::create_dir_all(&cfg.data_dir)
        .with_context(|| format!("cannot create {}", cfg.data_dir.display()))?;
    let opts = SqliteOptions { durability: cfg.storage.durability, readers: 1 };
    Ok(Arc::new(SqliteStore::open(&cfg.db_path(), opts)?))
}

pub fn run(global: &Global, cmd: KeysCmd) -> anyhow::Result<()> {
    let cfg = global.load()?;
    let store = open_store(&cfg)?;
    let auth = Authenticator::new(store.clone(), false, None);
    match cmd {
        KeysCmd::Create { tenant, scopes, user_id, json } => {
            let tenant = TenantId::new(tenant)?;
            let scopes = scopes.split(',').map(|s| Scope::parse(s.trim())).collect::<Result<Vec<_>, _>>()?;
            let (key, secret) = auth.create_key(tenant, scopes, user_id)?;
            if json {
                let v = serde_json::json!({"id": key.id, "key": secret, "tenant": key.tenant, "scopes": key.scopes, "user_id": key.user_id});
                println!("{v}");
            } else {
                eprintln!("created key {} for tenant {} (the secret is shown only now):", key.id, key.tenant);
                println!("{secret}");
            }
        }
        KeysCmd::List { tenant, json } => {
            let tenant = tenant.map(TenantId::new).transpose()?;
            let keys = store.list_keys(tenant.as_ref())?;
            if json {
                println!("{}", serde_json::to_string(&keys)?);
            } else {
                println!(
                    "{:<38} {:<16} {:<18} {:<12} {:<10} status",
                    "id", "tenant", "scopes", "user", "prefix"
                );
                for k in keys {
                    let scopes: Vec<_> = k.scopes.iter().map(|s| s.as_str()).collect();
                    let status = if k.revoked_at.is_some() { "revoked" } else { "active" };
                    println!(
                        "{:<38} {:<16} {:<18} {:<12} {:<10} {status}",
                        k.id,
                        k.tenant,
                        scopes.join(","),
                        k.user_id.as_deref().unwrap_or("-"),
                        k.prefix
                    );
                }
            }
        }
        KeysCmd::Revoke { id } => {
            auth.revoke_key(id)?;
            eprintln!("revoked key {id}");
        }
    }
    Ok(())
}
