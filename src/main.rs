//! Thin entry point: parse the command line, start telemetry, dispatch.

use anyhow::Context as _;
use logdrain::app::{self, Application};
use logdrain::cli::{AppsCommand, LogFormat, SpacesCommand};
use logdrain::config::{self, LoadError, Settings, Task};
use logdrain::record::AppName;
use logdrain::store::apps::TokenKind;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let argv: Vec<String> = std::env::args().collect();
    let Settings { log_format, task } = match config::load(&argv) {
        Ok(settings) => settings,
        // Usage errors, `--help` and `--version`: clap prints them and picks the exit code.
        Err(LoadError::Cli(e)) => e.exit(),
        Err(e) => return Err(e.into()),
    };
    init_tracing(log_format);
    match task {
        Task::Logs(request) => logdrain::client::run(request).await,
        Task::Serve(config) => serve(*config).await,
        Task::Migrate(db_config) => {
            let db = app::open_database(&db_config).await?;
            println!("migrations applied");
            db.store.close().await;
            Ok(())
        }
        Task::Apps(db_config, command) => {
            let db = app::open_database(&db_config).await?;
            let result = apps(&db.store, command).await;
            db.store.close().await;
            result
        }
        Task::Spaces(db_config, command) => {
            let db = app::open_database(&db_config).await?;
            let result = spaces(&db.store, command).await;
            db.store.close().await;
            result
        }
        Task::Maintain(db_config, policy) => {
            let db = app::open_database(&db_config).await?;
            let now = chrono::Utc::now().timestamp_micros();
            let result = db.store.maintain(&policy, now).await;
            db.store.close().await;
            print_maintenance(&result?);
            Ok(())
        }
    }
}

/// `logdrain serve`: open the database, bind, log the settings, run until SIGTERM.
async fn serve(config: config::ServeConfig) -> anyhow::Result<()> {
    let db = app::open_database(&config.db).await?;
    let application = Application::bind(config.clone(), db.store.clone()).await?;
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        listen = %application.local_addr()?,
        database = %app::describe_database(&config.db),
        quick_start = config.drain_token.is_some(),
        https = config.tls.is_some(),
        idle_timeout = ?config.idle_timeout,
        head_timeout = ?config.head_timeout,
        max_frame_bytes = config.max_frame_bytes,
        max_body_bytes = config.max_body_bytes,
        queue_bytes = config.queue_bytes,
        app_queue_share = config.app_queue_share,
        max_lines = config.max_lines,
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

/// What `logdrain maintain` did, one line per change.
fn print_maintenance(report: &logdrain::store::partitions::Report) {
    if !report.ran {
        println!("another process is running maintenance; nothing done");
        return;
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
        "strays moved {}, strays deleted {}, frame ids pruned {}, alert state changes pruned {}, \
         alert notifications pruned {}, database {} bytes",
        report.strays_moved,
        report.strays_deleted,
        report.frames_pruned,
        report.alert_history_pruned,
        report.alert_deliveries_pruned,
        report.db_bytes
    );
    println!(
        "minute rollups by key aged out {}, request-id ranges summarized {}",
        report.keyed_minute_rollups_deleted, report.id_ranges_summarized
    );
    if let Some(w) = &report.warning {
        println!("warning: {w}");
    }
    for e in &report.errors {
        println!("not done (retried next run): {e}");
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
            println!("Created app {app}. Add the drain on Heroku with (Cedar, Logplex):\n");
            println!("  {}\n", drains_add(&app, &created.drain_token, &url));
            println!("or, for a Fir app (OpenTelemetry):\n");
            println!("  {}\n", telemetry_add(&app, &created.drain_token, &url));
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
                println!("or, for a Fir app, replace its telemetry drain:\n");
                println!("  heroku telemetry:remove <old drain id> -a {app}");
                println!("  {}", telemetry_add(&app, &token, &url));
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

async fn spaces(store: &logdrain::store::Store, command: SpacesCommand) -> anyhow::Result<()> {
    let name = |s: &str| {
        AppName::parse(s)
            .with_context(|| format!("{s:?} is not a Heroku space name ([a-z][a-z0-9-]{{1,62}})"))
    };
    match command {
        SpacesCommand::Create { name: n, url } => {
            let space = name(&n)?;
            let token = store.create_space(&space).await?;
            println!("Created space {space}. Add the telemetry drain on Heroku with:\n");
            println!("  {}\n", telemetry_add_space(&space, &token, &url));
            println!("Each record's service.name (the app name on Fir) names its app, created on first use.");
        }
        SpacesCommand::Rotate { name: n, url } => {
            let space = name(&n)?;
            let token = store.rotate_space(&space).await?;
            println!("New token for space {space}. Replace the telemetry drain on Heroku with:\n");
            println!("  heroku telemetry:remove <old drain id> -s {space}");
            println!("  {}", telemetry_add_space(&space, &token, &url));
        }
        SpacesCommand::Delete { name: n } => {
            let space = name(&n)?;
            store.delete_space(&space).await?;
            println!("Deleted space {space}; its apps and their lines stay.");
        }
    }
    Ok(())
}

/// The OTLP endpoint for `heroku telemetry:add`: `/otlp` answers both as given and with
/// `/v1/logs` appended.
fn otlp_url(base_url: &str) -> String {
    format!("{}/otlp", base_url.trim_end_matches('/'))
}

/// The exact `heroku telemetry:add` line for a Fir app.
fn telemetry_add(app: &AppName, token: &str, base_url: &str) -> String {
    format!(
        "heroku telemetry:add {} --signals logs --transport http --headers '{{\"Authorization\":\"Bearer {token}\"}}' -a {app}",
        otlp_url(base_url)
    )
}

/// The exact `heroku telemetry:add` line for every app of a space.
fn telemetry_add_space(space: &AppName, token: &str, base_url: &str) -> String {
    format!(
        "heroku telemetry:add {} --signals logs --transport http --headers '{{\"Authorization\":\"Bearer {token}\"}}' -s {space}",
        otlp_url(base_url)
    )
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
