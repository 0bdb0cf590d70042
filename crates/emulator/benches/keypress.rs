//! Frames per second the emulator sustains on key presses, against a baseline measured in the
//! same run: PNG-encoding one blank 1280x720 frame (the least any frame written to disk costs).
//!
//! `cargo bench -p emulator --bench keypress`
//!
//! Cases, each a key press followed by what the operator gets:
//! - `move+draw`: an arrow moving focus on home, then drawing the frame;
//! - `open+draw`: OK opening a topic's detail then BACK (two presses, two frames; layouts are
//!   cached per screen instance after the first visit, as the data does not change);
//! - `move+draw+png`: as `move+draw`, plus PNG encoding (what `--frames` costs a step);
//! - `vote+draw`: casting a vote (a signed message appended and fsynced to the outbox), drawn.
//!
//! A custom harness rather than criterion: the figure wanted is frames per second beside a
//! baseline, printed plainly; medians of many runs are enough for that.

// A bench may unwrap: a failure is a panic with the error either way.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::time::{Duration, Instant};

use emulator::demo::{self, AT};
use emulator::{BoxConfig, BoxContent, RemoteKey, SetTopBox};

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn measure(name: &str, frames_per_run: u32, runs: usize, mut f: impl FnMut()) -> Duration {
    for _ in 0..3 {
        f();
    }
    let times: Vec<Duration> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed() / frames_per_run
        })
        .collect();
    let m = median(times);
    println!(
        "{name:<16} {:>8.2} ms/frame  {:>7.1} frames/s",
        m.as_secs_f64() * 1e3,
        1.0 / m.as_secs_f64()
    );
    m
}

fn main() {
    let tmp = tempfile::tempdir().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = demo::write_bundles(&root, &tmp.path().join("bundles")).unwrap();
    let content = BoxContent::from_bundle(&dir, None).unwrap();
    let mut stb = SetTopBox::start(
        content,
        demo::provisioning(demo::CARD, 1, 1).unwrap(),
        BoxConfig {
            theme: "standard".into(),
            at: AT,
            outbox: tmp.path().join("outbox.log"),
        },
    )
    .unwrap();
    let runs = 60;

    let blank = render::Pixmap::new(1280, 720).unwrap();
    let baseline = measure("baseline: png", 1, runs, || {
        std::hint::black_box(render::encode_png(&blank).unwrap());
    });

    let mut down = true;
    let moved = measure("move+draw", 1, runs, || {
        let key = if down { RemoteKey::Down } else { RemoteKey::Up };
        down = !down;
        stb.press(key).unwrap();
        std::hint::black_box(stb.frame().unwrap());
    });
    while stb.focus() != Some("topic-1") {
        stb.press(RemoteKey::Up).unwrap();
    }
    let opened = measure("open+draw", 2, runs, || {
        stb.press(RemoteKey::Enter).unwrap();
        std::hint::black_box(stb.frame().unwrap());
        stb.press(RemoteKey::Back).unwrap();
        std::hint::black_box(stb.frame().unwrap());
    });
    let png = measure("move+draw+png", 1, runs, || {
        let key = if down { RemoteKey::Down } else { RemoteKey::Up };
        down = !down;
        stb.press(key).unwrap();
        std::hint::black_box(stb.frame_png().unwrap());
    });
    // Home → topic 101 → ballot; then RED (confirm screen) and OK (cast) over and over,
    // BACK twice to the ballot between votes.
    while stb.focus() != Some("topic-1") {
        stb.press(RemoteKey::Up).unwrap();
    }
    stb.press(RemoteKey::Enter).unwrap();
    stb.press(RemoteKey::Red).unwrap();
    let voted = measure("vote+draw", 4, 20, || {
        for key in [
            RemoteKey::Red,
            RemoteKey::Enter,
            RemoteKey::Back,
            RemoteKey::Back,
        ] {
            stb.press(key).unwrap();
            std::hint::black_box(stb.frame().unwrap());
        }
    });
    println!(
        "relative to the baseline (PNG-encoding a blank frame): move+draw {:.2}x, open+draw {:.2}x, move+draw+png {:.2}x, vote+draw {:.2}x",
        moved.as_secs_f64() / baseline.as_secs_f64(),
        opened.as_secs_f64() / baseline.as_secs_f64(),
        png.as_secs_f64() / baseline.as_secs_f64(),
        voted.as_secs_f64() / baseline.as_secs_f64(),
    );
    println!(
        "outbox after the run: {} votes queued",
        stb.outbox().pending_len()
    );
}
