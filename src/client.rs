//! The `logdrain logs` / `logdrain tail` client: speaks the query API (`GET /api/openapi.json`) with
//! `heroku logs`' flags and prints what `heroku logs` prints, coloured on a terminal.

use anyhow::{bail, Context as _};
use std::io::{IsTerminal as _, Write as _};

/// Installs rustls' ring provider once (the one sqlx uses too), so HTTPS works without a
/// second crypto library.
pub fn install_crypto() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// An HTTP(S) client for the query API.
pub fn http_client() -> reqwest::Client {
    install_crypto();
    reqwest::Client::builder()
        .user_agent(concat!("logdrain/", env!("CARGO_PKG_VERSION")))
        .build()
        .unwrap_or_default()
}

/// What `logs`/`tail` ask for.
#[derive(Debug, Clone, Default)]
pub struct LogsRequest {
    /// Server base URL (`https://my-logdrain.herokuapp.com`).
    pub url: String,
    /// Bearer token.
    pub token: String,
    /// App name.
    pub app: String,
    /// Query parameters (`n`, `source`, `dyno`, …).
    pub params: Vec<(&'static str, String)>,
    /// Keep streaming (`-t`).
    pub tail: bool,
    /// Colour the output (a terminal, not piped).
    pub colour: Option<bool>,
}

/// Fetches (or streams) lines and writes them to stdout.
pub async fn run(req: LogsRequest) -> anyhow::Result<()> {
    let client = http_client();
    let base = req.url.trim_end_matches('/');
    let endpoint = if req.tail { "tail" } else { "logs" };
    let url = format!("{base}/api/apps/{}/{endpoint}", req.app);
    let mut params = req.params.clone();
    params.push(("format", "text".to_owned()));
    let mut res = client
        .get(&url)
        .bearer_auth(&req.token)
        .query(&params)
        .send()
        .await
        .with_context(|| format!("connecting to {base}"))?;
    if !res.status().is_success() {
        let status = res.status();
        let body = res.text().await.unwrap_or_default();
        let message = serde_json::from_str::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v["error"]["message"].as_str().map(str::to_owned))
            .unwrap_or(body);
        bail!("{status}: {}", message.trim());
    }
    let colour = req
        .colour
        .unwrap_or_else(|| std::io::stdout().is_terminal());
    let mut pending = Vec::new();
    let stdout = std::io::stdout();
    while let Some(chunk) = res.chunk().await.context("reading the response")? {
        pending.extend_from_slice(&chunk);
        let mut out = stdout.lock();
        while let Some(end) = pending.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = pending.drain(..=end).collect();
            let line = String::from_utf8_lossy(&line[..line.len() - 1]);
            if colour {
                writeln!(out, "{}", colourise(&line))?;
            } else {
                writeln!(out, "{line}")?;
            }
        }
        out.flush()?;
    }
    Ok(())
}

/// Colours a `heroku logs` line as the Heroku CLI does: the timestamp dim, `source[dyno]:` in
/// a colour that depends on the dyno, the message plain.
pub fn colourise(line: &str) -> String {
    const COLOURS: [u8; 6] = [36, 33, 32, 35, 34, 31];
    let Some((ts, rest)) = line.split_once(' ') else {
        return line.to_owned();
    };
    let Some((who, message)) = rest.split_once(": ") else {
        return line.to_owned();
    };
    let dyno = who
        .split_once('[')
        .map_or(who, |(_, d)| d.trim_end_matches(']'));
    let process = dyno.split('.').next().unwrap_or(dyno);
    let colour = if who.starts_with("heroku[router]") {
        COLOURS[5]
    } else {
        let hash = process.bytes().fold(0usize, |h, b| {
            h.wrapping_mul(31).wrapping_add(usize::from(b))
        });
        COLOURS[hash % (COLOURS.len() - 1)]
    };
    format!("\x1b[2m{ts}\x1b[0m \x1b[{colour}m{who}:\x1b[0m {message}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_keeps_the_text_and_adds_codes() {
        let line = "2026-11-01T10:00:00.118264+00:00 app[web.1]: hello: world";
        let coloured = colourise(line);
        assert!(coloured.contains("app[web.1]:"));
        assert!(coloured.ends_with(" hello: world"));
        let stripped = crate::classify::text::clean(coloured.as_bytes());
        assert_eq!(stripped, line);
        assert_eq!(colourise("no separators"), "no separators");
    }
}
