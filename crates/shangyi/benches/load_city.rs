//! Benchmark: loading the demo city, at the default size and at 2,000 households per community
//! (about 2.4 million households). Each load runs the real binary in a fresh process, so its
//! peak memory is its own. The baseline, measured in the same run on the same disk, is SQLite
//! itself inserting the same number of bare household rows in one transaction: the ratio says
//! what shangyi's checks, indexes, boxes, rooms and topics cost on top of raw inserts.
//!
//! Run: `cargo bench -p shangyi --bench load_city` (SIZES=60,2000 to choose the sizes).

use std::process::Command;
use std::time::Instant;

fn baseline_seconds(rows: u64, dir: &std::path::Path) -> f64 {
    let path = dir.join("baseline.db");
    let conn = rusqlite::Connection::open(&path).expect("baseline database");
    conn.pragma_update(None, "journal_mode", "WAL")
        .expect("WAL");
    conn.pragma_update(None, "synchronous", "OFF")
        .expect("synchronous");
    conn.execute_batch(
        "CREATE TABLE households (id INTEGER PRIMARY KEY, grid_id INTEGER NOT NULL, building INTEGER NOT NULL,
         unit INTEGER NOT NULL, room INTEGER NOT NULL)",
    )
    .expect("table");
    let started = Instant::now();
    let tx = conn.unchecked_transaction().expect("transaction");
    {
        let mut insert = tx
            .prepare("INSERT INTO households (id, grid_id, building, unit, room) VALUES (?1, ?2, ?3, ?4, ?5)")
            .expect("statement");
        for id in 1..=rows as i64 {
            insert
                .execute([id, id / 8, id % 50 + 1, 1, 101])
                .expect("insert");
        }
    }
    tx.commit().expect("commit");
    started.elapsed().as_secs_f64()
}

fn main() {
    let sizes: Vec<u32> = std::env::var("SIZES")
        .unwrap_or_else(|_| "60,2000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    println!(
        "{:>12} {:>12} {:>10} {:>12} {:>12} {:>8}",
        "households/c", "households", "load s", "peak MiB", "baseline s", "ratio"
    );
    for size in sizes {
        let dir = tempfile::tempdir().expect("temporary directory");
        let db = dir.path().join("city.db");
        let started = Instant::now();
        let output = Command::new(env!("CARGO_BIN_EXE_shangyi"))
            .args(["fixtures", "load", "--db"])
            .arg(&db)
            .args([
                "--households-per-community",
                &size.to_string(),
                "--at",
                "2026-11-27T09:00:00+08:00",
            ])
            .env("RUST_LOG", "warn")
            .output()
            .expect("running shangyi");
        let seconds = started.elapsed().as_secs_f64();
        let text = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "load failed: {text}{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let households: u64 = text
            .lines()
            .find(|l| l.contains("households with"))
            .and_then(|l| l.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        let peak = text
            .lines()
            .find_map(|l| l.trim().strip_prefix("peak memory "))
            .unwrap_or("? MiB")
            .trim_end_matches(" MiB")
            .to_owned();
        let baseline = baseline_seconds(households, dir.path());
        println!(
            "{size:>12} {households:>12} {seconds:>10.2} {peak:>12} {baseline:>12.2} {:>8.1}",
            seconds / baseline.max(1e-9)
        );
    }
}
