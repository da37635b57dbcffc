//! Outside the request flow: a deterministic generator of realistic Heroku drain traffic, used by
//! benches, load tests and property tests to feed the pipeline (HTTP → logplex → classify).
//!
//! The shapes copy captured lines (router logfmt, Rails and JSON app output, runtime metrics,
//! dyno-manager events, API events, Heroku Postgres metrics); the mix is that of a busy web app.
//! A seed fully determines the output, and no randomness crate is needed.

mod fields;

use crate::logplex::timestamp::format_micros;
use fields::{
    push_fixed2, push_hex, push_ipv4, push_logfmt, push_path, push_pino, push_rails, push_u64,
    push_uuid, router_status, SplitMix64,
};

/// 2026-11-01T10:00:00Z, where generated traffic starts unless told otherwise.
const DEFAULT_START_US: i64 = 1_793_527_200_000_000;
/// The numeric app id inside runtime-metrics `dyno=heroku.<id>.<uuid>` values.
const APP_ID: &str = "145151706";
/// Web dynos in the simulated formation (`web.1` ..= `web.4`).
const WEB_DYNOS: u64 = 4;
/// Who deploys and changes config in API events.
const DEVELOPER: &str = "dev@acme-shop.example";

/// Request hosts: the herokuapp.com name and a custom domain.
const HOSTS: &[&str] = &[
    "acme-shop-7f3a2c9d41e8.herokuapp.com",
    "www.acme-shop.example",
];
/// Plain-text application lines.
const PLAIN_LINES: &[&str] = &[
    "Puma starting in single mode...",
    "* Listening on http://0.0.0.0:3000",
    "- Gracefully stopping, waiting for requests to finish",
    "Use Ctrl-C to stop",
    "Time to scale up!",
    "\u{6ce8}\u{6587}\u{304c}\u{5b8c}\u{4e86}\u{3057}\u{307e}\u{3057}\u{305f} order_id=8812 total=\u{a5}3,980",
    "npm WARN config production Use `--omit=dev` instead.",
];
/// Stack-trace lines, emitted in runs after an exception line.
const TRACE_LINES: &[&str] = &[
    "\tat com.example.demo.OrderService.total(OrderService.java:42)",
    "\tat com.example.demo.OrderController.create(OrderController.java:88)",
    "\tat org.springframework.web.servlet.FrameworkServlet.service(FrameworkServlet.java:883)",
    "\tat jakarta.servlet.http.HttpServlet.service(HttpServlet.java:658)",
    "\tat org.apache.catalina.core.ApplicationFilterChain.doFilter(ApplicationFilterChain.java:205)",
    "\t... 87 common frames omitted",
];
/// Dyno-manager events (besides R14, which carries its own weight).
const DYNO_EVENTS: &[&str] = &[
    "State changed from starting to up",
    "State changed from up to starting",
    "State changed from up to down",
    "Stopping all processes with SIGTERM",
    "Process exited with status 0",
    "Process exited with status 143",
    "Cycling",
    "Starting process with command `bundle exec puma -C config/puma.rb`",
];

/// A seeded stream of Heroku drain messages.
///
/// Exists so benchmarks and tests run on traffic that looks like production (sizes, field
/// shapes, mix) without shipping captured data.
#[derive(Debug, Clone)]
pub struct Corpus {
    /// The pseudo-random source.
    rng: SplitMix64,
    /// The timestamp of the next message, microseconds since the epoch.
    now_us: i64,
    /// Stack-trace lines still to emit after an exception line.
    trace_left: u32,
    /// The dyno that logged the exception the pending trace lines belong to.
    trace_dyno: Dyno,
    /// The current release number for API events.
    release: u64,
    /// One `heroku.<app>.<uuid>` suffix per web dyno, stable like real dyno ids.
    dyno_ids: Vec<Vec<u8>>,
    /// Reused buffer for one message while its length prefix is written.
    scratch: Vec<u8>,
    /// Upper bound of the random gap between two messages, µs (the mean gap is half of it).
    step_us: u64,
}

/// A dyno name (`web.3`, `worker.1`), written as PROCID without allocating.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Dyno {
    /// The process type.
    kind: &'static str,
    /// The dyno number.
    number: u64,
}

impl Dyno {
    /// Appends `kind.number`.
    fn write(self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.kind.as_bytes());
        out.push(b'.');
        push_u64(out, self.number);
    }
}

/// The shape of one application line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AppLine {
    /// Rails tagged logger.
    Rails,
    /// pino JSON.
    Json,
    /// logfmt with `level=`.
    Logfmt,
    /// A sidekiq job line (worker dynos only).
    Sidekiq,
    /// Free text.
    Plain,
    /// An exception, followed by stack-trace lines.
    Exception,
}

impl Corpus {
    /// A generator starting at 2026-11-01T10:00:00Z.
    pub fn new(seed: u64) -> Self {
        Self::starting_at(seed, DEFAULT_START_US)
    }

    /// A generator whose timestamps advance from `start_us` (microseconds since the epoch).
    pub fn starting_at(seed: u64, start_us: i64) -> Self {
        let mut rng = SplitMix64(seed);
        let dyno_ids = (0..WEB_DYNOS)
            .map(|_| {
                let mut id = Vec::with_capacity(36);
                push_uuid(&mut rng, &mut id);
                id
            })
            .collect();
        Self {
            release: 100 + rng.below(400),
            rng,
            now_us: start_us,
            trace_left: 0,
            trace_dyno: Dyno {
                kind: "web",
                number: 1,
            },
            dyno_ids,
            scratch: Vec::with_capacity(1024),
            step_us: 3_000,
        }
    }

    /// Spreads messages out: the gap between two is random below `step_us` (default 3 ms, a
    /// busy app); a week of 10 million lines is a step of about 120 ms.
    pub fn with_step_us(mut self, step_us: u64) -> Self {
        self.step_us = step_us.max(1);
        self
    }

    /// Next realistic syslog message (bytes, no length prefix) with timestamps advancing from
    /// the start time; appends one message to `out`.
    pub fn next_message(&mut self, out: &mut Vec<u8>) {
        // A trace's lines come out within microseconds of each other.
        let step = if self.trace_left > 0 {
            60
        } else {
            self.step_us
        };
        self.now_us += i64::try_from(self.rng.below(step)).unwrap_or(0);
        if self.trace_left > 0 {
            self.trace_left -= 1;
            self.header(out, 190, "app", self.trace_dyno);
            out.extend_from_slice(self.rng.pick(TRACE_LINES).as_bytes());
            out.push(b'\n');
            return;
        }
        match self.rng.below(1_000) {
            0..450 => self.router(out),
            450..800 => self.app(out),
            800..900 => self.runtime_metrics(out),
            900..950 => self.dyno_manager(out),
            950..980 => self.api(out),
            _ => self.postgres_metrics(out),
        }
    }

    /// A complete `application/logplex-1` body with `n` octet-counted messages appended to
    /// `out`; returns the count.
    pub fn body(&mut self, n: usize, out: &mut Vec<u8>) -> usize {
        let mut scratch = std::mem::take(&mut self.scratch);
        for _ in 0..n {
            scratch.clear();
            self.next_message(&mut scratch);
            push_u64(out, scratch.len() as u64);
            out.push(b' ');
            out.extend_from_slice(&scratch);
        }
        self.scratch = scratch;
        n
    }

    /// `<PRI>1 TIMESTAMP host APP PROCID - ` as Logplex writes it, for a dyno.
    fn header(&self, out: &mut Vec<u8>, pri: u8, app: &str, dyno: Dyno) {
        self.header_start(out, pri, app, false);
        dyno.write(out);
        out.extend_from_slice(b" - ");
    }

    /// `<PRI>1 TIMESTAMP host APP PROCID - ` for a named component (`router`, `api`, …).
    fn header_named(
        &self,
        out: &mut Vec<u8>,
        pri: u8,
        app: &str,
        procid: &str,
        whole_seconds: bool,
    ) {
        self.header_start(out, pri, app, whole_seconds);
        out.extend_from_slice(procid.as_bytes());
        out.extend_from_slice(b" - ");
    }

    /// `<PRI>1 TIMESTAMP host APP `, the timestamp in whole seconds (`…SS+00:00`) when asked.
    fn header_start(&self, out: &mut Vec<u8>, pri: u8, app: &str, whole_seconds: bool) {
        out.push(b'<');
        push_u64(out, u64::from(pri));
        out.extend_from_slice(b">1 ");
        format_micros(self.now_us, out);
        if whole_seconds {
            // Drop `.ffffff+00:00` and put the offset back.
            out.truncate(out.len().saturating_sub(13));
            out.extend_from_slice(b"+00:00");
        }
        out.extend_from_slice(b" host ");
        out.extend_from_slice(app.as_bytes());
        out.push(b' ');
    }

    /// A web dyno picked at random.
    fn web_dyno(&mut self) -> Dyno {
        Dyno {
            kind: "web",
            number: 1 + self.rng.below(WEB_DYNOS),
        }
    }

    /// A router access line, or now and then an H12/H13 error line.
    fn router(&mut self, out: &mut Vec<u8>) {
        self.header_named(out, 158, "heroku", "router", false);
        let rng = &mut self.rng;
        let error = match rng.below(1_000) {
            0..6 => Some(("H12", "Request timeout")),
            6..10 => Some(("H13", "Connection closed without response")),
            _ => None,
        };
        let (status, method) = match error {
            Some(_) => (503, "GET"),
            None => (
                router_status(rng),
                rng.pick(&[
                    "GET", "GET", "GET", "GET", "GET", "POST", "POST", "HEAD", "PATCH",
                ]),
            ),
        };
        match error {
            Some((code, desc)) => {
                out.extend_from_slice(b"at=error code=");
                out.extend_from_slice(code.as_bytes());
                out.extend_from_slice(b" desc=\"");
                out.extend_from_slice(desc.as_bytes());
                out.extend_from_slice(b"\" method=");
            }
            None => out.extend_from_slice(b"at=info method="),
        }
        out.extend_from_slice(method.as_bytes());
        out.extend_from_slice(b" path=\"");
        push_path(rng, out);
        out.extend_from_slice(b"\" host=");
        out.extend_from_slice(rng.pick(HOSTS).as_bytes());
        out.extend_from_slice(b" request_id=");
        push_uuid(rng, out);
        out.extend_from_slice(b" fwd=\"");
        push_ipv4(rng, out);
        if rng.below(5) == 0 {
            out.extend_from_slice(b", ");
            push_ipv4(rng, out);
        }
        out.extend_from_slice(b"\" dyno=web.");
        push_u64(out, 1 + rng.below(WEB_DYNOS));
        out.extend_from_slice(b" connect=");
        push_u64(out, rng.below(3));
        out.extend_from_slice(b"ms service=");
        let service = match error {
            Some(("H12", _)) => 30_000 + rng.below(2),
            Some(_) => 1_000 + rng.below(29_000),
            None => 1 + rng.below(40) * rng.below(40),
        };
        push_u64(out, service);
        out.extend_from_slice(b"ms status=");
        push_u64(out, status);
        out.extend_from_slice(b" bytes=");
        let bytes = if error.is_some() || status == 304 || method == "HEAD" {
            0
        } else {
            rng.below(200_000)
        };
        push_u64(out, bytes);
        out.extend_from_slice(b" protocol=https\n");
    }

    /// Application output: Rails tagged lines, JSON, logfmt, sidekiq, plain text, or the start
    /// of a stack trace.
    fn app(&mut self, out: &mut Vec<u8>) {
        let line = match self.rng.below(100) {
            0..40 => AppLine::Rails,
            40..55 => AppLine::Json,
            55..70 => AppLine::Logfmt,
            70..80 => AppLine::Sidekiq,
            80..98 => AppLine::Plain,
            _ => AppLine::Exception,
        };
        let dyno = match (line, self.rng.below(10)) {
            (AppLine::Sidekiq, 0..5) => Dyno {
                kind: "sidekiq",
                number: 1,
            },
            (AppLine::Sidekiq, _)
            | (AppLine::Logfmt | AppLine::Plain | AppLine::Exception, 8..) => Dyno {
                kind: "worker",
                number: 1 + self.rng.below(2),
            },
            _ => self.web_dyno(),
        };
        self.header(out, 190, "app", dyno);
        let rng = &mut self.rng;
        match line {
            AppLine::Rails => push_rails(rng, self.now_us, out),
            AppLine::Json => push_pino(rng, self.now_us, out),
            AppLine::Logfmt => push_logfmt(rng, out),
            AppLine::Sidekiq => {
                format_micros(self.now_us, out);
                // `….123456+00:00` → `….123Z`, sidekiq's millisecond UTC form.
                out.truncate(out.len().saturating_sub(9));
                out.extend_from_slice(b"Z pid=4 tid=2d4k class=HardWorker jid=");
                push_hex(rng, out, 12);
                out.extend_from_slice(b" elapsed=0.");
                push_u64(out, 100 + rng.below(900));
                out.extend_from_slice(b" INFO: done");
            }
            AppLine::Plain => out.extend_from_slice(rng.pick(PLAIN_LINES).as_bytes()),
            AppLine::Exception => {
                out.extend_from_slice(
                    b"java.lang.NullPointerException: Cannot invoke \"String.length()\" because \"s\" is null",
                );
                self.trace_left = 3 + u32::try_from(rng.below(8)).unwrap_or(0);
                self.trace_dyno = dyno;
            }
        }
        out.push(b'\n');
    }

    /// A log-runtime-metrics line (load or memory) for one web dyno.
    fn runtime_metrics(&mut self, out: &mut Vec<u8>) {
        let dyno = self.web_dyno();
        self.header(out, 45, "heroku", dyno);
        out.extend_from_slice(b"source=");
        dyno.write(out);
        out.extend_from_slice(b" dyno=heroku.");
        out.extend_from_slice(APP_ID.as_bytes());
        out.push(b'.');
        let index = usize::try_from(dyno.number - 1).unwrap_or(0);
        out.extend_from_slice(self.dyno_ids.get(index).map_or(&[][..], Vec::as_slice));
        let rng = &mut self.rng;
        if rng.below(2) == 0 {
            for (key, max) in [("1m", 300), ("5m", 200), ("15m", 100)] {
                out.extend_from_slice(b" sample#load_avg_");
                out.extend_from_slice(key.as_bytes());
                out.push(b'=');
                push_fixed2(out, rng.below(max));
            }
        } else {
            let rss = 15_000 + rng.below(40_000);
            let cache = rng.below(5_000);
            let swap = rng.below(100);
            for (key, value) in [
                ("total", rss + cache + swap),
                ("rss", rss),
                ("cache", cache),
                ("swap", swap),
            ] {
                out.extend_from_slice(b" sample#memory_");
                out.extend_from_slice(key.as_bytes());
                out.push(b'=');
                push_fixed2(out, value);
                out.extend_from_slice(b"MB");
            }
            out.extend_from_slice(b" sample#memory_pgpgin=");
            push_u64(out, 100_000 + rng.below(3_000_000));
            out.extend_from_slice(b"pages sample#memory_pgpgout=");
            push_u64(out, 100_000 + rng.below(3_000_000));
            out.extend_from_slice(b"pages sample#memory_quota=512.00MB");
        }
        out.push(b'\n');
    }

    /// A dyno-manager event such as a state change, an exit or R14.
    fn dyno_manager(&mut self, out: &mut Vec<u8>) {
        let dyno = self.web_dyno();
        self.header(out, 45, "heroku", dyno);
        match self.rng.below(10) {
            0..2 => out.extend_from_slice(b"Error R14 (Memory quota exceeded)"),
            2 => {
                out.extend_from_slice(b"Process running mem=");
                push_u64(out, 520 + self.rng.below(300));
                out.extend_from_slice(b"M(1");
                push_u64(out, 10 + self.rng.below(60));
                out.extend_from_slice(b".2%)");
            }
            _ => out.extend_from_slice(self.rng.pick(DYNO_EVENTS).as_bytes()),
        }
        out.push(b'\n');
    }

    /// A platform API event (release, deploy, config, scaling).
    fn api(&mut self, out: &mut Vec<u8>) {
        self.header_named(out, 134, "app", "api", false);
        match self.rng.below(4) {
            0 => {
                self.release += 1;
                out.extend_from_slice(b"Release v");
                push_u64(out, self.release);
                out.extend_from_slice(b" created by user ");
            }
            1 => {
                out.extend_from_slice(b"Deploy ");
                push_hex(&mut self.rng, out, 8);
                out.extend_from_slice(b" by user ");
            }
            2 => out.extend_from_slice(b"Set FEATURE_FLAGS config vars by user "),
            _ => {
                out.extend_from_slice(b"Scaled to web@4:Standard-1X worker@1:Standard-2X by user ")
            }
        }
        out.extend_from_slice(DEVELOPER.as_bytes());
        out.push(b'\n');
    }

    /// A Heroku Postgres metrics line: second-precision timestamp and no trailing LF.
    fn postgres_metrics(&mut self, out: &mut Vec<u8>) {
        self.header_named(out, 134, "app", "heroku-postgres", true);
        let rng = &mut self.rng;
        out.extend_from_slice(
            b"source=DATABASE addon=postgresql-curly-12345 sample#current_transaction=",
        );
        push_u64(out, 1_000_000 + rng.below(1_000_000));
        out.extend_from_slice(b" sample#db_size=");
        push_u64(out, 26_000_000_000 + rng.below(500_000_000));
        out.extend_from_slice(b"bytes sample#tables=13 sample#active-connections=");
        push_u64(out, 10 + rng.below(90));
        out.extend_from_slice(b" sample#waiting-connections=0 sample#index-cache-hit-rate=0.99");
        push_u64(out, 100 + rng.below(900));
        out.extend_from_slice(b" sample#table-cache-hit-rate=0.98");
        push_u64(out, 100 + rng.below(900));
        out.extend_from_slice(b" sample#load-avg-1m=0.");
        push_u64(out, 100 + rng.below(900));
        out.extend_from_slice(b" sample#read-iops=");
        push_fixed2(out, rng.below(10_000));
        out.extend_from_slice(b" sample#write-iops=");
        push_fixed2(out, rng.below(20_000));
        out.extend_from_slice(b" sample#memory-total=4045060kB sample#memory-free=");
        push_u64(out, 100_000 + rng.below(100_000));
        out.extend_from_slice(b"kB sample#memory-cached=3707032kB sample#memory-postgres=182592kB");
    }
}

#[cfg(test)]
mod tests;
