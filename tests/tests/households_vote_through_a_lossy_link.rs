//! User story: two thousand households vote with their remotes while the return channel loses
//! 20% of requests and answers, duplicates and reorders 10%, and the headend is killed
//! (SIGKILL, not a graceful stop) in the middle and restarted. In the end every household's
//! last vote is counted once: the server's tally equals the ground truth, and every message a
//! box was told is delivered is in the database, exactly once.

// Tests may unwrap: a failure is a panic with the error either way.
#![allow(clippy::unwrap_used)]

use shangyi_e2e::{Scratch, run, shangyi, stdout};
use std::collections::HashSet;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

/// A running `shangyi serve`, killed when dropped (so a failing test leaves no server behind).
struct Server {
    child: Child,
}

impl Server {
    fn start(db: &str, port: u16) -> Server {
        let child = shangyi(&[
            "serve",
            "--db",
            db,
            "--listen",
            &format!("127.0.0.1:{port}"),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting shangyi serve");
        let server = Server { child };
        wait_until("the server answers /healthz", || {
            get(port, "/healthz").is_some_and(|b| b.contains("\"ok\""))
        });
        server
    }

    /// SIGKILL: no graceful shutdown, no last commit.
    fn kill(mut self) {
        self.child.kill().expect("killing the server");
        self.child.wait().expect("reaping the server");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

/// A plain HTTP/1.1 GET on loopback; `None` if the server does not answer 200.
fn get(port: u16, path: &str) -> Option<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    let (head, body) = answer.split_once("\r\n\r\n")?;
    head.starts_with("HTTP/1.1 200").then(|| body.to_owned())
}

/// Polls `done` every 50 ms for at most 60 s.
fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    for _ in 0..1200 {
        if done() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("gave up waiting {:?} for {what}", started.elapsed());
}

fn stored_so_far(port: u16) -> u64 {
    get(port, "/metrics")
        .and_then(|text| {
            text.lines()
                .find_map(|l| l.strip_prefix("shangyi_rc_messages_total{outcome=\"stored\"} "))
                .and_then(|n| n.trim().parse().ok())
        })
        .unwrap_or(0)
}

#[test]
fn households_vote_through_a_lossy_link_and_a_killed_server() {
    let scratch = Scratch::new();
    let db = scratch.db();
    // 60 households a community, voting open around now.
    run(&["fixtures", "load", "--db", &db], 0);
    let listed = stdout(&run(
        &["topics", "list", "--db", &db, "--stage", "consultation"],
        0,
    ));
    let topics: Vec<&str> = listed
        .lines()
        .filter_map(|l| l.split('\t').next())
        .collect();
    assert!(
        topics.len() > 200,
        "{} topics in consultation",
        topics.len()
    );

    let port = free_port();
    let server = Server::start(&db, port);
    let key = scratch.dir.path().join("master.key");
    let meta =
        std::fs::metadata(&key).expect("serve creates the master secret beside the database");
    assert_eq!(meta.len(), 32);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            meta.permissions().mode() & 0o777,
            0o600,
            "only its owner reads it"
        );
    }
    let secret = std::fs::read(&key).unwrap();

    let acked = scratch.dir.path().join("acked.txt");
    let url = format!("http://127.0.0.1:{port}");
    let acked_arg = acked.display().to_string();
    let mut args = vec![
        "simulate",
        "--server",
        &url,
        "--db",
        &db,
        "--households",
        "2000",
        "--loss",
        "0.2",
        "--dup",
        "0.1",
        "--reorder",
        "0.1",
        "--delay-ms",
        "20..300",
        "--timeout-ms",
        "500",
        "--max-backoff-ms",
        "2000",
        "--seed",
        "2026",
        "--timeout-secs",
        "240",
        "--acked-out",
        &acked_arg,
    ];
    for topic in &topics {
        args.push("--topic");
        args.push(topic);
    }
    let simulation = shangyi(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting shangyi simulate");

    // Kill the headend in the middle of the run, then bring it back on the same port.
    wait_until("the server to store 300 messages", || {
        stored_so_far(port) >= 300
    });
    server.kill();
    std::thread::sleep(Duration::from_millis(300));
    let server = Server::start(&db, port);
    assert_eq!(
        std::fs::read(&key).unwrap(),
        secret,
        "a restart loads the same secret"
    );

    let output = simulation
        .wait_with_output()
        .expect("waiting for shangyi simulate");
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "simulate failed:\n{printed}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        printed.contains("ok: the server's tally equals the ground truth"),
        "{printed}"
    );
    assert!(printed.contains("simulated 2000 boxes"), "{printed}");
    assert!(printed.contains(" 0 refused"), "{printed}");

    // Every message a box was told is delivered is in the database, exactly once.
    let raw = rusqlite::Connection::open(&db).unwrap();
    let mut receipts = HashSet::new();
    let mut stmt = raw
        .prepare("SELECT card_id, seq FROM rc_receipts WHERE status = 'stored'")
        .unwrap();
    for row in stmt
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
        .unwrap()
    {
        assert!(receipts.insert(row.unwrap()), "a (card, seq) stored twice");
    }
    let mut votes = HashSet::new();
    let mut stmt = raw
        .prepare("SELECT card_id, seq FROM votes WHERE seq IS NOT NULL")
        .unwrap();
    for row in stmt
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
        .unwrap()
    {
        assert!(votes.insert(row.unwrap()), "a vote stored twice");
    }
    let acked = std::fs::read_to_string(&acked).unwrap();
    let mut count = 0;
    for line in acked.lines() {
        let (card, seq) = line.split_once(' ').unwrap();
        let key = (card.to_owned(), seq.parse::<i64>().unwrap());
        assert!(
            receipts.contains(&key),
            "acknowledged {line} has no receipt"
        );
        assert!(
            votes.contains(&key),
            "acknowledged {line} is not in the votes"
        );
        count += 1;
    }
    assert!(count >= 2000, "{count} acknowledged messages");
    assert_eq!(votes.len(), receipts.len(), "every receipt is a vote");
    assert_eq!(
        votes.len(),
        count,
        "nothing stored that no box was told about"
    );
    let integrity: String = raw
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(integrity, "ok");
    server.kill();
}
