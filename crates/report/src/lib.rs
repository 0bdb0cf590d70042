//! A topic's consultation record, published: as XML for other systems, and as a printable HTML
//! report with an SVG bar chart of the tally and participation by grid.
//!
//! Pure: the caller reads the record, tally and places from the store and passes them in as a
//! [`RecordView`]. Participation by grid goes through [`consult::vote::participation_by_grid`],
//! so no grid with fewer than five voters is shown on its own.
//!
//! ```
//! use consult::record::{Actor, ActorRole, RecordWriter, StoredEntry};
//! use consult::topic::{Category, TopicDraft};
//! use consult::vote::{Ballot, EligibleArea, Tally};
//! use consult::ids::{CommunityId, RoomId, TopicId};
//!
//! let draft = TopicDraft {
//!     room: RoomId(1), title: "加装电梯".into(), summary: "六层住宅加装电梯。".into(),
//!     category: Category::Elevators,
//!     eligible: EligibleArea::Community { community: CommunityId(1) },
//!     ballot: Ballot::approve_oppose_abstain(),
//! };
//! let convener = Actor { role: ActorRole::Convener, name: "王建华".into() };
//! let (writer, entry) = RecordWriter::propose(TopicId(1), draft, consult::Timestamp(0), convener).unwrap();
//! let tally = Tally::from_counts(&writer.topic.ballot, vec![], Default::default(), 10);
//! let view = report::RecordView {
//!     topic: &writer.topic, room: "议事室", entries: &[StoredEntry::from_chained(&entry)],
//!     tally: &tally, grids: &[], verified: Some(writer.head.to_hex()),
//! };
//! assert!(report::to_html(&view).contains("加装电梯"));
//! assert!(report::to_xml(&view).starts_with("<?xml"));
//! ```

use consult::ids::GridId;
use consult::record::{Fact, StoredEntry};
use consult::time::Timestamp;
use consult::topic::Topic;
use consult::vote::{self, Tally};
use quick_xml::escape::escape;
use std::fmt::Write as _;

/// Everything a published record shows.
pub struct RecordView<'a> {
    pub topic: &'a Topic,
    /// The room's name.
    pub room: &'a str,
    /// The record as stored, in sequence order.
    pub entries: &'a [StoredEntry],
    pub tally: &'a Tally,
    /// The eligible area's grids: id, name, households.
    pub grids: &'a [(GridId, String, u64)],
    /// The record's head hash when it verified; `None` when verification failed.
    pub verified: Option<String>,
}

/// What an entry says, in Chinese, for people: a heading and a detail.
pub fn describe(fact: &Fact) -> (String, String) {
    match fact {
        Fact::Proposed {
            title,
            summary,
            category,
            ..
        } => (
            "提出议题".into(),
            format!("【{}】{title}：{summary}", category.label()),
        ),
        Fact::Transition {
            step,
            note,
            details,
            ..
        } => {
            let mut detail = note.clone();
            if let (Some(session), Some(voting)) = (&details.session, &details.voting) {
                let _ = write!(
                    detail,
                    " 会议：{}，{}；电视投票：{} 至 {}",
                    session.starts_at.to_display(),
                    session.place,
                    voting.opens_at.to_display(),
                    voting.closes_at.to_display()
                );
            }
            if let Some(consensus) = &details.consensus {
                let _ = write!(detail, " 共识：{consensus}");
            }
            if let Some(tally) = &details.tally {
                let _ = write!(detail, " 表决结果：{}", tally_line(tally));
            }
            if let Some(feedback) = &details.feedback {
                let _ = write!(detail, " 反馈：{feedback}");
            }
            (step.label().into(), detail.trim().into())
        }
        Fact::ResearchFinding {
            title,
            text,
            materials,
        } => {
            let mut detail = format!("{title}：{text}");
            if !materials.is_empty() {
                let _ = write!(detail, "（附件：{}）", materials.join("、"));
            }
            ("商前调研".into(), detail)
        }
        Fact::Minutes { text } => ("会议纪要".into(), text.clone()),
        Fact::TallySnapshot { tally, reason } => (
            "表决快照".into(),
            format!("{reason}：{}", tally_line(tally)),
        ),
        Fact::CommentDecision {
            text, moderation, ..
        } => {
            let verdict = match moderation {
                consult::comment::Moderation::Accepted => "采纳展示".to_owned(),
                consult::comment::Moderation::Rejected { reason } => {
                    format!("不予展示（{reason}）")
                }
                consult::comment::Moderation::Pending => "待审核".to_owned(),
            };
            ("留言审核".into(), format!("“{text}” — {verdict}"))
        }
        Fact::ProgressUpdate { percent, text } => {
            ("成果转化进度".into(), format!("{percent}%：{text}"))
        }
    }
}

fn tally_line(tally: &Tally) -> String {
    let options: Vec<String> = tally
        .options
        .iter()
        .map(|o| format!("{} {}", o.label, o.count))
        .collect();
    format!(
        "{}（参与 {} 户，共 {} 户）",
        options.join("，"),
        tally.voters,
        tally.eligible_households
    )
}

/// The record as XML: the topic, then every entry with its chain hashes and its fact as the
/// canonical JSON that was hashed, so a reader can re-verify the chain from this file alone.
pub fn to_xml(view: &RecordView<'_>) -> String {
    let t = view.topic;
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<consultation-record topic=\"{}\" stage=\"{}\" category=\"{}\" verified=\"{}\"{}>",
        t.id,
        t.stage.as_str(),
        t.category.as_str(),
        view.verified.is_some(),
        view.verified
            .as_ref()
            .map(|h| format!(" head=\"{h}\""))
            .unwrap_or_default()
    );
    let _ = writeln!(out, "  <title>{}</title>", escape(t.title.as_str()));
    let _ = writeln!(out, "  <room>{}</room>", escape(view.room));
    let _ = writeln!(out, "  <summary>{}</summary>", escape(t.summary.as_str()));
    let _ = writeln!(
        out,
        "  <tally voters=\"{}\" eligible-households=\"{}\">",
        view.tally.voters, view.tally.eligible_households
    );
    for option in &view.tally.options {
        let _ = writeln!(
            out,
            "    <option key=\"{}\" count=\"{}\">{}</option>",
            escape(option.key.as_str()),
            option.count,
            escape(option.label.as_str())
        );
    }
    out.push_str("  </tally>\n  <entries>\n");
    for e in view.entries {
        let _ = writeln!(
            out,
            "    <entry seq=\"{}\" at=\"{}\" actor-role=\"{}\" actor-name=\"{}\" prev-hash=\"{}\" hash=\"{}\">",
            e.seq,
            Timestamp(e.at).to_rfc3339(),
            escape(e.actor_role.as_str()),
            escape(e.actor_name.as_str()),
            escape(e.prev_hash.as_str()),
            escape(e.hash.as_str())
        );
        if let Ok(fact) = serde_json::from_str::<Fact>(&e.fact) {
            let (heading, detail) = describe(&fact);
            let _ = writeln!(
                out,
                "      <summary kind=\"{}\">{}：{}</summary>",
                fact.kind(),
                escape(heading.as_str()),
                escape(detail.as_str())
            );
        }
        let _ = writeln!(
            out,
            "      <fact format=\"canonical-json\">{}</fact>",
            escape(e.fact.as_str())
        );
        out.push_str("    </entry>\n");
    }
    out.push_str("  </entries>\n</consultation-record>\n");
    out
}

const BAR_COLOURS: [&str; 6] = [
    "#d93a35", "#2e9e4f", "#e0a800", "#2f6fd6", "#7a4fc2", "#6b7280",
];

/// An SVG bar chart: one labelled bar per row, values against `max`.
fn bar_chart(rows: &[(String, f64, String)], max: f64, single_colour: Option<&str>) -> String {
    let row_height = 36.0;
    let width = 640.0;
    let label_width = 150.0;
    let bar_width = 360.0;
    let height = row_height * rows.len() as f64 + 8.0;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" role=\"img\">"
    );
    for (i, (label, value, caption)) in rows.iter().enumerate() {
        let y = 4.0 + row_height * i as f64;
        let w = if max > 0.0 {
            (value / max).clamp(0.0, 1.0) * bar_width
        } else {
            0.0
        };
        let colour = single_colour.unwrap_or(BAR_COLOURS[i % BAR_COLOURS.len()]);
        let _ = write!(
            svg,
            "<text x=\"0\" y=\"{ty}\" font-size=\"16\">{label}</text>\
             <rect x=\"{label_width}\" y=\"{y}\" width=\"{bar_width}\" height=\"24\" fill=\"#e5e7eb\"/>\
             <rect x=\"{label_width}\" y=\"{y}\" width=\"{w:.1}\" height=\"24\" fill=\"{colour}\"/>\
             <text x=\"{cx}\" y=\"{ty}\" font-size=\"16\">{caption}</text>",
            ty = y + 18.0,
            label = escape(label.as_str()),
            caption = escape(caption.as_str()),
            cx = label_width + bar_width + 10.0,
        );
    }
    svg.push_str("</svg>");
    svg
}

/// A printable HTML report: the topic, the tally as an SVG bar chart, participation by grid
/// (small groups withheld), every record entry, and whether the record verified.
pub fn to_html(view: &RecordView<'_>) -> String {
    let t = view.topic;
    let mut html = String::new();
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>协商记录：{title}</title>\
         <style>body{{font-family:'Noto Sans CJK SC','Noto Sans SC',sans-serif;max-width:900px;margin:2em auto;color:#111;line-height:1.6}}\
         h1{{font-size:1.6em}} table{{border-collapse:collapse;width:100%}} td,th{{border:1px solid #ccc;padding:6px;vertical-align:top;text-align:left}}\
         .ok{{color:#166534}} .bad{{color:#b91c1c}} .hash{{font-family:monospace;font-size:.8em;word-break:break-all}}\
         @media print{{body{{margin:0}} .no-print{{display:none}}}}</style></head><body>",
        title = escape(t.title.as_str())
    );
    let _ = write!(
        html,
        "<h1>协商记录：{}</h1><p>{} · 类别：{} · 当前阶段：<strong>{}</strong>（{}）</p><p>{}</p>",
        escape(t.title.as_str()),
        escape(view.room),
        t.category.label(),
        t.stage.label(),
        t.stage.as_str(),
        escape(t.summary.as_str())
    );
    match &view.verified {
        Some(head) => {
            let _ = write!(
                html,
                "<p class=\"ok\">✓ 记录完整：共 {} 条，哈希链校验通过。记录头：<span class=\"hash\">{head}</span></p>",
                view.entries.len()
            );
        }
        None => html.push_str("<p class=\"bad\">× 记录校验未通过：记录可能被篡改，请勿采信。</p>"),
    }
    let tally = view.tally;
    let _ = write!(
        html,
        "<h2>表决结果</h2><p>参与 {} 户 / 共 {} 户，参与率 {:.1}%</p>",
        tally.voters,
        tally.eligible_households,
        tally.turnout_percent()
    );
    let rows: Vec<(String, f64, String)> = tally
        .options
        .iter()
        .map(|o| {
            let p = if tally.voters == 0 {
                0.0
            } else {
                o.count as f64 * 100.0 / tally.voters as f64
            };
            (
                o.label.clone(),
                o.count as f64,
                format!("{} 票 {p:.1}%", o.count),
            )
        })
        .collect();
    html.push_str(&bar_chart(&rows, tally.voters as f64, None));
    let (lines, withheld) = vote::participation_by_grid(tally, view.grids);
    html.push_str("<h2>各网格参与率</h2>");
    if lines.is_empty() {
        html.push_str("<p>暂无可公开的分网格数据。</p>");
    } else {
        let rows: Vec<(String, f64, String)> = lines
            .iter()
            .map(|l| {
                (
                    l.label.clone(),
                    l.percent(),
                    format!("{}/{} 户 {:.1}%", l.voted, l.households, l.percent()),
                )
            })
            .collect();
        html.push_str(&bar_chart(&rows, 100.0, Some("#2f6fd6")));
    }
    if withheld {
        let _ = write!(
            html,
            "<p>为保护隐私，参与少于 {} 户的网格合并显示；合并后仍少于 {} 户的不显示。</p>",
            vote::MIN_GROUP,
            vote::MIN_GROUP
        );
    }
    html.push_str("<h2>协商过程</h2><table><tr><th>#</th><th>时间</th><th>事项</th><th>内容</th><th>记录人</th></tr>");
    for e in view.entries {
        let (heading, detail) = match serde_json::from_str::<Fact>(&e.fact) {
            Ok(fact) => describe(&fact),
            Err(_) => ("无法解读".into(), e.fact.clone()),
        };
        let _ = write!(
            html,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            e.seq,
            Timestamp(e.at).to_display(),
            escape(heading.as_str()),
            escape(detail.as_str()),
            escape(e.actor_name.as_str())
        );
    }
    html.push_str("</table></body></html>\n");
    html
}
