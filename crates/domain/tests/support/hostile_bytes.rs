//! Byte strategies for the hostile-input property tests of every crate (issue 9, item 8).
//!
//! These tests are the form of the `fuzz/` targets that runs in every `cargo test`: the same
//! check functions, fed by proptest instead of libFuzzer. Fully arbitrary bytes rarely get past
//! a parser's first check (a header, a `{`), so most cases are valid inputs with a few edits —
//! a byte changed, a separator or a nasty token inserted, a range deleted or repeated, the tail
//! of another valid input spliced on — which reach the deep rules (line counts, ranges,
//! duplicates, completeness). Included by `#[path]` from the other crates' tests, so it
//! depends on nothing but proptest.

#![allow(dead_code)]

use proptest::prelude::*;

/// Bytes that separate or quote things in the project's formats, and bytes that are not text.
const SEPARATORS: &[u8] = b",\n\r\"-.0159T:{}[] \t\\\x00\xff\xef\xbb\xbf";

/// Tokens worth inserting anywhere: numbers at and past every bound, malformed numbers, months
/// and labels just outside their ranges, JSON of the wrong type, non-ASCII text.
const TOKENS: &[&str] = &[
    "-",
    "-0",
    "0",
    "0.0001",
    "1e3",
    "+1",
    " 1",
    ".5",
    "5.",
    "NaN",
    "9223372036854775807",
    "9223372036854775808",
    "99999999999999999999999",
    "-9223372036854775808",
    "4294967296",
    "2147483648",
    "2023-13",
    "0000-00",
    "9999-12",
    "2024-02-29T23:45",
    "2023-02-29T00:00",
    "T24:00",
    "T23:59",
    "h00",
    "h25",
    "q97",
    "peak",
    "null",
    "true",
    "[]",
    "{}",
    "\"\"",
    "\u{feff}",
    "浙江",
    "\u{202e}",
    "\u{0}",
];

/// Applies edits to a valid input. Each edit is (kind, position, byte); positions are taken
/// modulo the current length so that every edit lands.
pub fn mutate(seed: &[u8], donor: &[u8], edits: &[(u8, u32, u8)]) -> Vec<u8> {
    let mut data = seed.to_vec();
    for &(kind, at, byte) in edits {
        let len = data.len();
        let at = if len == 0 { 0 } else { at as usize % (len + 1) };
        match kind % 8 {
            0 => {
                if at < len {
                    data[at] = byte;
                }
            }
            1 => data.insert(at, SEPARATORS[usize::from(byte) % SEPARATORS.len()]),
            2 => {
                let end = (at + 1 + usize::from(byte % 16)).min(len);
                data.drain(at.min(end)..end);
            }
            3 => {
                // Repeat a stretch: duplicate rows, fields or keys.
                let end = (at + 1 + usize::from(byte)).min(len);
                let stretch = data[at.min(end)..end].to_vec();
                data.splice(at..at, stretch);
            }
            4 => {
                let token = TOKENS[usize::from(byte) % TOKENS.len()].as_bytes();
                data.splice(at..at, token.iter().copied());
            }
            5 => {
                // Replace the rest of a field (up to the next separator) with a token.
                let end = data[at..]
                    .iter()
                    .position(|b| b",\n\"".contains(b))
                    .map_or(len, |p| at + p);
                let token = TOKENS[usize::from(byte) % TOKENS.len()].as_bytes();
                data.splice(at..end, token.iter().copied());
            }
            6 => data.truncate(at),
            _ => {
                // Splice the tail of another valid input on.
                let from = if donor.is_empty() {
                    0
                } else {
                    usize::from(byte) * donor.len() / 256
                };
                data.truncate(at);
                data.extend_from_slice(&donor[from..]);
            }
        }
    }
    data
}

/// Arbitrary bytes (one case in four, up to `max_len`) or one of `seeds` with 1–8 edits.
pub fn hostile(seeds: Vec<Vec<u8>>, max_len: usize) -> impl Strategy<Value = Vec<u8>> {
    assert!(!seeds.is_empty(), "a hostile strategy needs valid seeds");
    let n = seeds.len();
    let mutated = (
        0..n,
        0..n,
        proptest::collection::vec((any::<u8>(), any::<u32>(), any::<u8>()), 1..8),
    )
        .prop_map(move |(seed, donor, edits)| mutate(&seeds[seed], &seeds[donor], &edits));
    prop_oneof![
        1 => proptest::collection::vec(any::<u8>(), 0..max_len),
        3 => mutated,
    ]
}

/// For binary formats whose offsets must stay put to get anywhere (Parquet's footer points
/// back into the file): one of `seeds` with 1–8 bytes overwritten in place, by an arbitrary
/// byte or a boundary value; or, one case in eight, arbitrary bytes.
pub fn hostile_binary(seeds: Vec<Vec<u8>>, max_len: usize) -> impl Strategy<Value = Vec<u8>> {
    assert!(!seeds.is_empty(), "a hostile strategy needs valid seeds");
    let n = seeds.len();
    let overwritten = (
        0..n,
        proptest::collection::vec((any::<u32>(), any::<u8>(), 0..4u8), 1..8),
    )
        .prop_map(move |(seed, edits)| {
            let mut data = seeds[seed].clone();
            for (at, byte, kind) in edits {
                let at = at as usize % data.len().max(1);
                if let Some(b) = data.get_mut(at) {
                    *b = [byte, 0x00, 0xff, 0x80][usize::from(kind)];
                }
            }
            data
        });
    prop_oneof![
        1 => proptest::collection::vec(any::<u8>(), 0..max_len),
        7 => overwritten,
    ]
}

/// Text: the bytes as UTF-8, invalid sequences replaced (the parsers under test take `&str`).
pub fn text(data: &[u8]) -> String {
    String::from_utf8_lossy(data).into_owned()
}
