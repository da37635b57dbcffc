//! Thin entry point: parse the command line, start telemetry, dispatch.

use anyhow::Context as _;
use logdrain::app::{self, Application};
use logdrain::cli::{AppsCommand, Cli, Command, LogFormat};
use logdrain::record::AppName;
use logdrain::store::apps::TokenKind;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse_with_file()?;
    init_tracing(cli.log_format);
    if let Command::Logs(args) | Command::Tail(args) = &cli.command {
        let tail = args.tail || matches!(cli.command, Command::Tail(_));
        return logdrain::client::run(logdrain::client::LogsRequest {
            url: args.url.clone(),
            token: args.token.clone(),
            app: args.app.clone(),
            params: args.params(),
            tail,
            colour: args.no_color.then_some(false),
        })
        .await;
    }
    let db_config = cli.db.config()?;

    match cli.command {
        Command::Serve(args) => {
            let mut config = args.config(db_config.clone())?;
            if let Some(rules) = &cli.rules {
                // Compiled once, before anything is served: a bad rule stops start-up.
                config.rules = std::sync::Arc::new(
                    logdrain::rules::compile(rules)
                        .map_err(|e| anyhow::anyhow!("config file: {e}"))?,
                );
            }
            let db = app::open_database(&db_config).await?;
            let application = Application::bind(config.clone(), db.store.clone()).await?;
            tracing::info!(
                version = env!("CARGO_PKG_VERSION"),
                listen = %application.local_addr()?,
                database = %app::describe_database(&db_config),
                quick_start = config.drain_token.is_some(),
                https = config.tls.is_some(),
                idle_timeout = ?config.idle_timeout,
                max_frame_bytes = config.max_frame_bytes,
                max_body_bytes = config.max_body_bytes,
                queue_bytes = config.queue_bytes,
                writers = config.writers,
                retention = ?config.maintenance.max_age,
                max_db_bytes = ?config.maintenance.max_db_bytes,
                partition_interval = ?config.maintenance.interval,
                "logdrain serving"
            );
            let result = application.run(app::shutdown_signal()).await;
            drop(db);
            result
        }
        Command::Migrate => {
            let db = app::open_database(&db_config).await?;
            println!("migrations applied");
            db.store.close().await;
            Ok(())
        }
        Command::Apps { command } => {
            let db = app::open_database(&db_config).await?;
            let result = apps(&db.store, command).await;
            db.store.close().await;
            result
        }
        Command::Maintain(args) => {
            let policy = args.policy()?;
            let db = app::open_database(&db_config).await?;
            let now = chrono::Utc::now().timestamp_micros();
            let result = db.store.maintain(&policy, now).await;
            db.store.close().await;
            let report = result?;
            if !report.ran {
                println!("another process is running maintenance; nothing done");
                return Ok(());
            }
            for name in &report.created {
                println!("created {name}");
            }
            for (name, why) in &report.dropped {
                println!("dropped {name} ({})", why.as_str());
            }
            for name in &report.indexed {
                println!("search index built on {name}");
            }
            for name in &report.compacted {
                println!("compacted {name}");
            }
            println!(
                "strays moved {}, strays deleted {}, frame ids pruned {}, database {} bytes",
                report.strays_moved, report.strays_deleted, report.frames_pruned, report.db_bytes
            );
            if let Some(w) = &report.warning {
                println!("warning: {w}");
            }
            for e in &report.errors {
                println!("not done (retried next run): {e}");
            }
            Ok(())
        }
        Command::Logs(_) | Command::Tail(_) => Ok(()), // handled above, without a database
    }
}

async fn apps(store: &logdrain::store::Store, command: AppsCommand) -> anyhow::Result<()> {
    let name = |s: &str| {
        AppName::parse(s)
            .with_context(|| format!("{s:?} is not a Heroku app name ([a-z][a-z0-9-]{{1,62}})"))
    };
    match command {
        AppsCommand::Create { name: n, url } => {
            let app = name(&n)?;
            let created = store.create_app(&app).await?;
            println!("Created app {app}. Add the drain on Heroku with:\n");
            println!("  {}\n", drains_add(&app, &created.drain_token, &url));
            println!(
                "Read token for the query API (shown once): {}",
                created.read_token
            );
        }
        AppsCommand::List => {
            println!(
                "{:<32} {:>12} {:>10}  {:<25} CREATED",
                "NAME", "LINES", "DROPPED", "LAST SEEN"
            );
            for a in store.list_apps().await? {
                let seen = a
                    .last_seen_at
                    .map_or_else(|| "-".to_owned(), |t| t.to_rfc3339());
                println!(
                    "{:<32} {:>12} {:>10}  {:<25} {}",
                    a.name,
                    a.lines,
                    a.dropped,
                    seen,
                    a.created_at.to_rfc3339()
                );
            }
        }
        AppsCommand::Rotate { name: n, read, url } => {
            let app = name(&n)?;
            if read {
                let token = store.rotate_token(&app, TokenKind::Read).await?;
                println!("New read token for {app} (shown once): {token}");
            } else {
                let token = store.rotate_token(&app, TokenKind::Drain).await?;
                println!("New drain token for {app}. Replace the drain on Heroku with:\n");
                println!("  heroku drains:remove <old drain URL> -a {app}");
                println!("  {}", drains_add(&app, &token, &url));
            }
        }
        AppsCommand::Delete { name: n } => {
            let app = name(&n)?;
            store.delete_app(&app).await?;
            println!("Deleted app {app} and its lines.");
        }
    }
    Ok(())
}

/// The exact `heroku drains:add` line for an app.
fn drains_add(app: &AppName, token: &str, base_url: &str) -> String {
    let (scheme, host) = base_url.split_once("://").unwrap_or(("https", base_url));
    let host = host.trim_end_matches('/');
    format!("heroku drains:add {scheme}://{app}:{token}@{host}/logs -a {app}")
}

fn init_tracing(format: LogFormat) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Pretty => builder.init(),
    }
}
