//! Synthetic but realistic bundle input, shared by the tests and the benchmark: layout
//! documents shaped like `docs/screens.md` describes (3-6 KB each, both themes), topics,
//! tallies, comments and notices. Seeded (SplitMix64), so every run makes the same bytes.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Command;

use bundle::{BundleInput, Community, Grid, InputFile, Sha256};

/// SplitMix64: the same numbers forever, whatever a dependency does.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    pub fn pick<'a>(&mut self, list: &[&'a str]) -> &'a str {
        list[self.below(list.len() as u64) as usize]
    }
}

const PHRASES: &[&str] = &[
    "有事好商量",
    "加装电梯",
    "停车位改造",
    "电动车充电桩",
    "居民活动空间",
    "老旧小区改造",
    "垃圾分类",
    "黑臭水体整治",
    "协商议事室",
    "商前调研",
    "成果转化",
    "赞成",
    "反对",
    "弃权",
    "全部议题",
    "通知公告",
    "使用帮助",
    "第一网格",
    "第二网格",
    "12号楼 6楼住户",
    "请于本周六上午九点到社区议事室参加协商",
    "本议题经社区党委确认后进入协商程序",
    "感谢各位居民的积极参与和宝贵意见",
];

const SCREENS: &[&str] = &[
    "home",
    "topic-list",
    "topic-detail-101",
    "topic-detail-102",
    "topic-detail-103",
    "ballot-101",
    "ballot-102",
    "vote-confirm-101-approve",
    "vote-receipt-101-approve",
    "comment-entry-101",
    "comment-receipt-101",
    "comments-101",
    "results-101",
    "results-102",
    "notices",
    "notice-detail-1",
    "notice-detail-2",
    "progress-102",
    "help",
    "topic-list-p2",
];

fn colour(rng: &mut Rng) -> String {
    let palette = [
        "#0b2a4a", "#ffffff", "#c8102e", "#1f7a3a", "#f2b705", "#1c4fa0", "#e6e6e6",
    ];
    palette[rng.below(palette.len() as u64) as usize].to_string()
}

/// One layout document of roughly `target` bytes.
pub fn layout_document(rng: &mut Rng, screen: &str, theme: &str, target: usize) -> String {
    let scale = if theme == "elders" { 3 } else { 2 };
    let mut nodes = Vec::new();
    let mut focusables = Vec::new();
    let mut out_len = 0usize;
    let mut i = 0;
    while out_len < target.saturating_sub(400) {
        let x = rng.below(1100);
        let y = rng.below(640);
        let w = 80 + rng.below(400);
        let h = 14 * scale + rng.below(40);
        let node = if i % 3 == 0 {
            format!(
                r#"{{"kind":"rect","id":"b{i}","x":{x},"y":{y},"w":{w},"h":{h},"fill":"{}","stroke":"{}","stroke_width":2,"radius":8}}"#,
                colour(rng),
                colour(rng)
            )
        } else {
            let text = format!("{}{}", rng.pick(PHRASES), rng.pick(PHRASES));
            format!(
                r#"{{"kind":"text","x":{x},"y":{y},"w":{w},"h":{h},"size":{},"line_height":{},"weight":"{}","color":"{}","lines":[{{"text":"{text}","x":{x},"baseline":{},"width":{}}}]}}"#,
                12 * scale,
                16 * scale,
                if rng.below(4) == 0 { "bold" } else { "regular" },
                colour(rng),
                y + 12 * scale,
                w - rng.below(40)
            )
        };
        if i % 3 == 0 {
            focusables.push(format!(
                r#"{{"id":"b{i}","x":{x},"y":{y},"w":{w},"h":{h},"action":{{"type":"open_screen","screen":"{}"}},"nav":{{"up":{{"kind":"focus","id":"b{}"}},"down":{{"kind":"focus","id":"b{}"}}}},"container":"menu"}}"#,
                rng.pick(&["home", "topic-list", "notices", "help"]),
                i.max(3) - 3,
                i + 3
            ));
        }
        out_len += node.len() + 1;
        nodes.push(node);
        i += 1;
    }
    format!(
        r##"{{"format":1,"screen":"{screen}","theme":"{theme}","width":1280,"height":720,"background":"#0b2a4a","focus_ring":{{"color":"#f2b705","width":6}},"nodes":[{}],"focusables":[{}],"default_focus":"b0","keys":[{{"key":"RED","action":{{"type":"open_screen","screen":"topic-list"}}}},{{"key":"BACK","action":{{"type":"back"}}}}]}}"##,
        nodes.join(","),
        focusables.join(",")
    )
}

/// A notice file.
pub fn notice(id: u32, grid: &str, title: &str) -> Vec<u8> {
    format!(
        r#"{{"id":{id},"title":"{title}","body":"因管道维修，本网格将于周六上午停水，请提前储水。","time":"2026-11-27T09:00:00+08:00","grids":["{grid}"],"from":"网格员","urgent":false,"type":"alert"}}"#
    )
    .into_bytes()
}

/// A community's input: 20 screens in both themes (40 layout documents of 3-6 KB), 3 topics,
/// 3 tallies, 2 comment files and `notices` notices.
pub fn community_input(n: u32, notices: u32) -> BundleInput {
    let mut rng = Rng::new(u64::from(n) * 7919 + 1);
    let mut files = Vec::new();
    for screen in SCREENS {
        let size = 3000 + rng.below(3000) as usize;
        for theme in ["standard", "elders"] {
            // The same seed for both themes: the same texts, as a real community has.
            let mut trng = Rng::new(u64::from(n) * 31 + screen.len() as u64);
            let doc = layout_document(&mut trng, screen, theme, size);
            files.push(InputFile::new(
                format!("screens/{screen}.{theme}.json"),
                doc.into_bytes(),
            ));
        }
    }
    for t in 101..=103u32 {
        let topic = format!(
            r#"{{"id":{t},"title":"{}","stage":"consultation","summary":"{}{}","ballot":{{"open":true,"question":"是否同意{}?","options":["approve","reject","abstain"]}}}}"#,
            rng.pick(PHRASES),
            rng.pick(PHRASES),
            rng.pick(PHRASES),
            rng.pick(PHRASES)
        );
        files.push(InputFile::new(
            format!("topics/{t}.json"),
            topic.into_bytes(),
        ));
        let tally = format!(
            r#"{{"topic":{t},"options":{{"approve":{},"reject":{},"abstain":{}}},"voted":{},"households":800}}"#,
            rng.below(300),
            rng.below(100),
            rng.below(50),
            rng.below(450)
        );
        files.push(InputFile::new(
            format!("tallies/{t}.json"),
            tally.into_bytes(),
        ));
    }
    for t in 101..=102u32 {
        let comments: Vec<String> = (0..5)
            .map(|_| {
                format!(
                    r#"{{"who":"12号楼 6楼住户","text":"{}","time":"2026-11-26 19:30"}}"#,
                    rng.pick(PHRASES)
                )
            })
            .collect();
        files.push(InputFile::new(
            format!("comments/{t}.json"),
            format!("[{}]", comments.join(",")).into_bytes(),
        ));
    }
    for i in 1..=notices {
        files.push(InputFile::new(
            format!("notices/n-{i}.json"),
            notice(i, if i % 2 == 0 { "g2" } else { "g1" }, "停水通知"),
        ));
    }
    BundleInput::community(
        Community {
            id: format!("c-{n:04}"),
            name: format!("第{n}社区"),
            town: "崇安寺街道".into(),
            district: [
                "梁溪区",
                "锡山区",
                "惠山区",
                "滨湖区",
                "新吴区",
                "江阴市",
                "宜兴市",
            ][(n % 7) as usize]
                .into(),
        },
        vec![
            Grid {
                id: "g1".into(),
                name: "第一网格".into(),
            },
            Grid {
                id: "g2".into(),
                name: "第二网格".into(),
            },
        ],
        base_input().content_sha256(),
        "2026-11-27T21:00:00+08:00",
        files,
    )
}

/// The shared base: a theme, 16 icons, 4 images (noise, as compressed pictures are).
pub fn base_input() -> BundleInput {
    let mut rng = Rng::new(42);
    let mut files = vec![InputFile::new(
        "theme/standard.json",
        br##"{"background":"#0b2a4a","text":"#ffffff","accent":"#f2b705","font_size":24}"##
            .to_vec(),
    )];
    files.push(InputFile::new(
        "theme/elders.json",
        br##"{"background":"#000000","text":"#ffffff","accent":"#ffd800","font_size":36}"##
            .to_vec(),
    ));
    for i in 0..16 {
        let bytes: Vec<u8> = (0..1200).map(|_| rng.next() as u8).collect();
        files.push(InputFile::new(format!("icons/icon-{i:02}.png"), bytes));
    }
    for i in 0..4 {
        let bytes: Vec<u8> = (0..20_000).map(|_| rng.next() as u8).collect();
        files.push(InputFile::new(format!("images/banner-{i}.jpg"), bytes));
    }
    BundleInput::base("2026-11-01T00:00:00+08:00", files)
}

/// Validates a manifest against `docs/bundle.xsd` with xmllint, if it is installed.
pub fn xmllint(manifest: &Path) {
    let xsd = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/bundle.xsd");
    let run = Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(&xsd)
        .arg(manifest)
        .output();
    match run {
        Ok(out) => assert!(
            out.status.success(),
            "{} does not validate against docs/bundle.xsd:\n{}",
            manifest.display(),
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(_) => eprintln!(
            "note: xmllint is not installed; {} not checked against docs/bundle.xsd",
            manifest.display()
        ),
    }
}

/// Validates manifest bytes with xmllint (written to a temporary file).
pub fn xmllint_bytes(bytes: &[u8]) {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("manifest.xml");
    std::fs::write(&p, bytes).unwrap();
    xmllint(&p);
}

/// Whether xmllint refuses the manifest (None when it is not installed).
pub fn xmllint_refuses(bytes: &[u8]) -> Option<bool> {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("manifest.xml");
    std::fs::write(&p, bytes).unwrap();
    let xsd = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/bundle.xsd");
    let out = Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(&xsd)
        .arg(&p)
        .output()
        .ok()?;
    Some(!out.status.success())
}

pub fn sha(b: &[u8]) -> Sha256 {
    Sha256::of(b)
}
