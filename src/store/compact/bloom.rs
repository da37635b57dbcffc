//! The per-chunk Bloom filters of the compact tier (docs/storage.md), pure: built here from a
//! chunk's messages and request ids at compaction, probed in SQL at query time with the hashes
//! computed here.
//!
//! Layout: a `bytea` of `m` bits (a multiple of 8, at least 64), bit `p` being bit `p % 8` of
//! byte `p / 8` (what Postgres' `get_bit(bytea, p)` reads). An element with 64-bit hash `h`
//! sets bits `(a + i·b) mod m` for `i` in `0..k`, where `a = h & 0x7fff_ffff` and
//! `b = (h >> 32) & 0x7fff_ffff | 1`.
//!
//! The terms filter holds the case-folded 4-grams of every message. `q=term` is a
//! case-insensitive substring match (`ILIKE`), so a chunk can hold a match only if it holds
//! every 4-gram of the folded term made of ASCII characters alone. 4-grams rather than
//! trigrams: logs are full of hex ids, and a chunk of router lines holds nearly all 4,096 hex
//! trigrams but only a fifth of the 65,536 hex 4-grams, so a hex word still prunes. Folding maps ASCII letters
//! to lower case and every other character to the first character of its lower case, so a
//! character Postgres lowers to an ASCII letter (the Kelvin sign to `k`) is found too; the
//! probe never uses a trigram with a non-ASCII character, whose case mappings may differ
//! between Postgres and Rust.

/// Characters per n-gram of the terms filter.
const GRAM: usize = 4;
/// Hash functions per element in the terms filter.
pub const TERM_HASHES: u32 = 2;
/// Bits per distinct 4-gram in the terms filter: with two hashes a 4-gram the chunk lacks
/// passes with odds of about 0.16, so a word of w characters passes a chunk that lacks it
/// with odds of about 0.16^(w-3) (higher for hex, whose 4-grams a chunk of request ids
/// largely holds: about 0.3^(w-3)).
const TERM_BITS_PER_ELEMENT: usize = 4;
/// Hash functions per request id.
pub const RID_HASHES: u32 = 6;
/// Bits per distinct request id: about one chunk in a thousand passes for an id it lacks, so a
/// request lookup over a year of chunks unnests a handful, not hundreds.
const RID_BITS_PER_ELEMENT: usize = 16;

/// Blocks of a partition's id filter (migration 0013): an id's hash selects one.
pub const ID_BLOCKS: usize = 256;
/// Bits per distinct id in a partition's id filter block (six hashes): about one partition in
/// three hundred passes for an id it lacks.
const ID_BLOCK_BITS_PER_ELEMENT: usize = 12;

/// The block of a partition's id filter that an id with hash `h` is in: its top byte (the
/// probe seeds use the low 31 bits and bits 32–62).
pub fn id_block(h: u64) -> usize {
    (h >> 56) as usize % ID_BLOCKS
}

/// A partition's id filter: [`ID_BLOCKS`] filters, each over the ids whose [`id_block`] it is,
/// probed like a chunk's request-id filter (six hashes).
pub fn id_blocks(hashes: &[u64]) -> Vec<Vec<u8>> {
    let mut blocks: Vec<Bloom> = (0..ID_BLOCKS).map(|_| Bloom::new()).collect();
    for &h in hashes {
        blocks[id_block(h)].hashes.push(h);
    }
    blocks
        .into_iter()
        .map(|b| b.finish(RID_HASHES, ID_BLOCK_BITS_PER_ELEMENT))
        .collect()
}

/// FNV-1a, 64 bits: stable across builds and platforms, which the stored filters need.
pub fn hash(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    // FNV's low bits mix poorly for short inputs; one multiply-xorshift round fixes that.
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^ (h >> 33)
}

/// The two probe seeds `(a, b)` of a hash, as stored filters and SQL probes use them.
pub fn seeds(h: u64) -> (i64, i64) {
    (
        (h & 0x7fff_ffff) as i64,
        (((h >> 32) & 0x7fff_ffff) | 1) as i64,
    )
}

fn fold(c: char) -> char {
    if c.is_ascii() {
        c.to_ascii_lowercase()
    } else {
        c.to_lowercase().next().unwrap_or(c)
    }
}

/// Calls `f` with the UTF-8 bytes of every n-gram of `text` after folding, and whether it is
/// all ASCII.
fn each_gram(text: &str, mut f: impl FnMut(&[u8], bool)) {
    let folded: Vec<char> = text.chars().map(fold).collect();
    let mut buf = [0u8; 4 * GRAM];
    for w in folded.windows(GRAM) {
        let mut len = 0;
        for c in w {
            len += c.encode_utf8(&mut buf[len..]).len();
        }
        f(&buf[..len], w.iter().all(char::is_ascii));
    }
}

/// A filter being built.
pub struct Bloom {
    hashes: Vec<u64>,
}

impl Bloom {
    /// An empty filter.
    pub fn new() -> Bloom {
        Bloom { hashes: Vec::new() }
    }

    /// Adds every n-gram of a message.
    pub fn add_ngrams(&mut self, message: &str) {
        each_gram(message, |t, _| self.hashes.push(hash(t)));
    }

    /// Adds one exact value (a request id).
    pub fn add_value(&mut self, value: &str) {
        self.hashes.push(hash(value.as_bytes()));
    }

    /// The hashes added so far.
    pub fn hashes(&self) -> &[u64] {
        &self.hashes
    }

    /// The filter's bytes for `k` hash functions at `bits_per_element` per distinct element.
    fn finish(mut self, k: u32, bits_per_element: usize) -> Vec<u8> {
        self.hashes.sort_unstable();
        self.hashes.dedup();
        let m = ((self.hashes.len() * bits_per_element).div_ceil(8) * 8).max(64) as i64;
        let mut bits = vec![0u8; (m / 8) as usize];
        for &h in &self.hashes {
            let (a, b) = seeds(h);
            for i in 0..i64::from(k) {
                let p = ((a + i * b) % m) as usize;
                bits[p / 8] |= 1 << (p % 8);
            }
        }
        bits
    }

    /// The terms filter's bytes.
    pub fn finish_terms(self) -> Vec<u8> {
        self.finish(TERM_HASHES, TERM_BITS_PER_ELEMENT)
    }

    /// The request-id filter's bytes.
    pub fn finish_rids(self) -> Vec<u8> {
        self.finish(RID_HASHES, RID_BITS_PER_ELEMENT)
    }
}

impl Default for Bloom {
    fn default() -> Self {
        Bloom::new()
    }
}

/// The hashes a chunk's terms filter must all hold for `term` to match one of its lines;
/// empty when the term has no all-ASCII n-gram (then no chunk can be skipped by it).
pub fn term_probe(term: &str) -> Vec<u64> {
    let mut out = Vec::new();
    each_gram(term, |t, ascii| {
        if ascii {
            out.push(hash(t));
        }
    });
    out.sort_unstable();
    out.dedup();
    out
}

/// Whether a filter built by [`Bloom::finish`] may hold `h` (what the SQL probe computes).
pub fn may_contain(bits: &[u8], h: u64, k: u32) -> bool {
    let m = (bits.len() * 8) as i64;
    let (a, b) = seeds(h);
    (0..i64::from(k)).all(|i| {
        let p = ((a + i * b) % m) as usize;
        bits[p / 8] & (1 << (p % 8)) != 0
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_trigram_of_a_substring_is_found() {
        let mut b = Bloom::new();
        b.add_ngrams("at=error code=H12 desc=\"Request timeout\" path=\"/Checkout\"");
        let bits = b.finish_terms();
        for term in ["REQUEST TIME", "checkout", "h12 d", "=\"/ch", "Kout\""] {
            let probe = term_probe(term);
            assert!(!probe.is_empty());
            assert!(
                probe.iter().all(|&h| may_contain(&bits, h, TERM_HASHES)),
                "{term}"
            );
        }
    }

    #[test]
    fn absent_words_are_mostly_rejected() {
        let mut b = Bloom::new();
        for i in 0..1000 {
            b.add_ngrams(&format!(
                "at=info method=GET path=\"/items/{i}\" status=200 service={}ms",
                i % 97
            ));
        }
        let bits = b.finish_terms();
        let words = [
            "zebra",
            "quokka",
            "xylophone",
            "jackdaw",
            "wombat",
            "kiwifruit",
        ];
        let hits = words
            .iter()
            .filter(|w| {
                term_probe(w)
                    .iter()
                    .all(|&h| may_contain(&bits, h, TERM_HASHES))
            })
            .count();
        assert!(hits <= 2, "{hits} false positives");
    }

    #[test]
    fn kelvin_sign_folds_to_ascii_k_and_non_ascii_grams_are_not_probed() {
        let mut b = Bloom::new();
        b.add_ngrams("200 \u{212A}B free");
        let bits = b.finish_terms();
        assert!(term_probe("0 kb")
            .iter()
            .all(|&h| may_contain(&bits, h, TERM_HASHES)));
        assert_eq!(
            term_probe("xcafé").len(),
            1,
            "xcaf only: café has a non-ASCII character"
        );
        assert!(term_probe("abc").is_empty());
    }

    #[test]
    fn request_ids_are_found() {
        let mut b = Bloom::new();
        for i in 0..500 {
            b.add_value(&format!("req-{i}"));
        }
        let bits = b.finish_rids();
        assert!((0..500).all(|i| may_contain(
            &bits,
            hash(format!("req-{i}").as_bytes()),
            RID_HASHES
        )));
        let false_hits = (500..1500)
            .filter(|i| may_contain(&bits, hash(format!("req-{i}").as_bytes()), RID_HASHES))
            .count();
        assert!(false_hits < 10, "{false_hits}");
    }
}
