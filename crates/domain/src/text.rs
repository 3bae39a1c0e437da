//! Free text from outside — names and identifiers — checked once, before it reaches a store.
//!
//! Every text field the API or a file accepts goes through [`TextRule::parse`], so the same
//! text is accepted or refused on every backend (PostgreSQL refuses a NUL byte and long index
//! keys with errors of its own; SQLite stores anything). The policy:
//!
//! - **Every field has a length limit**, in characters (Unicode scalar values) of the normalised
//!   text: [`TextRule::NAME`] 100, [`TextRule::BENEFICIARY`] 200 (the registry's limit),
//!   [`TextRule::IDENTIFIER`] 64.
//! - **No control characters** (C0, DEL, C1 — NUL included — and the line and paragraph
//!   separators U+2028, U+2029), in any field.
//! - **Names** (participants, sessions, beneficiaries) are normalised to Unicode NFC, so a
//!   decomposed `é` and a composed one are the same name; they may not be empty, begin or end
//!   with white space, hold white space other than the space U+0020 and the ideographic space
//!   U+3000, or hold invisible or direction-changing characters ([`is_invisible`]: zero-width
//!   spaces and joiners, the byte-order mark, the soft hyphen, bidi marks, embeddings, overrides
//!   and isolates, fillers, variation selectors, tags), which make look-alike names.
//! - **Identifiers** (meter ids) are 1–64 ASCII letters, digits, `-`, `_` and `.`, beginning
//!   with a letter or a digit: they travel in CSV files and logs, where anything else is a trap.
//!
//! Errors name the field and say what is wrong, with the limit or the character and its
//! 1-based position: ``field `name`: 1048576 characters is more than the limit of 100``,
//! ``field `name`: contains the control character U+0000 at position 3``.

use std::fmt;

use unicode_normalization::UnicodeNormalization;

/// Which character policy a field follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextKind {
    /// A name people read: any printable Unicode, normalised NFC, no invisible characters.
    Name,
    /// An identifier machines match: ASCII letters, digits, `-`, `_`, `.`.
    Identifier,
}

/// A text field's policy: its kind and its length limit in characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextRule {
    kind: TextKind,
    max_chars: usize,
}

impl TextRule {
    /// Participant, session and other names: at most 100 characters.
    pub const NAME: TextRule = TextRule {
        kind: TextKind::Name,
        max_chars: 100,
    };

    /// The beneficiary of a certificate claim (a consumer's full registered name): at most 200
    /// characters, as the registry allows.
    pub const BENEFICIARY: TextRule = TextRule {
        kind: TextKind::Name,
        max_chars: 200,
    };

    /// Meter ids and other identifiers: at most 64 characters.
    pub const IDENTIFIER: TextRule = TextRule {
        kind: TextKind::Identifier,
        max_chars: 64,
    };

    /// The kind of text.
    pub fn kind(self) -> TextKind {
        self.kind
    }

    /// The most characters the field may have.
    pub fn max_chars(self) -> usize {
        self.max_chars
    }

    /// Checks `value` of the field `field` and returns it as stored: NFC for names (identifiers
    /// are ASCII, already normal). Never panics.
    pub fn parse(self, field: &str, value: &str) -> Result<String, TextError> {
        self.check(value).map_err(|problem| TextError {
            field: field.to_owned(),
            problem,
        })
    }

    fn check(self, value: &str) -> Result<String, TextProblem> {
        if value.is_empty() {
            return Err(TextProblem::Empty);
        }
        // Count before anything else, so a huge value costs one pass and is not normalised.
        // The limit applies to the stored (NFC) text, and composing shortens text up to about
        // threefold (a Hangul syllable from three jamo, a letter with two marks), so only text
        // over four times the limit is refused unseen.
        let chars = value.chars().count();
        let raw_limit = match self.kind {
            TextKind::Name => self.max_chars.saturating_mul(4),
            TextKind::Identifier => self.max_chars,
        };
        if chars > raw_limit {
            return Err(TextProblem::TooLong {
                chars,
                max: self.max_chars,
            });
        }
        for (i, ch) in value.chars().enumerate() {
            let position = i + 1;
            if is_control(ch) {
                return Err(TextProblem::Control { ch, position });
            }
            match self.kind {
                TextKind::Name if is_invisible(ch) => {
                    return Err(TextProblem::Invisible { ch, position });
                }
                TextKind::Name if ch.is_whitespace() && ch != ' ' && ch != '\u{3000}' => {
                    return Err(TextProblem::Space { ch, position });
                }
                TextKind::Identifier if !is_identifier_char(ch, position == 1) => {
                    return Err(TextProblem::NotIdentifier { ch, position });
                }
                _ => {}
            }
        }
        if value.starts_with(char::is_whitespace) || value.ends_with(char::is_whitespace) {
            return Err(TextProblem::EdgeSpace);
        }
        if self.kind == TextKind::Identifier {
            return Ok(value.to_owned());
        }
        let normal: String = value.nfc().collect();
        let chars = normal.chars().count();
        if chars > self.max_chars {
            return Err(TextProblem::TooLong {
                chars,
                max: self.max_chars,
            });
        }
        Ok(normal)
    }
}

/// A text field that does not meet its [`TextRule`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("field `{field}`: {problem}")]
pub struct TextError {
    /// The field, as named in the request (`name`, `meters[2]`).
    pub field: String,
    /// What is wrong with it.
    pub problem: TextProblem,
}

/// What is wrong with a text field. Positions are 1-based, in characters.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextProblem {
    /// Nothing was given.
    #[error("is empty")]
    Empty,
    /// Longer than the limit.
    #[error("{chars} characters is more than the limit of {max}")]
    TooLong {
        /// Its length in characters.
        chars: usize,
        /// The limit.
        max: usize,
    },
    /// A control character (NUL, a line break, DEL, C1, U+2028, U+2029).
    #[error("contains the control character {} at position {position}", Code(*.ch))]
    Control {
        /// The character.
        ch: char,
        /// Where.
        position: usize,
    },
    /// An invisible or direction-changing character in a name.
    #[error(
        "contains the invisible or direction-changing character {} at position {position}",
        Code(*.ch)
    )]
    Invisible {
        /// The character.
        ch: char,
        /// Where.
        position: usize,
    },
    /// White space other than U+0020 and U+3000 in a name.
    #[error(
        "contains the white space {} at position {position}; names use only U+0020 and U+3000",
        Code(*.ch)
    )]
    Space {
        /// The character.
        ch: char,
        /// Where.
        position: usize,
    },
    /// Leading or trailing white space.
    #[error("begins or ends with white space")]
    EdgeSpace,
    /// A character an identifier may not have there.
    #[error(
        "contains {} at position {position}; an identifier is ASCII letters, digits, `-`, `_` \
         and `.`, beginning with a letter or digit",
        Code(*.ch)
    )]
    NotIdentifier {
        /// The character.
        ch: char,
        /// Where.
        position: usize,
    },
}

/// A character written as `U+200B`, with the character itself when it is printable ASCII.
struct Code(char);

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ch = self.0;
        if ch.is_ascii_graphic() {
            write!(f, "`{ch}` (U+{:04X})", u32::from(ch))
        } else {
            write!(f, "U+{:04X}", u32::from(ch))
        }
    }
}

/// Whether `ch` is a control character for text fields: Unicode's `Cc` (C0 with NUL, DEL, C1)
/// and the line and paragraph separators, which break lines just as `\n` does.
pub fn is_control(ch: char) -> bool {
    ch.is_control() || matches!(ch, '\u{2028}' | '\u{2029}')
}

/// Whether `ch` draws nothing or changes the direction of what follows, so that two names that
/// look the same differ: the soft hyphen, combining grapheme joiner, Arabic letter mark, Hangul
/// and Mongolian fillers and separators, zero-width space, non-joiner and joiner, the
/// left-to-right and right-to-left marks, bidi embeddings, overrides (U+202A–U+202E) and
/// isolates (U+2066–U+2069), the word joiner and invisible operators, deprecated format
/// characters, variation selectors, the byte-order mark, interlinear annotation marks, musical
/// format characters and tag characters.
pub fn is_invisible(ch: char) -> bool {
    matches!(
        ch,
        '\u{00AD}'
            | '\u{034F}'
            | '\u{061C}'
            | '\u{115F}'..='\u{1160}'
            | '\u{17B4}'..='\u{17B5}'
            | '\u{180B}'..='\u{180F}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}'
            | '\u{3164}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{FEFF}'
            | '\u{FFA0}'
            | '\u{FFF9}'..='\u{FFFB}'
            | '\u{1BCA0}'..='\u{1BCA3}'
            | '\u{1D173}'..='\u{1D17A}'
            | '\u{E0000}'..='\u{E007F}'
            | '\u{E0100}'..='\u{E01EF}'
    )
}

fn is_identifier_char(ch: char, first: bool) -> bool {
    ch.is_ascii_alphanumeric() || (!first && matches!(ch, '-' | '_' | '.'))
}

/// `text` shortened for an error message: at most 32 characters, control and invisible ones
/// written as `\u{..}`, with `…` and the length when cut. Refusals that quote what they were
/// given use it, so a 1 MiB value does not come back as a 1 MiB message.
pub fn shown(text: &str) -> String {
    const MAX: usize = 32;
    let mut out = String::new();
    let mut count = 0;
    for ch in text.chars() {
        count += 1;
        if count > MAX {
            continue;
        }
        if is_control(ch) || is_invisible(ch) {
            out.push_str(&format!("\\u{{{:x}}}", u32::from(ch)));
        } else {
            out.push(ch);
        }
    }
    if count > MAX {
        out.push_str(&format!("… ({count} characters)"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use unicode_normalization::is_nfc;

    fn problem(rule: TextRule, value: &str) -> String {
        rule.parse("name", value).unwrap_err().to_string()
    }

    #[test]
    fn names_are_kept_or_normalised() {
        let name = TextRule::NAME;
        assert_eq!(name.parse("name", "海上风电一号").unwrap(), "海上风电一号");
        assert_eq!(
            name.parse("name", "Zhejiang Wind 1").unwrap(),
            "Zhejiang Wind 1"
        );
        assert_eq!(
            name.parse("name", "杭州\u{3000}某企业").unwrap(),
            "杭州\u{3000}某企业"
        );
        // A decomposed é (e + U+0301) is stored composed (U+00E9).
        assert_eq!(name.parse("name", "Caf\u{65}\u{301}").unwrap(), "Caf\u{e9}");
        assert_eq!(
            name.parse("name", &"风".repeat(100))
                .unwrap()
                .chars()
                .count(),
            100
        );
        // The limit is on the stored text: 101 characters decomposed are 100 composed.
        let decomposed = format!("{}e\u{301}", "风".repeat(99));
        assert_eq!(
            name.parse("name", &decomposed).unwrap(),
            format!("{}\u{e9}", "风".repeat(99))
        );
        // Hangul jamo compose into syllables: 300 jamo are 100 syllables.
        assert_eq!(
            name.parse("name", &"\u{1100}\u{1161}\u{11A8}".repeat(100))
                .unwrap(),
            "\u{AC01}".repeat(100)
        );
    }

    #[test]
    fn names_are_refused_with_field_limit_and_position() {
        let name = TextRule::NAME;
        assert_eq!(problem(name, ""), "field `name`: is empty");
        assert_eq!(
            problem(name, &"x".repeat(1 << 20)),
            "field `name`: 1048576 characters is more than the limit of 100"
        );
        assert_eq!(
            problem(name, &"风".repeat(101)),
            "field `name`: 101 characters is more than the limit of 100"
        );
        assert_eq!(
            problem(name, "G1\0x"),
            "field `name`: contains the control character U+0000 at position 3"
        );
        assert_eq!(
            problem(name, "G\n1"),
            "field `name`: contains the control character U+000A at position 2"
        );
        assert_eq!(
            problem(name, "G\u{85}1"),
            "field `name`: contains the control character U+0085 at position 2"
        );
        assert_eq!(
            problem(name, "G\u{200B}1"),
            "field `name`: contains the invisible or direction-changing character U+200B at \
             position 2"
        );
        assert_eq!(
            problem(name, "\u{202E}1G"),
            "field `name`: contains the invisible or direction-changing character U+202E at \
             position 1"
        );
        for ch in [
            '\u{AD}', '\u{61C}', '\u{200E}', '\u{200F}', '\u{2066}', '\u{2069}', '\u{FEFF}',
        ] {
            assert!(name.parse("name", &format!("A{ch}B")).is_err(), "{ch:?}");
        }
        assert_eq!(
            problem(name, "G\u{A0}1"),
            "field `name`: contains the white space U+00A0 at position 2; names use only U+0020 \
             and U+3000"
        );
        assert_eq!(
            problem(name, " G1"),
            "field `name`: begins or ends with white space"
        );
        assert_eq!(
            problem(name, "G1\u{3000}"),
            "field `name`: begins or ends with white space"
        );
        assert_eq!(
            problem(name, "   "),
            "field `name`: begins or ends with white space"
        );
        assert!(
            TextRule::BENEFICIARY
                .parse("beneficiary", &"x".repeat(200))
                .is_ok()
        );
        assert_eq!(
            TextRule::BENEFICIARY
                .parse("beneficiary", &"x".repeat(201))
                .unwrap_err()
                .to_string(),
            "field `beneficiary`: 201 characters is more than the limit of 200"
        );
    }

    #[test]
    fn identifiers_are_ascii() {
        let id = TextRule::IDENTIFIER;
        assert_eq!(id.parse("meter", "MG1").unwrap(), "MG1");
        assert_eq!(id.parse("meter", "3301-0001_a.b").unwrap(), "3301-0001_a.b");
        assert_eq!(id.parse("meter", &"9".repeat(64)).unwrap().len(), 64);
        assert_eq!(
            id.parse("meters[0]", &"9".repeat(65))
                .unwrap_err()
                .to_string(),
            "field `meters[0]`: 65 characters is more than the limit of 64"
        );
        assert_eq!(
            id.parse("meter", "M\0").unwrap_err().to_string(),
            "field `meter`: contains the control character U+0000 at position 2"
        );
        assert_eq!(
            id.parse("meter", "-M1").unwrap_err().to_string(),
            "field `meter`: contains `-` (U+002D) at position 1; an identifier is ASCII \
             letters, digits, `-`, `_` and `.`, beginning with a letter or digit"
        );
        for bad in ["M 1", "表1", "M,1", "M\"1", "M\u{200B}1", "Ｍ1"] {
            assert!(id.parse("meter", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn shown_cuts_and_escapes() {
        assert_eq!(shown("ZJ"), "ZJ");
        assert_eq!(shown("a\0b\u{202E}"), "a\\u{0}b\\u{202e}");
        assert_eq!(
            shown(&"x".repeat(1000)),
            format!("{}… (1000 characters)", "x".repeat(32))
        );
    }

    proptest! {
        #[test]
        fn parsing_never_panics_and_keeps_the_policy(
            value in prop_oneof![
                any::<String>(),
                // Characters the policy is about, so accepted and refused values both come up:
                // combining marks, a character NFC decomposes (U+0958), spaces, NUL, bidi.
                prop::collection::vec(
                    prop::sample::select(vec![
                        'a', 'Z', '7', '-', '.', '风', 'e', '\u{301}', '\u{958}', ' ', '\u{3000}',
                        '\u{A0}', '\0', '\n', '\u{202E}', '\u{200B}', '\u{FEFF}', '\u{2028}',
                    ]),
                    0..110,
                )
                .prop_map(|chars| chars.into_iter().collect::<String>()),
            ],
            pick in 0..3usize,
        ) {
            let rule = [TextRule::NAME, TextRule::BENEFICIARY, TextRule::IDENTIFIER][pick];
            if let Ok(stored) = rule.parse("f", &value) {
                prop_assert!(is_nfc(&stored));
                prop_assert!(!stored.is_empty() && stored.chars().count() <= rule.max_chars());
                prop_assert!(!stored.chars().any(|c| is_control(c) || is_invisible(c)));
                prop_assert_eq!(stored.trim(), stored.as_str());
                // Parsing what is stored gives it back: the policy is stable.
                prop_assert_eq!(rule.parse("f", &stored), Ok(stored.clone()));
            }
        }

        #[test]
        fn printable_names_within_the_limit_are_accepted(value in "[a-zA-Z0-9风电浙江é]{1,100}") {
            prop_assert_eq!(TextRule::NAME.parse("name", &value), Ok(value.nfc().collect::<String>()));
        }
    }
}
