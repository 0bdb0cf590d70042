//! The demo community's bundle, notices and cards, for tests, benchmarks and the operator's
//! tour (`cargo run -p emulator --example demo_bundle -- OUT`) while the database's bundle
//! builder (`shangyi bundle build`) is not there to make real ones.
//!
//! The community is `fixtures/screens/demo-community.json` (梁溪区 崇安寺街道 崇宁路社区, four
//! grids); the notices below are those of the fixture, with target grids and windows around
//! [`AT`]. Card keys derive from [`MASTER`], a published test secret: never a real headend's.

use std::path::{Path, PathBuf};

use bundle::{BundleInput, Community, Grid, Sha256, build, read_manifest, write_dir};
use returnpath::{CardId, MasterSecret, derive_card_key};

use crate::content::{ContentError, base_files, community_files};
use crate::notices::{NoticeRecord, Urgency};
use crate::provision::Provisioning;

/// The demo's clock: 2026-11-27T20:00:00+08:00.
pub const AT: i64 = 1_795_780_800;
/// The demo community's id.
pub const COMMUNITY: i64 = 320_213_001;
/// Its bundle's directory name.
pub const BUNDLE_ID: &str = "c-320213001";
/// The master secret the demo cards' keys derive from (test only).
pub const MASTER: [u8; 32] = [7; 32];
/// The demo card in grid 1.
pub const CARD: &str = "8610012345678901";
/// The demo card in grid 2.
pub const CARD_GRID_2: &str = "8610012345678902";
/// The time the demo bundle says its newest input is from.
pub const NEWEST_INPUT: &str = "2026-11-27T19:00:00+08:00";

const HOUR: i64 = 3600;
const DAY: i64 = 86_400;

/// A demo card's identity: `card` in `grid` of the demo community.
pub fn provisioning(card: &str, household: i64, grid: i64) -> Option<Provisioning> {
    let card_id = CardId::parse(card).ok()?;
    let card_key = derive_card_key(&MasterSecret::from_bytes(MASTER), &card_id);
    Some(Provisioning {
        card_id,
        household,
        grid,
        community: COMMUNITY,
        card_key,
    })
}

fn notice(
    id: i64,
    grids: &[i64],
    urgency: Urgency,
    (title, body, author): (&str, &str, &str),
    sent_ago: i64,
    valid: (i64, i64),
) -> NoticeRecord {
    NoticeRecord {
        id,
        grids: grids.to_vec(),
        title: title.into(),
        body: body.into(),
        urgency,
        valid_from: AT + valid.0,
        valid_until: AT + valid.1,
        sent_at: AT - sent_ago,
        author: author.into(),
    }
}

/// The demo community's notices: grid 1 has an urgent water cut, grid 2 an urgent gas
/// inspection, everyone a meeting invitation; one notice has expired and one is not yet
/// in force at [`AT`].
pub fn notices() -> Vec<NoticeRecord> {
    use Urgency::{Normal, Urgent};
    vec![
        notice(
            7,
            &[1],
            Urgent,
            (
                "3至5栋停水检修通知",
                "因供水管网改造，12月3日上午8时至12时，崇宁路3至5栋停水。请各位居民提前储水，给您带来不便，敬请谅解。如有困难请联系网格员李敏。",
                "李敏",
            ),
            2 * HOUR,
            (-DAY, 6 * DAY),
        ),
        notice(
            8,
            &[2],
            Urgent,
            (
                "燃气管道安全检查",
                "11月29日全天，燃气公司将入户检查第二网格燃气管道，请家中留人。",
                "陈志刚",
            ),
            3 * HOUR,
            (-DAY, 3 * DAY),
        ),
        notice(
            6,
            &[1, 2, 3, 4],
            Normal,
            (
                "加装电梯协商会邀请",
                "12月5日（周六）下午2:30在社区党群服务中心二楼议事室召开加装电梯协商会，欢迎12号、14号楼居民代表参加，也可在电视上投票和留言。",
                "王建华",
            ),
            2 * DAY,
            (-2 * DAY, 8 * DAY),
        ),
        notice(
            5,
            &[1, 2, 3, 4],
            Normal,
            (
                "冬季用电安全提醒",
                "冬季取暖用电量大，请勿私拉电线，电动车请到充电棚充电，严禁进楼道充电。",
                "陈志刚",
            ),
            7 * DAY,
            (-7 * DAY, 30 * DAY),
        ),
        notice(
            3,
            &[3],
            Normal,
            (
                "停车位改造意见征集",
                "停车位改造方案正在征求意见，欢迎在电视上“议题列表”中发表意见。",
                "周晓燕",
            ),
            12 * DAY,
            (-12 * DAY, 10 * DAY),
        ),
        notice(
            2,
            &[2],
            Normal,
            (
                "消防通道清理",
                "11月30日前请将楼道和消防通道内的杂物清理干净，逾期将统一清理。",
                "陈志刚",
            ),
            17 * DAY,
            (-17 * DAY, 3 * DAY),
        ),
        // Expired before the demo's clock.
        notice(
            1,
            &[1],
            Normal,
            (
                "国庆期间垃圾清运时间调整",
                "国庆期间垃圾清运时间调整为每日上午7时。",
                "李敏",
            ),
            60 * DAY,
            (-60 * DAY, -50 * DAY),
        ),
        // Sent, but in force only from five days after the demo's clock.
        notice(
            9,
            &[1, 2, 3, 4],
            Normal,
            (
                "元旦文艺汇演报名",
                "社区元旦文艺汇演开始报名，请到社区居委会登记。",
                "王建华",
            ),
            HOUR,
            (5 * DAY, 30 * DAY),
        ),
    ]
}

/// Why the demo bundles could not be written.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error(transparent)]
    Content(#[from] ContentError),
    #[error(transparent)]
    Bundle(#[from] bundle::BundleError),
    #[error("the base bundle was written but has no manifest")]
    NoBase,
}

/// Writes the city's base bundle (`OUT/base`, from `root/stb-templates` and `root/assets`) and
/// the demo community's bundle (`OUT/c-320213001`, from the fixture's screen data and
/// [`notices`]), and returns the community bundle's directory. Rebuilding keeps the versions.
pub fn write_bundles(root: &Path, out: &Path) -> Result<PathBuf, DemoError> {
    let base_dir = out.join("base");
    let base_input = BundleInput::base(
        NEWEST_INPUT,
        base_files(&root.join("stb-templates"), &root.join("assets"))?,
    );
    let previous = read_manifest(&base_dir)?;
    let base = build(&base_input, previous.as_ref())?;
    write_dir(&base, &base_dir)?;
    let base_sha: Sha256 = base.manifest.content_sha256;

    let data = screen::demo_data();
    let text = |p: &str| {
        data.pointer(p)
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_owned()
    };
    let grids = data
        .get("grids")
        .and_then(|g| g.as_array())
        .map(|gs| {
            gs.iter()
                .map(|g| Grid {
                    id: format!("g{}", g["id"].as_i64().unwrap_or_default()),
                    name: g["name"].as_str().unwrap_or_default().to_owned(),
                })
                .collect()
        })
        .unwrap_or_default();
    let input = BundleInput::community(
        Community {
            id: BUNDLE_ID.into(),
            name: text("/community/name"),
            town: text("/community/town"),
            district: text("/community/district"),
        },
        grids,
        base_sha,
        NEWEST_INPUT,
        community_files(&data, notices()),
    );
    let dir = out.join(BUNDLE_ID);
    let previous = read_manifest(&dir)?;
    let built = build(&input, previous.as_ref())?;
    write_dir(&built, &dir)?;
    Ok(dir)
}
