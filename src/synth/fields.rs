//! Synthetic traffic, part 2: the values inside generated messages (numbers, ids, addresses,
//! paths, application line bodies) and the seeded PRNG they draw from.

use crate::logplex::timestamp::format_micros;

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
/// Rails controller actions for `Processing by …` lines.
const ACTIONS: &[&str] = &[
    "ProductsController#index",
    "ProductsController#show",
    "OrdersController#create",
    "CartsController#show",
    "SessionsController#new",
    "Api::V1::OrdersController#update",
];

/// A router status: mostly 2xx, some 3xx and 4xx, rare 5xx.
pub(super) fn router_status(rng: &mut SplitMix64) -> u64 {
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
pub(super) fn push_path(rng: &mut SplitMix64, out: &mut Vec<u8>) {
    let path = rng.pick(PATHS);
    out.extend_from_slice(path.as_bytes());
    if path.ends_with('/') && path.len() > 1 {
        push_u64(out, 1 + rng.below(50_000));
    } else if path.ends_with('=') {
        push_u64(out, 1 + rng.below(20));
    }
}

/// A Rails tagged-logger line: `I, [time #pid]  INFO -- : [request-id] …`.
pub(super) fn push_rails(rng: &mut SplitMix64, now_us: i64, line: &mut Vec<u8>) {
    let warn = rng.below(20) == 0;
    line.extend_from_slice(if warn { b"W, [" } else { b"I, [" });
    format_micros(now_us, line);
    line.truncate(line.len().saturating_sub(6));
    line.extend_from_slice(b" #");
    push_u64(line, 2 + rng.below(8));
    line.extend_from_slice(if warn {
        b"]  WARN -- : ["
    } else {
        b"]  INFO -- : ["
    });
    push_uuid(rng, line);
    line.extend_from_slice(b"] ");
    match rng.below(4) {
        0 => {
            line.extend_from_slice(b"Started GET \"");
            push_path(rng, line);
            line.extend_from_slice(b"\" for ");
            push_ipv4(rng, line);
            line.extend_from_slice(b" at ");
            let at = line.len();
            format_micros(now_us, line);
            // `2026-11-01T10:00:00.123456+00:00` → `2026-11-01 10:00:00 +0000`.
            line.truncate(at + 19);
            if let Some(separator) = line.get_mut(at + 10) {
                *separator = b' ';
            }
            line.extend_from_slice(b" +0000");
        }
        1 => {
            line.extend_from_slice(b"Processing by ");
            line.extend_from_slice(rng.pick(ACTIONS).as_bytes());
            line.extend_from_slice(b" as HTML");
        }
        _ => {
            let total = 5 + rng.below(800);
            line.extend_from_slice(b"Completed 200 OK in ");
            push_u64(line, total);
            line.extend_from_slice(b"ms (Views: ");
            push_fixed2(line, total * rng.below(60));
            line.extend_from_slice(b"ms | ActiveRecord: ");
            push_fixed2(line, total * rng.below(30));
            line.extend_from_slice(b"ms | Allocations: ");
            push_u64(line, 1_000 + rng.below(60_000));
            line.push(b')');
        }
    }
}

/// A pino (Node.js) JSON request log line.
pub(super) fn push_pino(rng: &mut SplitMix64, now_us: i64, line: &mut Vec<u8>) {
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
pub(super) fn push_logfmt(rng: &mut SplitMix64, line: &mut Vec<u8>) {
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
pub(super) fn push_u64(out: &mut Vec<u8>, value: u64) {
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
pub(super) fn push_fixed2(out: &mut Vec<u8>, hundredths: u64) {
    push_u64(out, hundredths / 100);
    out.push(b'.');
    let cents = hundredths % 100;
    if cents < 10 {
        out.push(b'0');
    }
    push_u64(out, cents);
}

/// Appends `count` random lower-case hex digits.
pub(super) fn push_hex(rng: &mut SplitMix64, out: &mut Vec<u8>, count: usize) {
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
pub(super) fn push_uuid(rng: &mut SplitMix64, out: &mut Vec<u8>) {
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
pub(super) fn push_ipv4(rng: &mut SplitMix64, out: &mut Vec<u8>) {
    push_u64(out, 11 + rng.below(212));
    for _ in 0..3 {
        out.push(b'.');
        push_u64(out, rng.below(256));
    }
}

/// SplitMix64 (Steele, Lea, Flood 2014): tiny, fast, and good enough for synthetic data.
#[derive(Debug, Clone)]
pub(super) struct SplitMix64(pub(super) u64);

impl SplitMix64 {
    /// The next 64 pseudo-random bits.
    pub(super) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A value in `0..bound` (0 when `bound` is 0), by multiply-shift.
    pub(super) fn below(&mut self, bound: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(bound)) >> 64) as u64
    }

    /// A random element of a non-empty table (`""` for an empty one).
    pub(super) fn pick<'t>(&mut self, items: &[&'t str]) -> &'t str {
        let index = self.below(items.len() as u64);
        items
            .get(usize::try_from(index).unwrap_or(0))
            .copied()
            .unwrap_or_default()
    }

    /// A random byte of a non-empty table.
    pub(super) fn pick_byte<'t>(&mut self, items: &'t [u8]) -> &'t u8 {
        let index = self.below(items.len() as u64);
        items
            .get(usize::try_from(index).unwrap_or(0))
            .unwrap_or(&b'0')
    }
}
