//! Free text that people read back (token names, descriptions): stored in Unicode NFC, so
//! two spellings of one name are one name, and refused when it holds characters that hide
//! or reorder what a reader sees.
//!
//! Refused: control characters (Cc: NUL, escape sequences, newlines), format characters
//! (Cf: zero-width spaces and joiners, the bidi overrides and isolates of "Trojan Source",
//! soft hyphens, tags), line and paragraph separators, unassigned code points, private-use
//! characters and surrogates. A name of nothing but invisible characters is then refused
//! too, since it is either empty or holds one of these.

use unicode_normalization::UnicodeNormalization;
use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

use super::error::{Error, Result};

/// Whether `c` may appear in a name or a description.
fn allowed(c: char) -> bool {
    !matches!(
        c.general_category(),
        GeneralCategory::Control
            | GeneralCategory::Format
            | GeneralCategory::LineSeparator
            | GeneralCategory::ParagraphSeparator
            | GeneralCategory::Unassigned
            | GeneralCategory::PrivateUse
            | GeneralCategory::Surrogate
    )
}

/// `text` in NFC, at most `max_bytes` long after normalization, with only allowed
/// characters; INVALID_ARGUMENT naming `field` otherwise. `what` names the kind of text in
/// the message ("a token name").
pub fn clean(field: &str, text: &str, max_bytes: usize, what: &str) -> Result<String> {
    let text: String = text.nfc().collect();
    if let Some((at, c)) = text.char_indices().find(|&(_, c)| !allowed(c)) {
        return Err(Error::invalid(
            field,
            format!(
                "{what} may not hold control, format or bidi characters (U+{:04X} at byte {at})",
                u32::from(c)
            ),
        ));
    }
    if text.len() > max_bytes {
        return Err(Error::invalid(
            field,
            format!("{what} is at most {max_bytes} bytes"),
        ));
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_stored_in_nfc() {
        // "é" as e + combining acute (NFD) and as one code point (NFC) are one name.
        let decomposed = clean("n", "cafe\u{301}", 64, "a name").expect("clean");
        assert_eq!(decomposed, "caf\u{e9}");
        assert_eq!(
            clean("n", "caf\u{e9}", 64, "a name").expect("clean"),
            decomposed
        );
    }

    #[test]
    fn hiding_and_reordering_characters_are_refused() {
        for bad in [
            "\u{200b}",           // zero-width space, alone
            "ci\u{200b}key",      // zero-width space inside
            "abc\u{202e}fed",     // right-to-left override
            "x\u{2066}y\u{2069}", // isolates
            "a\u{0}b",            // NUL
            "line\nbreak",        // newline
            "\u{1b}[31mred",      // terminal escape
            "tag\u{e0041}",       // tag character
            "p\u{2029}q",         // paragraph separator
            "pua\u{e000}",        // private use
            "soft\u{ad}hyphen",   // soft hyphen
        ] {
            let refused = clean("name", bad, 64, "a name").expect_err(bad);
            assert!(refused.to_string().starts_with("name: "), "{refused}");
        }
        // Ordinary text in any script passes, emoji included.
        for good in [
            "CI key",
            "Déploiement",
            "ключ",
            "鍵",
            "🔑 deploy",
            "a-b_c.d",
        ] {
            assert_eq!(clean("name", good, 64, "a name").expect(good), good);
        }
    }

    #[test]
    fn the_length_is_counted_after_normalization() {
        assert!(clean("n", &"a".repeat(65), 64, "a name").is_err());
        assert!(clean("n", &"a".repeat(64), 64, "a name").is_ok());
    }
}
