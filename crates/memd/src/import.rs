//! `memd import --format mcp-memory-jsonl FILE`: moves a knowledge graph from the MCP reference
//! memory server (`@modelcontextprotocol/server-memory`, its `memory.jsonl`: one
//! `{"type":"entity",…}` or `{"type":"relation",…}` object per line) into memd, on the data
//! directory directly. The whole file is parsed first (a bad line aborts with its line number
//! and imports nothing); it is then applied through the service in bounded calls. Importing the
//! same file again changes nothing (entities, observations and relations are deduplicated).

use anyhow::{bail, Context};
use clap::ValueEnum;
use memd_core::graph::MAX_GRAPH_ITEMS;
use memd_core::{Caller, MemoryService};
use memd_store::graph::{Entity, GraphWrite, GraphWritten, ObservationAdd, Relation};
use memd_store::TenantId;
use serde::Deserialize;

use crate::cli::Global;
use crate::serve::{init_logging, runtime};

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum ImportFormat {
    /// The JSONL file of @modelcontextprotocol/server-memory.
    McpMemoryJsonl,
}

#[derive(clap::Args, Debug)]
pub struct ImportArgs {
    #[arg(long, value_enum)]
    pub format: ImportFormat,
    /// The file to import.
    pub file: std::path::PathBuf,
    /// Tenant to import into.
    #[arg(long, default_value = TenantId::DEFAULT)]
    pub tenant: String,
    /// Whose graph it becomes.
    #[arg(long, default_value = memd_core::DEFAULT_USER)]
    pub user_id: String,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
enum Line {
    Entity(Entity),
    Relation(Relation),
}

/// The file's entities and relations, in file order.
pub fn parse(text: &str) -> anyhow::Result<(Vec<Entity>, Vec<Relation>)> {
    let (mut entities, mut relations) = (Vec::new(), Vec::new());
    for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        match serde_json::from_str::<Line>(line)
            .with_context(|| format!("line {}: not an entity or relation", i + 1))?
        {
            Line::Entity(e) => entities.push(e),
            Line::Relation(r) => relations.push(r),
        }
    }
    Ok((entities, relations))
}

#[derive(Debug, Default, PartialEq, serde::Serialize)]
pub struct Summary {
    pub entities_created: usize,
    pub observations_added: usize,
    pub relations_created: usize,
}

/// Applies a parsed graph: entities, then their observations, then relations, each in calls of
/// at most [`MAX_GRAPH_ITEMS`].
pub async fn apply(
    service: &MemoryService,
    caller: &Caller,
    user: &str,
    entities: Vec<Entity>,
    relations: Vec<Relation>,
) -> anyhow::Result<Summary> {
    let mut summary = Summary::default();
    let user = || Some(user.to_owned());
    let mut observations = Vec::new();
    for chunk in entities.chunks(MAX_GRAPH_ITEMS) {
        let bare = chunk.iter().map(|e| Entity { observations: Vec::new(), ..e.clone() }).collect();
        if let GraphWritten::Entities(v) =
            service.graph_write(caller, user(), GraphWrite::CreateEntities(bare)).await?
        {
            summary.entities_created += v.len();
        }
        for e in chunk {
            for part in e.observations.chunks(MAX_GRAPH_ITEMS).filter(|p| !p.is_empty()) {
                observations.push(ObservationAdd { entity_name: e.name.clone(), contents: part.to_vec() });
            }
        }
    }
    // Calls of at most MAX_GRAPH_ITEMS observations (each becomes a memory).
    let mut batch: Vec<ObservationAdd> = Vec::new();
    let mut in_batch = 0;
    for add in observations {
        if in_batch + add.contents.len() > MAX_GRAPH_ITEMS {
            summary.observations_added +=
                add_observations(service, caller, user(), std::mem::take(&mut batch)).await?;
            in_batch = 0;
        }
        in_batch += add.contents.len();
        batch.push(add);
    }
    summary.observations_added += add_observations(service, caller, user(), batch).await?;
    for chunk in relations.chunks(MAX_GRAPH_ITEMS) {
        let op = GraphWrite::CreateRelations(chunk.to_vec());
        if let GraphWritten::Relations(v) = service.graph_write(caller, user(), op).await? {
            summary.relations_created += v.len();
        }
    }
    Ok(summary)
}

async fn add_observations(
    service: &MemoryService,
    caller: &Caller,
    user: Option<String>,
    batch: Vec<ObservationAdd>,
) -> anyhow::Result<usize> {
    if batch.is_empty() {
        return Ok(0);
    }
    match service.graph_write(caller, user, GraphWrite::AddObservations(batch)).await? {
        GraphWritten::Observations(v) => Ok(v.iter().map(|a| a.added_observations.len()).sum()),
        other => bail!("unexpected answer to AddObservations: {other:?}"),
    }
}

pub fn run(global: &Global, args: ImportArgs) -> anyhow::Result<()> {
    let cfg = global.load()?;
    let _no_reloads = init_logging(cfg.log_format, &cfg.log_level);
    let ImportFormat::McpMemoryJsonl = args.format;
    let text = std::fs::read_to_string(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let (entities, relations) =
        parse(&text).with_context(|| format!("{} is not a memory.jsonl", args.file.display()))?;
    let caller = Caller { tenant: TenantId::new(args.tenant)?, ..Caller::local() };
    runtime("memd-import")?.block_on(async {
        let (service, _) = tokio::task::spawn_blocking(move || memd_core::open(cfg)).await??;
        let summary = apply(&service, &caller, &args.user_id, entities, relations).await;
        service.shutdown().await.context("shutting down")?;
        let summary = summary?;
        if args.json {
            println!("{}", serde_json::to_string(&summary)?);
        } else {
            println!(
                "imported {} entities, {} observations and {} relations into tenant {} user {} \
                 (already present: skipped); observations are embedded in the background",
                summary.entities_created,
                summary.observations_added,
                summary.relations_created,
                caller.tenant.as_str(),
                args.user_id
            );
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_reference_servers_file() {
        let text = r#"{"type":"entity","name":"Alice","entityType":"person","observations":["likes tea"]}

{"type":"relation","from":"Alice","to":"Acme","relationType":"works_at"}
"#;
        let (e, r) = parse(text).expect("valid");
        assert_eq!(
            e,
            [Entity {
                name: "Alice".into(),
                entity_type: "person".into(),
                observations: vec!["likes tea".into()]
            }]
        );
        assert_eq!(
            r,
            [Relation { from: "Alice".into(), to: "Acme".into(), relation_type: "works_at".into() }]
        );
    }

    #[test]
    fn a_bad_line_names_its_number() {
        let text = "{\"type\":\"entity\",\"name\":\"A\",\"entityType\":\"x\",\"observations\":[]}\n{\"type\":\"thing\"}\n";
        let err = format!("{:#}", parse(text).expect_err("invalid"));
        assert!(err.contains("line 2"), "{err}");
    }
}
