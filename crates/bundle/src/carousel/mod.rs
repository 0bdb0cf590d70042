//! The carousel model: what a district's data stream carries, how long a cycle lasts, how long
//! a box waits after tuning in, and how long a grid worker's notice takes to reach the screen.
//!
//! # The model
//!
//! One data stream per district carries every community bundle of the district and each base
//! bundle they reference, once. A bundle's modules go on air compressed (`air-size`), cut in
//! blocks ([`block`]) with their overhead. Each bundle also sends a DownloadInfoIndication
//! (DII, the module list with versions) and its `manifest.xml` as a module.
//!
//! The cycle holds `k` *hot passes* spread evenly between `k` slices of the cold content:
//! `P C₀ P C₁ … P Cₖ₋₁`. A hot pass is one DownloadServerInitiate, then for each community its
//! DII, its manifest module and its hot modules (notices, tallies), together. Cold content is
//! each community's cold modules, then each base bundle's DII, manifest and modules, sliced by
//! bytes. Repeating the small hot content is the usual carousel technique for content that
//! must arrive fast.
//!
//! A box **tuning in** at a random moment needs its community's hot group, cold modules and
//! every module of its base. A box keeps blocks as they pass, in any order, so a module is
//! complete when each of its blocks has passed once: for a module that appears once a cycle
//! the wait is at most one cycle. The **mean wait** averages, over 1,024 evenly spaced tune-in
//! moments and over the district's communities, the time until the last needed module is
//! complete; the **worst wait** is its upper bound (the longest gap between two appearances of
//! a needed module; a cycle, for cold content). Block granularity (tuning in mid-block loses up
//! to one block, 17 ms at 2 Mbit/s) is ignored.
//!
//! **Push to screen** is the time from a grid worker's push to every box in the grid showing
//! the notice, for boxes already tuned: `rebuild` (database to new bundle, 1 s assumed by
//! default; the benchmark measures the bundle part in milliseconds) + waiting for the next hot
//! pass to start (the headend swaps a module between passes, never inside one) + the time into
//! that pass until the community's group (DII, manifest, hot modules) has been sent. The mean
//! takes the push at a uniformly random moment; the worst takes the longest gap between passes
//! and the last community of the pass.
//!
//! `k` is chosen per district as the smallest number of passes (1 to 16) that brings the worst
//! push-to-screen within [`CarouselParams::push_target_s`] (20 s by default, a margin under the
//! 30 s goal), or, if none does, the one that comes closest: more passes shorten the notice's
//! way but lengthen the cycle every tuning-in box waits for.

pub mod block;
pub mod module;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use crate::kind::ModuleClass;
use crate::manifest::{Manifest, Role};
use crate::sha::Sha256;

/// The module id that carries `manifest.xml` in every bundle.
pub const MANIFEST_MODULE_ID: u16 = 0x0001;

/// One module of a summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleSummary {
    /// Module id.
    pub id: u16,
    /// Hot or cold.
    pub class: ModuleClass,
    /// Compressed bytes.
    pub air_size: u64,
}

/// What the carousel needs to know of one bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestSummary {
    /// Community id, or `base`.
    pub bundle: String,
    /// The district (community bundles); `None` for a base bundle.
    pub district: Option<String>,
    /// The bundle's content digest (a base is found by it).
    pub content_sha256: Sha256,
    /// The base a community references.
    pub base: Option<Sha256>,
    /// `manifest.xml` compressed, as it goes on air.
    pub manifest_air_size: u64,
    /// Its modules.
    pub modules: Vec<ModuleSummary>,
}

impl ManifestSummary {
    /// Summarises a manifest (compresses its XML to know its size on air).
    pub fn of(m: &Manifest) -> Self {
        let (air, _) = module::encode(&m.to_xml());
        let (bundle, district, base) = match &m.role {
            Role::Community {
                community, base, ..
            } => (
                community.id.clone(),
                Some(community.district.clone()),
                Some(*base),
            ),
            Role::Base => ("base".to_string(), None, None),
        };
        ManifestSummary {
            bundle,
            district,
            content_sha256: m.content_sha256,
            base,
            manifest_air_size: air.len() as u64,
            modules: m
                .modules
                .iter()
                .map(|e| ModuleSummary {
                    id: e.id,
                    class: e.class,
                    air_size: e.air_size,
                })
                .collect(),
        }
    }
}

/// The model's assumptions, with the defaults the command line uses.
#[derive(Debug, Clone, PartialEq)]
pub struct CarouselParams {
    /// The district data stream's bitrate, bits per second.
    pub bitrate_bps: u64,
    /// Hot passes per cycle; `None` chooses (see the module documentation).
    pub hot_repeats: Option<u32>,
    /// The worst push-to-screen the choice of hot passes aims for, seconds.
    pub push_target_s: f64,
    /// Time from a grid worker's push to the new bundle at the headend, seconds.
    pub rebuild_s: f64,
}

impl CarouselParams {
    /// The defaults at a bitrate.
    pub fn new(bitrate_bps: u64) -> Self {
        CarouselParams {
            bitrate_bps,
            hot_repeats: None,
            push_target_s: 20.0,
            rebuild_s: 1.0,
        }
    }
}

/// One district's figures.
#[derive(Debug, Clone, PartialEq)]
pub struct DistrictRow {
    /// The district.
    pub district: String,
    /// Community bundles on its stream.
    pub communities: usize,
    /// Base bundles on its stream.
    pub bases: usize,
    /// Communities whose base bundle was not among the summaries (counted as empty).
    pub missing_bases: usize,
    /// Compressed content once (modules and manifests, no overhead, no repetition).
    pub content_bytes: u64,
    /// Transport stream bytes in one cycle (with overhead and hot repetitions).
    pub cycle_bytes: u64,
    /// Transport stream bytes of one hot pass.
    pub hot_pass_bytes: u64,
    /// Hot passes per cycle.
    pub hot_repeats: u32,
    /// Cycle time, seconds.
    pub cycle_s: f64,
    /// Mean wait of a box tuning in at a random moment, seconds.
    pub mean_wait_s: f64,
    /// Worst such wait, seconds.
    pub worst_wait_s: f64,
    /// Mean push-to-screen, seconds.
    pub push_mean_s: f64,
    /// Worst push-to-screen, seconds.
    pub push_worst_s: f64,
}

/// The figures per district at `bitrate_bps`, with the default assumptions.
pub fn carousel_table(bundles: &[ManifestSummary], bitrate_bps: u64) -> Vec<DistrictRow> {
    carousel_table_with(bundles, &CarouselParams::new(bitrate_bps))
}

/// A piece of the cycle a box needs: where each of its appearances starts, and how long it is.
struct Item {
    starts: Vec<u64>,
    len: u64,
}

/// One cycle laid out, in transport stream bytes.
struct Layout {
    cycle: u64,
    pass_starts: Vec<u64>,
    pass_bytes: u64,
    /// Per community: its items, and where its hot group ends within a pass.
    boxes: Vec<(Vec<Item>, u64)>,
}

struct Group {
    hot: u64,
    cold: Vec<u64>,
    base: Option<usize>,
}

fn lay_out(groups: &[Group], bases: &[Vec<u64>], k: u32) -> Layout {
    let k = u64::from(k.max(1));
    let mut pass_offsets = Vec::with_capacity(groups.len());
    let mut pass_bytes = block::DSI_AIR_BYTES;
    for g in groups {
        pass_offsets.push(pass_bytes);
        pass_bytes += g.hot;
    }
    // Cold pieces in order: communities' cold modules, then each base's pieces.
    let mut pieces: Vec<u64> = Vec::new();
    let mut owner: Vec<(bool, usize)> = Vec::new();
    for (i, g) in groups.iter().enumerate() {
        for c in &g.cold {
            pieces.push(*c);
            owner.push((false, i));
        }
    }
    for (b, list) in bases.iter().enumerate() {
        for c in list {
            pieces.push(*c);
            owner.push((true, b));
        }
    }
    let cold_total: u64 = pieces.iter().sum();
    // Piece p goes to slice floor(start * k / cold_total): slices of nearly equal bytes.
    let mut piece_start = Vec::with_capacity(pieces.len());
    let mut pass_starts = Vec::with_capacity(k as usize);
    let mut pos = 0u64;
    let mut cum = 0u64;
    let mut p = 0usize;
    for slice in 0..k {
        pass_starts.push(pos);
        pos += pass_bytes;
        while p < pieces.len() && (cum * k) / cold_total.max(1) <= slice {
            piece_start.push(pos);
            pos += pieces[p];
            cum += pieces[p];
            p += 1;
        }
    }
    while p < pieces.len() {
        piece_start.push(pos);
        pos += pieces[p];
        p += 1;
    }
    let cycle = pos;
    let mut base_items: Vec<Vec<Item>> = bases.iter().map(|_| Vec::new()).collect();
    let mut cold_items: Vec<Vec<Item>> = groups.iter().map(|_| Vec::new()).collect();
    for (i, (is_base, who)) in owner.iter().enumerate() {
        let item = Item {
            starts: vec![piece_start[i]],
            len: pieces[i],
        };
        if *is_base {
            base_items[*who].push(item);
        } else {
            cold_items[*who].push(item);
        }
    }
    let mut boxes = Vec::with_capacity(groups.len());
    for (i, g) in groups.iter().enumerate() {
        let mut items = std::mem::take(&mut cold_items[i]);
        items.push(Item {
            starts: pass_starts.iter().map(|s| s + pass_offsets[i]).collect(),
            len: g.hot,
        });
        if let Some(b) = g.base {
            for it in &base_items[b] {
                items.push(Item {
                    starts: it.starts.clone(),
                    len: it.len,
                });
            }
        }
        boxes.push((items, pass_offsets[i] + g.hot));
    }
    Layout {
        cycle,
        pass_starts,
        pass_bytes,
        boxes,
    }
}

/// Bytes from tune-in at `u` until every block of the item has passed once.
fn wait(item: &Item, u: u64, cycle: u64) -> u64 {
    let n = item.starts.len();
    let gap = |i: usize| {
        if n == 1 {
            cycle
        } else if i + 1 < n {
            item.starts[i + 1] - item.starts[i]
        } else {
            item.starts[0] + cycle - item.starts[i]
        }
    };
    // The last appearance starting at or before u.
    let idx = item.starts.partition_point(|s| *s <= u);
    if idx > 0 && u < item.starts[idx - 1] + item.len {
        // Inside an appearance: the rest now, the part before u in the next one.
        return gap(idx - 1);
    }
    let next_end = if idx < n {
        item.starts[idx] + item.len
    } else {
        item.starts[0] + cycle + item.len
    };
    next_end - u
}

fn worst(item: &Item, cycle: u64) -> u64 {
    let n = item.starts.len();
    if n <= 1 {
        return cycle;
    }
    (0..n)
        .map(|i| {
            if i + 1 < n {
                item.starts[i + 1] - item.starts[i]
            } else {
                item.starts[0] + cycle - item.starts[i]
            }
        })
        .max()
        .unwrap_or(cycle)
}

const SAMPLES: u64 = 1024;
const MAX_REPEATS: u32 = 16;

fn push_times(l: &Layout, secs: impl Fn(u64) -> f64, rebuild_s: f64) -> (f64, f64) {
    if l.boxes.is_empty() || l.cycle == 0 {
        return (rebuild_s, rebuild_s);
    }
    let mut gaps = Vec::with_capacity(l.pass_starts.len());
    for (i, s) in l.pass_starts.iter().enumerate() {
        let next = l
            .pass_starts
            .get(i + 1)
            .copied()
            .unwrap_or(l.cycle + l.pass_starts[0]);
        gaps.push(next - s);
    }
    let mean_to_pass =
        gaps.iter().map(|g| secs(*g) * secs(*g)).sum::<f64>() / (2.0 * secs(l.cycle));
    let worst_gap = gaps.iter().copied().max().unwrap_or(0);
    let ends: Vec<u64> = l.boxes.iter().map(|b| b.1).collect();
    let mean_end = ends.iter().map(|e| secs(*e)).sum::<f64>() / ends.len() as f64;
    let worst_end = ends.iter().copied().max().unwrap_or(0);
    (
        rebuild_s + mean_to_pass + mean_end,
        rebuild_s + secs(worst_gap) + secs(worst_end),
    )
}

/// The figures per district, with the given assumptions. Districts in name order; a district
/// with a zero bitrate gets infinite times.
pub fn carousel_table_with(
    bundles: &[ManifestSummary],
    params: &CarouselParams,
) -> Vec<DistrictRow> {
    let bases_by_hash: BTreeMap<Sha256, &ManifestSummary> = bundles
        .iter()
        .filter(|b| b.district.is_none())
        .map(|b| (b.content_sha256, b))
        .collect();
    let mut districts: BTreeMap<&str, Vec<&ManifestSummary>> = BTreeMap::new();
    for b in bundles {
        if let Some(d) = &b.district {
            districts.entry(d.as_str()).or_default().push(b);
        }
    }
    let bps = params.bitrate_bps as f64;
    let secs = |bytes: u64| bytes as f64 * 8.0 / bps;
    let mut rows = Vec::new();
    for (district, mut list) in districts {
        list.sort_by(|a, b| a.bundle.cmp(&b.bundle));
        let used: BTreeSet<Sha256> = list.iter().filter_map(|b| b.base).collect();
        let base_list: Vec<Sha256> = used
            .iter()
            .filter(|h| bases_by_hash.contains_key(*h))
            .copied()
            .collect();
        let mut content = 0u64;
        let bases: Vec<Vec<u64>> = base_list
            .iter()
            .filter_map(|h| bases_by_hash.get(h))
            .map(|b| {
                content += b.manifest_air_size + b.modules.iter().map(|m| m.air_size).sum::<u64>();
                let mut pieces = vec![
                    block::dii_air_bytes(b.modules.len() as u64 + 1)
                        + block::module_air_bytes(b.manifest_air_size),
                ];
                pieces.extend(
                    b.modules
                        .iter()
                        .map(|m| block::module_air_bytes(m.air_size)),
                );
                pieces
            })
            .collect();
        let mut missing = 0;
        let groups: Vec<Group> = list
            .iter()
            .map(|b| {
                content += b.manifest_air_size + b.modules.iter().map(|m| m.air_size).sum::<u64>();
                let hot = block::dii_air_bytes(b.modules.len() as u64 + 1)
                    + block::module_air_bytes(b.manifest_air_size)
                    + b.modules
                        .iter()
                        .filter(|m| m.class == ModuleClass::Hot)
                        .map(|m| block::module_air_bytes(m.air_size))
                        .sum::<u64>();
                let cold = b
                    .modules
                    .iter()
                    .filter(|m| m.class == ModuleClass::Cold)
                    .map(|m| block::module_air_bytes(m.air_size))
                    .collect();
                let base = b.base.and_then(|h| base_list.iter().position(|x| *x == h));
                if base.is_none() {
                    missing += 1;
                }
                Group { hot, cold, base }
            })
            .collect();
        let k = match params.hot_repeats {
            Some(k) => k.clamp(1, 1024),
            None => {
                let mut best = (f64::INFINITY, 1);
                let mut chosen = None;
                for k in 1..=MAX_REPEATS {
                    let l = lay_out(&groups, &bases, k);
                    let (_, w) = push_times(&l, secs, params.rebuild_s);
                    if w <= params.push_target_s {
                        chosen = Some(k);
                        break;
                    }
                    if w < best.0 {
                        best = (w, k);
                    }
                }
                chosen.unwrap_or(best.1)
            }
        };
        let l = lay_out(&groups, &bases, k);
        let (push_mean_s, push_worst_s) = push_times(&l, secs, params.rebuild_s);
        let mut total = 0.0;
        let mut worst_bytes = 0u64;
        for (items, _) in &l.boxes {
            let mut sum = 0u64;
            for s in 0..SAMPLES {
                let u = (2 * s + 1) * l.cycle / (2 * SAMPLES);
                let w = items
                    .iter()
                    .map(|it| wait(it, u, l.cycle))
                    .max()
                    .unwrap_or(0);
                sum += w;
            }
            total += secs(sum) / SAMPLES as f64;
            let w = items.iter().map(|it| worst(it, l.cycle)).max().unwrap_or(0);
            worst_bytes = worst_bytes.max(w);
        }
        rows.push(DistrictRow {
            district: district.to_string(),
            communities: list.len(),
            bases: base_list.len(),
            missing_bases: missing,
            content_bytes: content,
            cycle_bytes: l.cycle,
            hot_pass_bytes: l.pass_bytes,
            hot_repeats: k,
            cycle_s: secs(l.cycle),
            mean_wait_s: if l.boxes.is_empty() {
                0.0
            } else {
                total / l.boxes.len() as f64
            },
            worst_wait_s: secs(worst_bytes),
            push_mean_s,
            push_worst_s,
        });
    }
    rows
}

/// The table `shangyi bundle carousel` prints: one line per district, then the city's total.
pub fn format_table(rows: &[DistrictRow], bitrate_bps: u64) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "carousel at {} bit/s per district; hot content repeated k times a cycle",
        bitrate_bps
    );
    let _ = writeln!(
        out,
        "{:>5} {:>12} {:>12} {:>10} {:>3} {:>8} {:>9} {:>9} {:>9} {:>9}  district",
        "comm",
        "content B",
        "cycle B",
        "hot pass B",
        "k",
        "cycle s",
        "mean wait",
        "worst wait",
        "push mean",
        "push worst"
    );
    for r in rows {
        let _ = writeln!(
            out,
            "{:>5} {:>12} {:>12} {:>10} {:>3} {:>8.1} {:>9.1} {:>10.1} {:>9.1} {:>10.1}  {}{}",
            r.communities,
            r.content_bytes,
            r.cycle_bytes,
            r.hot_pass_bytes,
            r.hot_repeats,
            r.cycle_s,
            r.mean_wait_s,
            r.worst_wait_s,
            r.push_mean_s,
            r.push_worst_s,
            r.district,
            if r.missing_bases > 0 {
                format!(" ({} communities' base not found)", r.missing_bases)
            } else {
                String::new()
            }
        );
    }
    let communities: usize = rows.iter().map(|r| r.communities).sum();
    let cycle: u64 = rows.iter().map(|r| r.cycle_bytes).sum();
    let content: u64 = rows.iter().map(|r| r.content_bytes).sum();
    let _ = writeln!(
        out,
        "{communities:>5} {content:>12} {cycle:>12}  city: {} districts",
        rows.len()
    );
    out
}

/// Why a bitrate was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BitrateError {
    /// Nothing given.
    #[error("the bitrate is empty; give e.g. 2M, 500k or 2000000 (bits per second)")]
    Empty,
    /// Not a number with an optional k, M or G.
    #[error("{0:?} is not a bitrate; give e.g. 2M, 500k or 2000000 (bits per second)")]
    Invalid(String),
    /// Zero bits per second.
    #[error("the bitrate must be above zero")]
    Zero,
    /// A fraction of a bit per second.
    #[error("{0:?} is not a whole number of bits per second")]
    Fraction(String),
    /// Above 100 Gbit/s.
    #[error("{0:?} is above 100G bits per second")]
    TooLarge(String),
}

/// Parses a bitrate in bits per second: `2000000`, `500k`, `2M`, `1.5M`, `1G` (k, M, G are
/// 10³, 10⁶, 10⁹; either case; an optional `bps` or `bit/s` after).
pub fn parse_bitrate(s: &str) -> Result<u64, BitrateError> {
    let t = s.trim();
    if t.is_empty() {
        return Err(BitrateError::Empty);
    }
    let invalid = || BitrateError::Invalid(s.to_string());
    let t = t
        .strip_suffix("bit/s")
        .or_else(|| t.strip_suffix("bps"))
        .unwrap_or(t)
        .trim_end();
    let (num, mult): (&str, u128) = match t.as_bytes().last() {
        Some(b'k' | b'K') => (&t[..t.len() - 1], 1_000),
        Some(b'm' | b'M') => (&t[..t.len() - 1], 1_000_000),
        Some(b'g' | b'G') => (&t[..t.len() - 1], 1_000_000_000),
        _ => (t, 1),
    };
    let (int, frac) = match num.split_once('.') {
        Some((i, f)) => (i, f),
        None => (num, ""),
    };
    if int.is_empty()
        || int.len() > 12
        || frac.len() > 9
        || !int.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
        || (num.contains('.') && frac.is_empty())
    {
        return Err(invalid());
    }
    let int: u128 = int.parse().map_err(|_| invalid())?;
    let scale = 10u128.pow(frac.len() as u32);
    let frac_v: u128 = if frac.is_empty() {
        0
    } else {
        frac.parse().map_err(|_| invalid())?
    };
    let total = int * mult * scale + frac_v * mult;
    if total % scale != 0 {
        return Err(BitrateError::Fraction(s.to_string()));
    }
    let bps = total / scale;
    if bps == 0 {
        return Err(BitrateError::Zero);
    }
    if bps > 100_000_000_000 {
        return Err(BitrateError::TooLarge(s.to_string()));
    }
    Ok(bps as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bitrates() {
        assert_eq!(parse_bitrate("2M"), Ok(2_000_000));
        assert_eq!(parse_bitrate("2m"), Ok(2_000_000));
        assert_eq!(parse_bitrate("500k"), Ok(500_000));
        assert_eq!(parse_bitrate("2000000"), Ok(2_000_000));
        assert_eq!(parse_bitrate("1.5M"), Ok(1_500_000));
        assert_eq!(parse_bitrate(" 2Mbps "), Ok(2_000_000));
        assert_eq!(parse_bitrate(""), Err(BitrateError::Empty));
        assert_eq!(parse_bitrate("0"), Err(BitrateError::Zero));
        assert_eq!(
            parse_bitrate("1.5"),
            Err(BitrateError::Fraction("1.5".into()))
        );
        assert!(matches!(parse_bitrate("2X"), Err(BitrateError::Invalid(_))));
        assert!(matches!(
            parse_bitrate("-2M"),
            Err(BitrateError::Invalid(_))
        ));
        assert!(matches!(
            parse_bitrate("2.M"),
            Err(BitrateError::Invalid(_))
        ));
        assert!(matches!(
            parse_bitrate("999G"),
            Err(BitrateError::TooLarge(_))
        ));
    }

    #[test]
    fn wait_inside_and_outside_an_appearance() {
        let item = Item {
            starts: vec![10, 60],
            len: 5,
        };
        // Before the first: until its end.
        assert_eq!(wait(&item, 0, 100), 15);
        // Inside the first: the gap to the next appearance.
        assert_eq!(wait(&item, 12, 100), 50);
        // After the last: wraps to the first of the next cycle.
        assert_eq!(wait(&item, 70, 100), 45);
        assert_eq!(worst(&item, 100), 50);
        let once = Item {
            starts: vec![10],
            len: 5,
        };
        assert_eq!(wait(&once, 12, 100), 100);
        assert_eq!(worst(&once, 100), 100);
    }
}
