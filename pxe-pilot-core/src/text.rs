//! Text that came from a client, made safe to keep and to log: [`cut`] bounds its size (on a
//! character boundary), [`printable`] escapes what a terminal or a log reader would act on
//! (control characters: a line break forges a log line, an escape sequence recolours a
//! terminal, a NUL cuts a C string).
//!
//! Every text a request can choose (a path segment, a MAC address that did not parse, a
//! bootloader's name) goes through here before it is logged or recorded.

use std::borrow::Cow;
use std::fmt::Write;

/// `text` cut to at most `max` bytes, on a character boundary.
pub fn cut(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// `text` with every control character written as its escape (`\n`, `\u{1b}`, `\0`...),
/// so that it reads as one line of plain characters; unchanged when it has none.
pub fn printable(text: &str) -> Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c.is_control() {
            let _ = write!(out, "{}", c.escape_default());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// A client's text for a log line: at most `max` bytes of it, printable.
pub fn for_log(text: &str, max: usize) -> String {
    let cut_text = cut(text, max);
    let mut out = printable(cut_text).into_owned();
    if cut_text.len() < text.len() {
        out.push_str("...");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cutting_keeps_whole_characters() {
        assert_eq!(cut("abc", 10), "abc");
        assert_eq!(cut("abcdef", 3), "abc");
        assert_eq!(cut("éé", 3), "é");
        assert_eq!(cut("", 0), "");
    }

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(printable("52:54:00"), "52:54:00");
        assert_eq!(printable("a\r\nb"), "a\\r\\nb");
        assert_eq!(printable("\u{1b}[31mred"), "\\u{1b}[31mred");
        assert_eq!(printable("nul\0"), "nul\\u{0}");
        assert_eq!(for_log("x\ny", 2), "x\\n...");
        assert!(!for_log("\u{85}\u{7f}", 64).chars().any(char::is_control));
    }

    proptest::proptest! {
        #[test]
        fn nothing_printable_has_a_control_character(text in ".*", max in 0usize..64) {
            let logged = for_log(&text, max);
            proptest::prop_assert!(!logged.chars().any(char::is_control));
            proptest::prop_assert!(cut(&text, max).len() <= max);
        }
    }
}
