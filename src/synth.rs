//! Outside the request flow: a deterministic generator of realistic Heroku drain traffic, used by
//! benches, load tests and property tests to feed the pipeline (HTTP → logplex → classify).
//!
//! The shapes copy captured lines (router logfmt, Rails and JSON app output, runtime metrics,
//! dyno-manager events, API events, Heroku Postgres metrics); the mix is that of a busy web app.
//! A seed fully determines the output, and no randomness crate is needed.

use crate::logplex::timestamp::format_micros;

/// 2026-11-01T10:00:00Z, where generated traffic starts unless told otherwise.
const DEFAULT_START_US: i64 = 1_793_527_200_000_000;
/// The numeric app id inside runtime-metrics `dyno=heroku.<id>.<uuid>` values.
const APP_ID: &str = "145151706";
/// Web dynos in the simulated formation (`web.1` ..= `web.4`).
const WEB_DYNOS: u64 = 4;
/// Who deploys and changes config in API events.
const DEVELOPER: &str = "dev@acme-shop.example";

/// Request paths, weighted by repetition.
const PATHS: &[&str] = &[
    "/",
    "/products",
    "/products/",
    "/api/v1/cart",
    "/api/v1/cart",
    "/api/v1/orders/",
    "/graphql",
    "/healthz",
    "/login",
    "/account/settings",
    "/search?q=red+dress&page=",
    "/assets/app-2a3af4d4.js",
    "/blog/",
];
/// Request hosts: the herokuapp.com name and a custom domain.
const HOSTS: &[&str] = &["acme-shop-7f3a2c9d41e8.herokuapp.com", "www.acme-shop.example"];
/// Rails controller actions for `Processing by …` lines.
const ACTIONS: &[&str] = &[
    "ProductsController#index",
    "ProductsController#show",
    "OrdersController#create",
    "CartsController#show",
    "SessionsController#new",
    "Api::V1::OrdersController#update",
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
    "app/models/order.rb:42:in `total'",
    "app/controllers/orders_controller.rb:17:in `create'",
    "  File \"/app/.heroku/python/lib/python3.11/site-packages/django/core/handlers/exception.py\", line 55, in inner",
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
    /// The current release number for API events.
    release: u64,
    /// One `heroku.<app>.<uuid>` suffix per web dyno, stable like real dyno ids.
    dyno_ids: Vec<Vec<u8>>,
    /// Reused buffer for one message while its length prefix is written.
    scratch: Vec<u8>,
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
            dyno_ids,
            scratch: Vec::with_capacity(1024),
        }
    }

    /// Next realistic syslog message (bytes, no length prefix) with timestamps advancing from
    /// the start time; appends one message to `out`.
    pub fn next_message(&mut self, out: &mut Vec<u8>) {
        self.now_us += i64::try_from(self.rng.below(3_000)).unwrap_or(0);
        if self.trace_left > 0 {
            self.trace_left -= 1;
            let line = self.rng.pick(TRACE_LINES);
            self.app_line(out, line.as_bytes());
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

    /// `<PRI>1 TIMESTAMP host APP PROCID - ` as Logplex writes it, with a microsecond timestamp.
    fn header(&self, out: &mut Vec<u8>, pri: u8, app: &str, procid: &[u8]) {
        self.header_with(out, pri, app, procid, false);
    }

    /// [`Self::header`], with a whole-second timestamp (`…SS+00:00`) when `whole_seconds`.
    fn header_with(&self, out: &mut Vec<u8>, pri: u8, app: &str, procid: &[u8], whole_seconds: bool) {
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
        out.extend_from_slice(procid);
        out.extend_from_slice(b" - ");
    }

    /// A router access line, or now and then an H12/H13 error line.
    fn router(&mut self, out: &mut Vec<u8>) {
        self.header(out, 158, "heroku", b"router");
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
                rng.pick(&["GET", "GET", "GET", "GET", "GET", "POST", "POST", "HEAD", "PATCH"]),
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
        let mut line = Vec::with_capacity(256);
        let rng = &mut self.rng;
        match rng.below(100) {
            0..40 => push_rails(rng, self.now_us, &mut line),
            40..55 => push_pino(rng, self.now_us, &mut line),
            55..70 => push_logfmt(rng, &mut line),
            70..80 => {
                format_micros(self.now_us, &mut line);
                line.truncate(line.len().saturating_sub(9));
                line.extend_from_slice(b"Z pid=4 tid=2d4k class=HardWorker jid=");
                push_hex(rng, &mut line, 12);
                line.extend_from_slice(b" elapsed=0.");
                push_u64(&mut line, 100 + rng.below(900));
                line.extend_from_slice(b" INFO: done");
            }
            80..98 => line.extend_from_slice(rng.pick(PLAIN_LINES).as_bytes()),
            _ => {
                line.extend_from_slice(
                    b"java.lang.NullPointerException: Cannot invoke \"String.length()\" because \"s\" is null",
                );
                self.trace_left = 3 + u32::try_from(self.rng.below(8)).unwrap_or(0);
            }
        }
        self.app_line(out, &line);
    }

    /// Writes one `app <dyno>` message around `line`.
    fn app_line(&mut self, out: &mut Vec<u8>, line: &[u8]) {
        let mut procid = Vec::with_capacity(16);
        match self.rng.below(10) {
            0..7 => {
                procid.extend_from_slice(b"web.");
                push_u64(&mut procid, 1 + self.rng.below(WEB_DYNOS));
            }
            7..9 => procid.extend_from_slice(b"worker.1"),
            _ => procid.extend_from_slice(b"sidekiq.1"),
        }
        self.header(out, 190, "app", &procid);
        out.extend_from_slice(line);
        out.push(b'\n');
    }

    /// A log-runtime-metrics line (load or memory) for one web dyno.
    fn runtime_metrics(&mut self, out: &mut Vec<u8>) {
        let dyno = self.rng.below(WEB_DYNOS);
        let mut procid = b"web.".to_vec();
        push_u64(&mut procid, dyno + 1);
        self.header(out, 45, "heroku", &procid);
        out.extend_from_slice(b"source=");
        out.extend_from_slice(&procid);
        out.extend_from_slice(b" dyno=heroku.");
        out.extend_from_slice(APP_ID.as_bytes());
        out.push(b'.');
        let index = usize::try_from(dyno).unwrap_or(0);
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
        let mut procid = b"web.".to_vec();
        push_u64(&mut procid, 1 + self.rng.below(WEB_DYNOS));
        self.header(out, 45, "heroku", &procid);
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
        self.header(out, 134, "app", b"api");
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
            _ => out.extend_from_slice(b"Scaled to web@4:Standard-1X worker@1:Standard-2X by user "),
        }
        out.extend_from_slice(DEVELOPER.as_bytes());
        out.push(b'\n');
    }

    /// A Heroku Postgres metrics line: second-precision timestamp and no trailing LF.
    fn postgres_metrics(&mut self, out: &mut Vec<u8>) {
        // The add-on reports whole seconds.
        self.header_with(out, 134, "app", b"heroku-postgres", true);
        let rng = &mut self.rng;
        out.extend_from_slice(b"source=DATABASE addon=postgresql-curly-12345 sample#current_transaction=");
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

/// A router status: mostly 2xx, some 3xx and 4xx, rare 5xx.
fn router_status(rng: &mut SplitMix64) -> u64 {
    match rng.below(1_000) {
        0..800 => 200,
        800..850 => 201,
        850..880 => 204,
        880..910 => 302,
        910..940 => 304,
        940..960 => 404,
        960..975 => 422,
        975..990 => 401,
        990..996 => 500,
        _ => 503,
    }
}

/// A request path, with an id or page number where the route takes one.
fn push_path(rng: &mut SplitMix64, out: &mut Vec<u8>) {
    let path = rng.pick(PATHS);
    out.extend_from_slice(path.as_bytes());
    if path.ends_with('/') && path.len() > 1 {
        push_u64(out, 1 + rng.below(50_000));
    } else if path.ends_with('=') {
        push_u64(out, 1 + rng.below(20));
    }
}

/// A Rails tagged-logger line: `I, [time #pid]  INFO -- : [request-id] …`.
fn push_rails(rng: &mut SplitMix64, now_us: i64, line: &mut Vec<u8>) {
    let warn = rng.below(20) == 0;
    line.extend_from_slice(if warn { b"W, [" } else { b"I, [" });
    format_micros(now_us, line);
    line.truncate(line.len().saturating_sub(6));
    line.extend_from_slice(b" #");
    push_u64(line, 2 + rng.below(8));
    line.extend_from_slice(if warn { b"]  WARN -- : [" } else { b"]  INFO -- : [" });
    push_uuid(rng, line);
    line.extend_from_slice(b"] ");
    match rng.below(4) {
        0 => {
            line.extend_from_slice(b"Started GET \"");
            push_path(rng, line);
            line.extend_from_slice(b"\" for ");
            push_ipv4(rng, line);
        }
        1 => {
            line.extend_from_slice(b"Processing by ");
            line.extend_from_slice(rng.pick(ACTIONS).as_bytes());
            line.extend_from_slice(b" as HTML");
        }
        _ => {
            line.extend_from_slice(b"Completed 200 OK in ");
            push_u64(line, 5 + rng.below(800));
            line.extend_from_slice(b"ms (Views: ");
            push_fixed2(line, rng.below(20_000));
            line.extend_from_slice(b"ms | ActiveRecord: ");
            push_fixed2(line, rng.below(5_000));
            line.extend_from_slice(b"ms | Allocations: ");
            push_u64(line, 1_000 + rng.below(60_000));
            line.push(b')');
        }
    }
}

/// A pino (Node.js) JSON request log line.
fn push_pino(rng: &mut SplitMix64, now_us: i64, line: &mut Vec<u8>) {
    line.extend_from_slice(b"{\"level\":30,\"time\":");
    push_u64(line, u64::try_from(now_us / 1_000).unwrap_or(0));
    line.extend_from_slice(b",\"pid\":23,\"reqId\":\"req-");
    push_hex(rng, line, 4);
    line.extend_from_slice(b"\",\"req\":{\"method\":\"GET\",\"url\":\"");
    push_path(rng, line);
    line.extend_from_slice(b"\",\"remoteAddress\":\"");
    push_ipv4(rng, line);
    line.extend_from_slice(b"\"},\"res\":{\"statusCode\":200},\"responseTime\":");
    push_fixed2(line, rng.below(50_000));
    line.extend_from_slice(b",\"msg\":\"request completed\"}");
}

/// A logfmt line with a `level=` key.
fn push_logfmt(rng: &mut SplitMix64, line: &mut Vec<u8>) {
    let (level, msg) = match rng.below(10) {
        0..6 => ("info", "cache refreshed"),
        6..8 => ("debug", "enqueued job"),
        8 => ("warn", "slow query"),
        _ => ("error", "payment provider returned 502"),
    };
    line.extend_from_slice(b"level=");
    line.extend_from_slice(level.as_bytes());
    line.extend_from_slice(b" msg=\"");
    line.extend_from_slice(msg.as_bytes());
    line.extend_from_slice(b"\" duration_ms=");
    push_u64(line, rng.below(2_000));
    line.extend_from_slice(b" request_id=");
    push_uuid(rng, line);
}

/// Appends `value` in decimal.
fn push_u64(out: &mut Vec<u8>, value: u64) {
    let mut digits = [0_u8; 20];
    let mut at = digits.len();
    let mut rest = value;
    loop {
        at -= 1;
        // `rest % 10` is a single digit, so the cast cannot truncate.
        digits[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    out.extend_from_slice(digits.get(at..).unwrap_or_default());
}

/// Appends `hundredths / 100` with two decimals (`24722` → `247.22`).
fn push_fixed2(out: &mut Vec<u8>, hundredths: u64) {
    push_u64(out, hundredths / 100);
    out.push(b'.');
    let cents = hundredths % 100;
    if cents < 10 {
        out.push(b'0');
    }
    push_u64(out, cents);
}

/// Appends `count` random lower-case hex digits.
fn push_hex(rng: &mut SplitMix64, out: &mut Vec<u8>, count: usize) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut bits = rng.next_u64();
    for index in 0..count {
        if index > 0 && index % 16 == 0 {
            bits = rng.next_u64();
        }
        out.push(HEX[(bits & 0xf) as usize]);
        bits >>= 4;
    }
}

/// Appends a random version-4-shaped UUID.
fn push_uuid(rng: &mut SplitMix64, out: &mut Vec<u8>) {
    push_hex(rng, out, 8);
    out.push(b'-');
    push_hex(rng, out, 4);
    out.extend_from_slice(b"-4");
    push_hex(rng, out, 3);
    out.push(b'-');
    out.push(*rng.pick_byte(b"89ab"));
    push_hex(rng, out, 3);
    out.push(b'-');
    push_hex(rng, out, 12);
}

/// Appends a random public-looking IPv4 address.
fn push_ipv4(rng: &mut SplitMix64, out: &mut Vec<u8>) {
    push_u64(out, 11 + rng.below(212));
    for _ in 0..3 {
        out.push(b'.');
        push_u64(out, rng.below(256));
    }
}

/// SplitMix64 (Steele, Lea, Flood 2014): tiny, fast, and good enough for synthetic data.
#[derive(Debug, Clone)]
struct SplitMix64(u64);

impl SplitMix64 {
    /// The next 64 pseudo-random bits.
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A value in `0..bound` (0 when `bound` is 0), by multiply-shift.
    fn below(&mut self, bound: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(bound)) >> 64) as u64
    }

    /// A random element of a non-empty table (`""` for an empty one).
    fn pick<'t>(&mut self, items: &[&'t str]) -> &'t str {
        let index = self.below(items.len() as u64);
        items
            .get(usize::try_from(index).unwrap_or(0))
            .copied()
            .unwrap_or_default()
    }

    /// A random byte of a non-empty table.
    fn pick_byte<'t>(&mut self, items: &'t [u8]) -> &'t u8 {
        let index = self.below(items.len() as u64);
        items
            .get(usize::try_from(index).unwrap_or(0))
            .unwrap_or(&b'0')
    }
}
