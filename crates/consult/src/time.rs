//! Points in time, passed in by callers: the domain never reads a clock.
//!
//! Times are whole seconds since the Unix epoch (UTC). They are shown in China Standard Time
//! (UTC+8), the time every household and convener lives in.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Seconds since 1970-01-01T00:00:00Z.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timestamp(pub i64);

/// UTC+8, China Standard Time, in seconds.
const CHINA_OFFSET_SECONDS: i32 = 8 * 3600;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{text:?} is not a time: write it as RFC 3339, e.g. 2026-11-27T19:30:00+08:00")]
pub struct TimeParseError {
    pub text: String,
}

impl Timestamp {
    pub const fn seconds(self) -> i64 {
        self.0
    }

    pub const fn plus_seconds(self, seconds: i64) -> Timestamp {
        Timestamp(self.0.saturating_add(seconds))
    }

    /// Parses an RFC 3339 time such as `2026-11-27T19:30:00+08:00` or `2026-11-27T11:30:00Z`.
    pub fn parse(text: &str) -> Result<Timestamp, TimeParseError> {
        chrono::DateTime::parse_from_rfc3339(text.trim())
            .map(|t| Timestamp(t.timestamp()))
            .map_err(|_| TimeParseError {
                text: text.chars().take(60).collect(),
            })
    }

    /// RFC 3339 in China Standard Time, e.g. `2026-11-27T19:30:00+08:00`.
    pub fn to_rfc3339(self) -> String {
        match self.in_china() {
            Some(t) => t.to_rfc3339(),
            None => format!("@{}", self.0),
        }
    }

    /// The way screens and reports show a time: `2026-11-27 19:30`.
    pub fn to_display(self) -> String {
        match self.in_china() {
            Some(t) => t.format("%Y-%m-%d %H:%M").to_string(),
            None => format!("@{}", self.0),
        }
    }

    /// A date as screens show it: `11月27日`.
    pub fn to_month_day(self) -> String {
        match self.in_china() {
            Some(t) => t.format("%-m月%-d日").to_string(),
            None => format!("@{}", self.0),
        }
    }

    /// A date and time as screens show it: `2026年11月28日（周六）18:00`.
    pub fn to_long_display(self) -> String {
        use chrono::Datelike;
        const WEEKDAYS: [&str; 7] = ["周一", "周二", "周三", "周四", "周五", "周六", "周日"];
        match self.in_china() {
            Some(t) => {
                let weekday = WEEKDAYS[t.weekday().num_days_from_monday() as usize];
                format!(
                    "{}（{weekday}）{}",
                    t.format("%Y年%-m月%-d日"),
                    t.format("%H:%M")
                )
            }
            None => format!("@{}", self.0),
        }
    }

    fn in_china(self) -> Option<chrono::DateTime<chrono::FixedOffset>> {
        let offset = chrono::FixedOffset::east_opt(CHINA_OFFSET_SECONDS)?;
        chrono::DateTime::from_timestamp(self.0, 0).map(|t| t.with_timezone(&offset))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_shows_china_time() {
        let t = Timestamp::parse("2026-11-27T19:30:00+08:00").unwrap_or(Timestamp(0));
        assert_eq!(t, Timestamp(1_795_779_000));
        assert_eq!(t.to_rfc3339(), "2026-11-27T19:30:00+08:00");
        assert_eq!(t.to_display(), "2026-11-27 19:30");
        assert_eq!(Timestamp::parse("2026-11-27T11:30:00Z"), Ok(t));
        assert_eq!(t.to_month_day(), "11月27日");
        assert_eq!(t.to_long_display(), "2026年11月27日（周五）19:30");
    }

    #[test]
    fn refuses_garbage() {
        assert!(Timestamp::parse("yesterday").is_err());
        assert!(Timestamp::parse("").is_err());
    }
}
