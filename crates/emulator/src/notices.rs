//! Notices as the bundle carries them (the hot `notices/` files), and the pure function that
//! turns them plus the community's cold screen data into the screen data **one box** shows:
//! its own grid's notices, within their validity at its clock, the urgent ones also in
//! `urgent_notices` (the banner over the home screen).
//!
//! The bundle carries every notice in force for the whole community, each with its target
//! grids and window, so that one broadcast serves every grid and a box needs no new bundle when
//! a notice's window opens or closes. Updates and cancellations (CAP 1.2) were resolved by the
//! headend when it built the bundle: a notice in the file is one to show.
//!
//! A notices file is JSON: `{"format": 1, "notices": [record, ...]}`, a record being
//!
//! ```json
//! {"id": 7, "grids": [1], "title": "3至5栋停水检修通知", "body": "...", "urgency": "urgent",
//!  "valid_from": 1795708800, "valid_until": 1795795200, "sent_at": 1795705200, "author": "李敏"}
//! ```
//!
//! Times are Unix seconds (UTC). Fields a newer headend adds are ignored; a missing or
//! mistyped field refuses the file.

use consult::time::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// The notices file format this code reads and writes.
pub const FORMAT: u32 = 1;

/// One notice, as the bundle carries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoticeRecord {
    pub id: i64,
    /// The grids (ids, as in the screen data's `grids`) the grid worker sent it to.
    pub grids: Vec<i64>,
    pub title: String,
    pub body: String,
    pub urgency: Urgency,
    /// Shown from this time (inclusive), Unix seconds.
    pub valid_from: i64,
    /// Shown until this time (exclusive), Unix seconds.
    pub valid_until: i64,
    /// When the grid worker sent it, Unix seconds: notices are listed newest first.
    pub sent_at: i64,
    /// The grid worker's name.
    pub author: String,
}

/// Normal, or urgent (a banner over the home screen).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Urgency {
    Normal,
    Urgent,
}

/// A notices file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoticesFile {
    pub format: u32,
    pub notices: Vec<NoticeRecord>,
}

impl NoticesFile {
    /// A file of these notices.
    pub fn new(notices: Vec<NoticeRecord>) -> NoticesFile {
        NoticesFile {
            format: FORMAT,
            notices,
        }
    }

    /// The file's bytes (compact JSON).
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Parses a notices file.
    pub fn parse(bytes: &[u8]) -> Result<NoticesFile, String> {
        let file: NoticesFile = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        if file.format != FORMAT {
            return Err(format!(
                "notices format {}; this emulator reads format {FORMAT}",
                file.format
            ));
        }
        Ok(file)
    }
}

impl NoticeRecord {
    /// Whether a box in `grid` shows this notice at `at`: sent to its grid, already sent,
    /// and inside its window.
    pub fn shown(&self, grid: i64, at: i64) -> bool {
        self.grids.contains(&grid)
            && self.sent_at <= at
            && self.valid_from <= at
            && at < self.valid_until
    }
}

impl NoticeRecord {
    /// The record of a domain notice (an alert or update in force; see [`records_in_force`]).
    pub fn from_notice(n: &consult::notice::Notice) -> NoticeRecord {
        NoticeRecord {
            id: n.id.0,
            grids: n.draft.grids.iter().map(|g| g.0).collect(),
            title: n.draft.title.clone(),
            body: n.draft.body.clone(),
            urgency: match n.draft.urgency {
                consult::notice::Urgency::Normal => Urgency::Normal,
                consult::notice::Urgency::Urgent => Urgency::Urgent,
            },
            valid_from: n.draft.valid_from.0,
            valid_until: n.draft.valid_until.0,
            sent_at: n.sent_at.0,
            author: n.author.clone(),
        }
    }
}

/// What a bundle built at `at` carries: the community's notices still in force then
/// (`consult::notice::current`: updates and cancellations applied, windows not yet over,
/// including windows not yet begun, which boxes open themselves), for every grid.
pub fn records_in_force(notices: &[consult::notice::Notice], at: i64) -> Vec<NoticeRecord> {
    consult::notice::current(notices, Timestamp(at))
        .into_iter()
        .map(NoticeRecord::from_notice)
        .collect()
}

/// The screen data a box in `grid` shows at `at` (Unix seconds): `cold` (the community's
/// screen data without notices, see `docs/screens.md`) with `notices` and `urgent_notices`
/// made from the notices it shows, newest first. Pure: the same inputs give the same data.
///
/// Display strings follow the headend's (`channel`): the time as `2026-11-27 19:30` (China
/// Standard Time), the target grids by name joined with `、`, the sender as `网格员 NAME`.
pub fn box_data(cold: &Value, notices: &[NoticeRecord], grid: i64, at: i64) -> Value {
    let mut data = match cold {
        Value::Object(_) => cold.clone(),
        _ => json!({}),
    };
    let grid_name = |id: i64| -> Option<String> {
        cold.get("grids")?
            .as_array()?
            .iter()
            .find(|g| g.get("id").and_then(Value::as_i64) == Some(id))?
            .get("name")?
            .as_str()
            .map(str::to_owned)
    };
    let mut shown: Vec<&NoticeRecord> = notices.iter().filter(|n| n.shown(grid, at)).collect();
    shown.sort_by_key(|n| std::cmp::Reverse((n.sent_at, n.id)));
    let urgent: Vec<Value> = shown
        .iter()
        .filter(|n| n.urgency == Urgency::Urgent)
        .map(|n| json!({"id": n.id, "title": n.title}))
        .collect();
    let list: Vec<Value> = shown
        .iter()
        .map(|n| {
            json!({
                "id": n.id,
                "title": n.title,
                "body": n.body,
                "time": Timestamp(n.sent_at).to_display(),
                "grid": n.grids.iter().filter_map(|g| grid_name(*g)).collect::<Vec<_>>().join("、"),
                "from": format!("网格员 {}", n.author),
                "urgent": n.urgency == Urgency::Urgent,
            })
        })
        .collect();
    if let Value::Object(map) = &mut data {
        map.insert("urgent_notices".into(), Value::Array(urgent));
        map.insert("notices".into(), Value::Array(list));
    }
    data
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notice(id: i64, grids: &[i64], urgency: Urgency, from: i64, until: i64) -> NoticeRecord {
        NoticeRecord {
            id,
            grids: grids.to_vec(),
            title: format!("通知{id}"),
            body: "正文".into(),
            urgency,
            valid_from: from,
            valid_until: until,
            sent_at: from - 100 + id,
            author: "李敏".into(),
        }
    }

    fn cold() -> Value {
        json!({
            "channel": "有事好商量",
            "grids": [{"id": 1, "name": "第一网格"}, {"id": 2, "name": "第二网格"}],
            "notices": [{"id": 99, "title": "stale, from the headend's own view"}],
            "topics": [],
        })
    }

    fn ids(v: &Value, key: &str) -> Vec<i64> {
        v[key]
            .as_array()
            .map(|a| a.iter().filter_map(|n| n["id"].as_i64()).collect())
            .unwrap_or_default()
    }

    #[test]
    fn a_box_shows_only_its_grids_notices_inside_their_window() {
        let notices = vec![
            notice(1, &[1], Urgency::Urgent, 1000, 2000),
            notice(2, &[2], Urgency::Urgent, 1000, 2000),
            notice(3, &[1, 2], Urgency::Normal, 1000, 2000),
            notice(4, &[1], Urgency::Normal, 3000, 4000),
        ];
        let grid1 = box_data(&cold(), &notices, 1, 1500);
        assert_eq!(
            ids(&grid1, "notices"),
            vec![3, 1],
            "newest first, grid 1 only"
        );
        assert_eq!(ids(&grid1, "urgent_notices"), vec![1]);
        assert_eq!(grid1["notices"][0]["grid"], "第一网格、第二网格");
        assert_eq!(grid1["notices"][1]["from"], "网格员 李敏");
        assert_eq!(grid1["channel"], "有事好商量", "cold data is kept");

        let grid2 = box_data(&cold(), &notices, 2, 1500);
        assert_eq!(ids(&grid2, "notices"), vec![3, 2]);
        assert_eq!(ids(&grid2, "urgent_notices"), vec![2]);

        // Before the window, at its end (exclusive), and for a grid nobody wrote to: nothing.
        assert_eq!(
            ids(&box_data(&cold(), &notices, 1, 999), "notices"),
            Vec::<i64>::new()
        );
        assert_eq!(
            ids(&box_data(&cold(), &notices, 1, 2000), "notices"),
            Vec::<i64>::new()
        );
        assert_eq!(
            ids(&box_data(&cold(), &notices, 1, 3500), "notices"),
            vec![4]
        );
        assert_eq!(
            ids(&box_data(&cold(), &notices, 9, 1500), "notices"),
            Vec::<i64>::new()
        );
    }

    #[test]
    fn domain_notices_become_records_with_cancellations_applied() {
        use consult::ids::{CommunityId, GridId, NoticeId};
        use consult::notice::{MessageType, Notice, NoticeDraft};
        let draft = |kind, references| NoticeDraft {
            community: CommunityId(1),
            grids: vec![GridId(2)],
            title: "停水通知".into(),
            body: "3至5幢停水检修。".into(),
            urgency: consult::notice::Urgency::Urgent,
            message_type: kind,
            references,
            valid_from: Timestamp(1000),
            valid_until: Timestamp(5000),
        };
        let n = |id, sent, d| Notice {
            id: NoticeId(id),
            author: "李芳".into(),
            sent_at: Timestamp(sent),
            draft: d,
        };
        let all = vec![
            n(1, 900, draft(MessageType::Alert, None)),
            n(2, 1200, draft(MessageType::Cancel, Some(NoticeId(1)))),
        ];
        let before = records_in_force(&all, 1100);
        assert_eq!(before.len(), 1);
        assert_eq!(
            (before[0].id, before[0].grids.clone(), before[0].urgency),
            (1, vec![2], Urgency::Urgent)
        );
        assert!(records_in_force(&all, 1300).is_empty(), "cancelled");
    }

    #[test]
    fn a_notice_not_yet_sent_at_the_boxs_clock_is_not_shown() {
        let mut n = notice(1, &[1], Urgency::Normal, 1000, 2000);
        n.sent_at = 1600;
        assert!(!n.shown(1, 1500));
        assert!(n.shown(1, 1600));
    }

    #[test]
    fn the_file_round_trips_and_refuses_other_formats_and_missing_fields() {
        let file = NoticesFile::new(vec![notice(1, &[1], Urgency::Urgent, 1000, 2000)]);
        assert_eq!(NoticesFile::parse(&file.to_json()), Ok(file.clone()));
        assert!(NoticesFile::parse(br#"{"format":2,"notices":[]}"#).is_err());
        assert!(NoticesFile::parse(br#"{"format":1,"notices":[{"id":1}]}"#).is_err());
        assert!(NoticesFile::parse(b"[]").is_err());
        // Unknown fields from a newer headend are ignored.
        let mut v: Value = serde_json::from_slice(&file.to_json()).unwrap();
        v["notices"][0]["colour"] = json!("red");
        v["generator"] = json!("shangyi 2");
        assert!(NoticesFile::parse(v.to_string().as_bytes()).is_ok());
    }
}
