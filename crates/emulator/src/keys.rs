//! The remote's keys by their HbbTV names (`VK_LEFT`, `VK_ENTER`, `VK_RED`, ...), with the key
//! codes a set-top box's browser delivers in `keydown` events.
//!
//! HbbTV (ETSI TS 102 796) takes its key events from OIPF DAE, which takes the names and codes
//! from CEA-2014 (CE-HTML) Annex F:
//!
//! | key | code | | key | code |
//! | --- | --- | --- | --- | --- |
//! | `VK_LEFT` | 37 | | `VK_RED` | 403 |
//! | `VK_UP` | 38 | | `VK_GREEN` | 404 |
//! | `VK_RIGHT` | 39 | | `VK_YELLOW` | 405 |
//! | `VK_DOWN` | 40 | | `VK_BLUE` | 406 |
//! | `VK_ENTER` (alias `VK_OK`) | 13 | | `VK_0` .. `VK_9` | 48 .. 57 |
//! | `VK_BACK` | 461 | | `VK_PAGE_UP` | 33 |
//! | `VK_INFO` | 457 | | `VK_PAGE_DOWN` | 34 |
//! | `VK_MENU` | 462 | | `VK_EXIT` | none |
//!
//! `VK_EXIT` has no CEA-2014 code: HbbTV reserves the EXIT key for the terminal, which closes
//! the application without delivering an event. The emulator plays the terminal's part, so it
//! takes EXIT as "leave the channel".
//!
//! On a command line the short names are accepted too (`LEFT`, `OK`, `ENTER`, `BACK`, `RED`,
//! `1`, `PAGE_UP`, ...), in any letter case.

use std::fmt;

use screen::document::Direction;
use screen::focus::Key;

/// A key of the remote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RemoteKey {
    Left,
    Right,
    Up,
    Down,
    /// `VK_ENTER`, the OK key.
    Enter,
    Back,
    Red,
    Green,
    Yellow,
    Blue,
    /// A digit key, 0 to 9 (only [`RemoteKey::parse`] and [`RemoteKey::digit`] make these, so
    /// the digit is always in range).
    Digit(u8),
    PageUp,
    PageDown,
    Info,
    Menu,
    Exit,
}

/// A key name that is none of the remote's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown key {given:?}; the remote's keys are: {}", valid_key_list())]
pub struct UnknownKey {
    /// What was given (at most 40 characters of it).
    pub given: String,
}

impl RemoteKey {
    /// Every key, in the order help texts list them.
    pub const ALL: [RemoteKey; 25] = [
        RemoteKey::Left,
        RemoteKey::Right,
        RemoteKey::Up,
        RemoteKey::Down,
        RemoteKey::Enter,
        RemoteKey::Back,
        RemoteKey::Red,
        RemoteKey::Green,
        RemoteKey::Yellow,
        RemoteKey::Blue,
        RemoteKey::Digit(0),
        RemoteKey::Digit(1),
        RemoteKey::Digit(2),
        RemoteKey::Digit(3),
        RemoteKey::Digit(4),
        RemoteKey::Digit(5),
        RemoteKey::Digit(6),
        RemoteKey::Digit(7),
        RemoteKey::Digit(8),
        RemoteKey::Digit(9),
        RemoteKey::PageUp,
        RemoteKey::PageDown,
        RemoteKey::Info,
        RemoteKey::Menu,
        RemoteKey::Exit,
    ];

    /// A digit key; `None` above 9.
    pub fn digit(d: u8) -> Option<RemoteKey> {
        (d <= 9).then_some(RemoteKey::Digit(d))
    }

    /// The HbbTV name, e.g. `VK_LEFT`.
    pub fn hbbtv_name(self) -> &'static str {
        const DIGITS: [&str; 10] = [
            "VK_0", "VK_1", "VK_2", "VK_3", "VK_4", "VK_5", "VK_6", "VK_7", "VK_8", "VK_9",
        ];
        match self {
            RemoteKey::Left => "VK_LEFT",
            RemoteKey::Right => "VK_RIGHT",
            RemoteKey::Up => "VK_UP",
            RemoteKey::Down => "VK_DOWN",
            RemoteKey::Enter => "VK_ENTER",
            RemoteKey::Back => "VK_BACK",
            RemoteKey::Red => "VK_RED",
            RemoteKey::Green => "VK_GREEN",
            RemoteKey::Yellow => "VK_YELLOW",
            RemoteKey::Blue => "VK_BLUE",
            RemoteKey::Digit(d) => DIGITS.get(usize::from(d)).copied().unwrap_or("VK_?"),
            RemoteKey::PageUp => "VK_PAGE_UP",
            RemoteKey::PageDown => "VK_PAGE_DOWN",
            RemoteKey::Info => "VK_INFO",
            RemoteKey::Menu => "VK_MENU",
            RemoteKey::Exit => "VK_EXIT",
        }
    }

    /// The short name accepted on the command line, e.g. `LEFT`, `OK`, `1`.
    pub fn short_name(self) -> &'static str {
        const DIGITS: [&str; 10] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];
        match self {
            RemoteKey::Enter => "OK",
            RemoteKey::Digit(d) => DIGITS.get(usize::from(d)).copied().unwrap_or("?"),
            other => other.hbbtv_name().trim_start_matches("VK_"),
        }
    }

    /// The `keyCode` of the key's `keydown` event (CEA-2014 Annex F); `None` for EXIT, which
    /// the terminal keeps for itself.
    pub fn code(self) -> Option<u16> {
        Some(match self {
            RemoteKey::Left => 37,
            RemoteKey::Up => 38,
            RemoteKey::Right => 39,
            RemoteKey::Down => 40,
            RemoteKey::Enter => 13,
            RemoteKey::Back => 461,
            RemoteKey::Red => 403,
            RemoteKey::Green => 404,
            RemoteKey::Yellow => 405,
            RemoteKey::Blue => 406,
            RemoteKey::Digit(d) => 48 + u16::from(d.min(9)),
            RemoteKey::PageUp => 33,
            RemoteKey::PageDown => 34,
            RemoteKey::Info => 457,
            RemoteKey::Menu => 462,
            RemoteKey::Exit => return None,
        })
    }

    /// The key with this `keyCode`, if the remote has one.
    pub fn from_code(code: u16) -> Option<RemoteKey> {
        RemoteKey::ALL.into_iter().find(|k| k.code() == Some(code))
    }

    /// Parses a key name: the HbbTV name (`VK_LEFT`, `VK_OK` for `VK_ENTER`) or the short one
    /// (`LEFT`, `OK`, `ENTER`, `RED`, `1`, `PAGE_UP`), in any letter case.
    pub fn parse(name: &str) -> Result<RemoteKey, UnknownKey> {
        let upper = name.trim().to_ascii_uppercase();
        let short = upper.strip_prefix("VK_").unwrap_or(&upper);
        let key = match short {
            "OK" | "ENTER" => Some(RemoteKey::Enter),
            "PAGEUP" => Some(RemoteKey::PageUp),
            "PAGEDOWN" => Some(RemoteKey::PageDown),
            _ => RemoteKey::ALL
                .into_iter()
                .find(|k| k.hbbtv_name().trim_start_matches("VK_") == short),
        };
        key.ok_or_else(|| UnknownKey {
            given: name.chars().take(40).collect(),
        })
    }

    /// What the navigator (`screen::focus`) calls this key.
    pub fn to_nav_key(self) -> Key {
        match self {
            RemoteKey::Left => Key::Arrow(Direction::Left),
            RemoteKey::Right => Key::Arrow(Direction::Right),
            RemoteKey::Up => Key::Arrow(Direction::Up),
            RemoteKey::Down => Key::Arrow(Direction::Down),
            RemoteKey::Enter => Key::Ok,
            RemoteKey::Back => Key::Back,
            RemoteKey::Red => Key::Red,
            RemoteKey::Green => Key::Green,
            RemoteKey::Yellow => Key::Yellow,
            RemoteKey::Blue => Key::Blue,
            RemoteKey::Digit(d) => Key::Digit(d),
            RemoteKey::PageUp => Key::PageUp,
            RemoteKey::PageDown => Key::PageDown,
            RemoteKey::Info => Key::Info,
            RemoteKey::Menu => Key::Menu,
            RemoteKey::Exit => Key::Exit,
        }
    }
}

impl fmt::Display for RemoteKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.hbbtv_name())
    }
}

impl std::str::FromStr for RemoteKey {
    type Err = UnknownKey;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RemoteKey::parse(s)
    }
}

/// Parses a sequence of key names separated by white space or commas (`"DOWN DOWN OK RED OK"`).
/// The first unknown name refuses the whole sequence, so a typo never runs half a session.
pub fn parse_sequence(text: &str) -> Result<Vec<RemoteKey>, UnknownKey> {
    text.split(|c: char| c.is_whitespace() || c == ',')
        .filter(|s| !s.is_empty())
        .map(RemoteKey::parse)
        .collect()
}

/// Every key's HbbTV name with its short name and code, for error messages and help.
pub fn valid_key_list() -> String {
    RemoteKey::ALL
        .iter()
        .map(|k| match k.code() {
            Some(code) => format!("{} ({}, {code})", k.hbbtv_name(), k.short_name()),
            None => format!("{} ({})", k.hbbtv_name(), k.short_name()),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hbbtv_names_short_names_and_codes_parse_to_the_same_key() {
        for key in RemoteKey::ALL {
            assert_eq!(RemoteKey::parse(key.hbbtv_name()), Ok(key));
            assert_eq!(RemoteKey::parse(key.short_name()), Ok(key));
            assert_eq!(RemoteKey::parse(&key.hbbtv_name().to_lowercase()), Ok(key));
            if let Some(code) = key.code() {
                assert_eq!(RemoteKey::from_code(code), Some(key));
            }
        }
        assert_eq!(RemoteKey::parse("VK_OK"), Ok(RemoteKey::Enter));
        assert_eq!(RemoteKey::parse("ok"), Ok(RemoteKey::Enter));
        assert_eq!(RemoteKey::parse("Enter"), Ok(RemoteKey::Enter));
        assert_eq!(RemoteKey::parse("7"), Ok(RemoteKey::Digit(7)));
        assert_eq!(RemoteKey::Digit(7).code(), Some(55));
        assert_eq!(RemoteKey::Left.code(), Some(37));
        assert_eq!(RemoteKey::Back.code(), Some(461));
        assert_eq!(RemoteKey::Red.code(), Some(403));
        assert_eq!(RemoteKey::Exit.code(), None);
    }

    #[test]
    fn an_unknown_key_is_refused_with_the_list_of_valid_keys() {
        let err = RemoteKey::parse("VK_POWER").err();
        let text = err.map(|e| e.to_string()).unwrap_or_default();
        assert!(text.contains("\"VK_POWER\""), "{text}");
        assert!(text.contains("VK_LEFT (LEFT, 37)"), "{text}");
        assert!(text.contains("VK_EXIT (EXIT)"), "{text}");
        for bad in ["", "10", "VK_", "VK_10", "RED2", "左"] {
            assert!(RemoteKey::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn sequences_split_on_spaces_and_commas_and_refuse_as_a_whole() {
        assert_eq!(
            parse_sequence("DOWN DOWN,OK  RED\tVK_OK"),
            Ok(vec![
                RemoteKey::Down,
                RemoteKey::Down,
                RemoteKey::Enter,
                RemoteKey::Red,
                RemoteKey::Enter
            ])
        );
        assert_eq!(parse_sequence("  "), Ok(vec![]));
        assert!(parse_sequence("DOWN DWON OK").is_err());
    }
}
