//! `logdrain logs` and `logdrain tail`: `heroku logs`' flags, and the query-API parameters
//! they ask for.

use clap::Args;

/// `heroku logs`' flags, plus logdrain's filters.
#[derive(Debug, Clone, Args)]
pub struct LogsArgs {
    /// The Heroku app whose lines to print.
    #[arg(short, long, env = "LOGDRAIN_APP")]
    pub app: String,
    /// How many lines (the newest; default 100, tail 10; at most 10000).
    #[arg(short = 'n', long = "num")]
    pub num: Option<u32>,
    /// Only lines from this source: app or heroku.
    #[arg(short, long)]
    pub source: Option<String>,
    /// Only this dyno (web.1) or process type (web).
    #[arg(short, long)]
    pub dyno: Option<String>,
    /// Keep printing new lines as they arrive.
    #[arg(short, long)]
    pub tail: bool,
    /// Only these kinds: router, app, api, system, runtime_metric, addon (comma-separated).
    #[arg(long)]
    pub kind: Option<String>,
    /// Only this level or worse: debug, info, notice, warning, error, critical.
    #[arg(long)]
    pub level: Option<String>,
    /// Text search: words are ANDed, "a phrase" is matched whole.
    #[arg(short = 'q', long = "query")]
    pub query: Option<String>,
    /// Only lines since this time (RFC 3339) or this long ago (15m, 2h, 7d).
    #[arg(long)]
    pub since: Option<String>,
    /// The logdrain server.
    #[arg(long, env = "LOGDRAIN_URL", default_value = "http://127.0.0.1:8080")]
    pub url: String,
    /// A read token: the server's LOGDRAIN_API_TOKEN or the app's read token.
    #[arg(long, env = "LOGDRAIN_TOKEN", hide_env_values = true)]
    pub token: String,
    /// Plain output even on a terminal.
    #[arg(long)]
    pub no_color: bool,
}

impl LogsArgs {
    /// The query-API parameters these flags ask for.
    pub fn params(&self) -> Vec<(&'static str, String)> {
        let mut p = Vec::new();
        if let Some(n) = self.num {
            p.push(("n", n.to_string()));
        }
        if let Some(s) = &self.source {
            p.push(("source", s.clone()));
        }
        if let Some(d) = &self.dyno {
            // heroku logs -d web.1 is one dyno; -d web is every web dyno.
            p.push((if d.contains('.') { "dyno" } else { "type" }, d.clone()));
        }
        for (key, value) in [
            ("kind", &self.kind),
            ("level", &self.level),
            ("q", &self.query),
            ("since", &self.since),
        ] {
            if let Some(v) = value {
                p.push((key, v.clone()));
            }
        }
        p
    }
}
