//! End-to-end tests of shangyi, one per user story (in `tests/`), and the small harness they
//! share: it runs the real `shangyi` binary in throwaway directories, the way users do.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};
use std::time::{Duration, Instant};

/// The `shangyi` binary of this build, brought up to date once per test process: testing
/// this package alone must not run a stale binary left by an earlier build.
pub fn binary() -> PathBuf {
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| {
            let exe = std::env::current_exe().expect("the test's own path");
            // target/<profile>/deps/<test> → target/<profile>/shangyi
            let profile_dir = exe
                .parent()
                .and_then(|deps| deps.parent())
                .expect("a target directory");
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
            let mut build = Command::new(cargo);
            build.args(["build", "--quiet", "-p", "shangyi", "--bin", "shangyi"]);
            if profile_dir.file_name().is_some_and(|n| n == "release") {
                build.arg("--release");
            }
            let status = build.status().expect("running cargo build");
            assert!(status.success(), "building shangyi failed");
            profile_dir.join(format!("shangyi{}", std::env::consts::EXE_SUFFIX))
        })
        .clone()
}

/// A command running `shangyi` with `args`.
pub fn shangyi(args: &[&str]) -> Command {
    let mut command = Command::new(binary());
    command.args(args).env("RUST_LOG", "warn");
    command
}

/// Runs `shangyi` and returns its output, failing the test with everything it printed if the
/// exit status is not `expected`.
pub fn run(args: &[&str], expected: i32) -> Output {
    let output = shangyi(args).output().expect("running shangyi");
    let code = output.status.code().unwrap_or(-1);
    assert_eq!(
        code,
        expected,
        "shangyi {} exited {code}\nstdout:\n{}\nstderr:\n{}",
        args.join(" "),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The wall clock in Unix seconds (a live `serve` runs on it, so its stories do too).
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_else(|e| panic!("the clock is before 1970: {e}"))
}

/// A new token from `shangyi tokens create --db DB ARGS...`.
pub fn token(db: &str, args: &[&str]) -> String {
    let mut all = vec!["tokens", "create", "--db", db];
    all.extend_from_slice(args);
    stdout(&run(&all, 0)).trim().to_owned()
}

/// `shangyi cards provision` for `card`, into `card-CARD.json` in the scratch directory.
pub fn provision(scratch: &Scratch, db: &str, card: &str) -> PathBuf {
    let file = scratch.dir.path().join(format!("card-{card}.json"));
    run(
        &[
            "cards",
            "provision",
            "--db",
            db,
            "--card",
            card,
            "--out",
            &file.display().to_string(),
        ],
        0,
    );
    file
}

/// A throwaway directory with a database path in it.
pub struct Scratch {
    pub dir: tempfile::TempDir,
}

impl Scratch {
    pub fn new() -> Scratch {
        Scratch {
            dir: tempfile::tempdir().expect("a temporary directory"),
        }
    }

    pub fn db(&self) -> String {
        self.dir.path().join("shangyi.db").display().to_string()
    }
}

impl Default for Scratch {
    fn default() -> Scratch {
        Scratch::new()
    }
}

/// Runs `shangyi bundle build --db DB --community N --out OUT`, expecting exit code `expected`.
pub fn build_bundle(db: &str, community: i64, out: &Path, expected: i32) -> Output {
    run(
        &[
            "bundle",
            "build",
            "--db",
            db,
            "--community",
            &community.to_string(),
            "--out",
            &out.display().to_string(),
        ],
        expected,
    )
}

/// Loads a small demo city (3 households per community) into the scratch database.
pub fn load_small_city(scratch: &Scratch) -> Output {
    run(
        &[
            "fixtures",
            "load",
            "--db",
            &scratch.db(),
            "--households-per-community",
            "3",
            "--at",
            "2026-11-27T09:00:00+08:00",
        ],
        0,
    )
}

/// A free TCP port on loopback, for a service to listen on. The port is only free when asked:
/// [`Serve::start`] tries another if something takes it first.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port on loopback")
        .port()
}

/// Asks `probe` every 200 ms until it answers `Some`, and returns that; fails the test with
/// `what` (and `context()`, e.g. the service's log) after `timeout`. Deadlines bound waits,
/// they are never what a test asserts.
pub fn poll<T>(
    what: &str,
    timeout: Duration,
    context: impl Fn() -> String,
    mut probe: impl FnMut() -> Option<T>,
) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(found) = probe() {
            return found;
        }
        assert!(
            Instant::now() < deadline,
            "gave up after {timeout:?} waiting for {what}\n{}",
            context()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// An HTTP answer: status and body.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON; a test fails on anything else.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {self}"))
    }
}

impl std::fmt::Display for Response {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status, self.text())
    }
}

/// One blocking HTTP/1.1 request to `127.0.0.1:port` (`Connection: close`, the body sent with
/// Content-Length as JSON, the answer read to the end). `token` goes in
/// `Authorization: Bearer`. Loopback only: this is a test's client, not a general one.
pub fn http(
    port: u16,
    method: &str,
    path: &str,
    token: Option<&str>,
    json: Option<&str>,
) -> std::io::Result<Response> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(60)))?;
    stream.set_write_timeout(Some(Duration::from_secs(60)))?;
    let mut request =
        format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n");
    if let Some(token) = token {
        request.push_str(&format!("Authorization: Bearer {token}\r\n"));
    }
    let body = json.unwrap_or("");
    if json.is_some() {
        request.push_str("Content-Type: application/json\r\n");
    }
    if json.is_some() || method != "GET" {
        request.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes())?;
    stream.flush()?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    parse_response(&raw).ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "not an HTTP answer: {:?}",
                String::from_utf8_lossy(&raw[..raw.len().min(200)])
            ),
        )
    })
}

fn parse_response(raw: &[u8]) -> Option<Response> {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..split]).ok()?;
    let rest = &raw[split + 4..];
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let mut length = None;
    let mut chunked = false;
    let mut content_type = None;
    for line in lines {
        let (name, value) = line.split_once(':')?;
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            length = value.parse::<usize>().ok();
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = value.eq_ignore_ascii_case("chunked");
        } else if name.eq_ignore_ascii_case("content-type") {
            content_type = Some(value.to_owned());
        }
    }
    let body = if chunked {
        let mut body = Vec::new();
        let mut rest = rest;
        loop {
            let end = rest.windows(2).position(|w| w == b"\r\n")?;
            let size_text = std::str::from_utf8(&rest[..end]).ok()?;
            let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
            rest = &rest[end + 2..];
            if size == 0 {
                break;
            }
            body.extend_from_slice(rest.get(..size)?);
            rest = rest.get(size + 2..)?;
        }
        body
    } else {
        match length {
            Some(n) => rest.get(..n)?.to_vec(),
            None => rest.to_vec(),
        }
    };
    Some(Response {
        status,
        content_type,
        body,
    })
}

/// A running `shangyi serve` on a free loopback port, its output in `serve.log` beside the
/// database; stopped (killed) when dropped.
pub struct Serve {
    child: Child,
    pub port: u16,
    db: PathBuf,
    log: PathBuf,
}

impl Serve {
    /// Starts `shangyi serve --db DB --listen 127.0.0.1:PORT` and waits until `/healthz`
    /// answers 200 (by then the master key beside the database exists). Tries another port if
    /// the service exits first, e.g. because something took the port meanwhile.
    pub fn start(db: &str) -> Serve {
        let db = PathBuf::from(db);
        let log = db.with_file_name("serve.log");
        let mut last_log = String::new();
        for _attempt in 0..3 {
            let port = free_port();
            let file = std::fs::File::create(&log).expect("creating serve.log");
            let child = shangyi(&[
                "serve",
                "--db",
                &db.display().to_string(),
                "--listen",
                &format!("127.0.0.1:{port}"),
            ])
            .stdout(file.try_clone().expect("serve.log again"))
            .stderr(file)
            .spawn()
            .expect("starting shangyi serve");
            let mut serve = Serve {
                child,
                port,
                db: db.clone(),
                log: log.clone(),
            };
            let deadline = Instant::now() + Duration::from_secs(120);
            loop {
                if let Ok(Some(_)) = serve.child.try_wait() {
                    last_log = serve.log();
                    break;
                }
                if serve.get("/healthz", None).is_ok_and(|r| r.status == 200) {
                    return serve;
                }
                assert!(
                    Instant::now() < deadline,
                    "shangyi serve did not answer /healthz within 2 minutes\n{}",
                    serve.log()
                );
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        panic!("shangyi serve exited before answering, three times; last log:\n{last_log}");
    }

    /// The service's address, for `--server`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Where the service builds the bundles: `bundles/` beside the database.
    pub fn bundles_dir(&self) -> PathBuf {
        self.db.with_file_name("bundles")
    }

    /// What the service printed so far (its last 8,000 characters), for failure messages.
    pub fn log(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let start = text.char_indices().rev().nth(8_000).map_or(0, |(i, _)| i);
        format!("--- serve.log ---\n{}", &text[start..])
    }

    pub fn get(&self, path: &str, token: Option<&str>) -> std::io::Result<Response> {
        http(self.port, "GET", path, token, None)
    }

    /// GET that must reach the service (any status).
    pub fn must_get(&self, path: &str, token: Option<&str>) -> Response {
        self.get(path, token)
            .unwrap_or_else(|e| panic!("GET {path}: {e}\n{}", self.log()))
    }

    /// POST with a JSON body that must reach the service (any status).
    pub fn post(&self, path: &str, token: Option<&str>, json: &str) -> Response {
        http(self.port, "POST", path, token, Some(json))
            .unwrap_or_else(|e| panic!("POST {path}: {e}\n{}", self.log()))
    }

    /// The version of a community's bundle as the operators' API lists it (from
    /// `GET /api/v1/bundles/{community}/manifest.xml`); `None` before it is built.
    pub fn bundle_version(&self, operator: &str, community: i64) -> Option<u64> {
        let answer = self
            .get(
                &format!("/api/v1/bundles/{community}/manifest.xml"),
                Some(operator),
            )
            .ok()?;
        if answer.status != 200 {
            return None;
        }
        manifest_version(&answer.text())
    }

    /// Waits until the community's first bundle is built, and returns its version. A first
    /// start builds every community in the background, a batch of 64 at a time, and between
    /// batches builds whatever a write marked meanwhile; community 1 is in the first batch.
    pub fn wait_for_bundle(&self, operator: &str, community: i64) -> u64 {
        poll(
            &format!("community {community}'s first bundle"),
            Duration::from_secs(300),
            || self.log(),
            || self.bundle_version(operator, community),
        )
    }

    /// Waits (at most 30 s) for a version of the community's bundle newer than `after`, and
    /// returns it.
    pub fn wait_for_bundle_after(&self, operator: &str, community: i64, after: u64) -> u64 {
        poll(
            &format!("a version of community {community}'s bundle after {after}"),
            Duration::from_secs(30),
            || self.log(),
            || {
                self.bundle_version(operator, community)
                    .filter(|v| *v > after)
            },
        )
    }

    /// Stops the service as an operator does (SIGTERM: it finishes requests in flight and
    /// commits what its writer holds), killing it if it has not exited within 30 s.
    pub fn stop(mut self) {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        eprintln!("shangyi serve did not stop on SIGTERM within 30 s: killing it");
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `version` of a manifest's `<bundle>` element.
pub fn manifest_version(manifest: &str) -> Option<u64> {
    let start = manifest.find("<bundle ")?;
    let tag = &manifest[start..start + manifest[start..].find('>')?];
    let value = tag.split(" version=\"").nth(1)?.split('"').next()?;
    value.parse().ok()
}

/// Copies a community's bundle (and the base bundle beside it) out of a live service's
/// bundles directory into `dest`, so that the emulator reads one version even while the
/// service rebuilds. A copy taken during a rebuild may mix versions or miss the directory;
/// it is taken again until `shangyi bundle verify` accepts it (at most 30 s). Returns the
/// copied community bundle's directory and version.
pub fn snapshot_bundle(bundles: &Path, community: i64, dest: &Path) -> (PathBuf, u64) {
    let name = format!("c-{community}");
    let last = std::cell::RefCell::new(String::new());
    poll(
        &format!("a consistent copy of {}", bundles.join(&name).display()),
        Duration::from_secs(30),
        || last.borrow().clone(),
        || {
            if dest.exists() {
                std::fs::remove_dir_all(dest).expect("removing an earlier copy");
            }
            for dir in [name.as_str(), "base"] {
                if let Err(e) = copy_dir(&bundles.join(dir), &dest.join(dir)) {
                    *last.borrow_mut() = format!("copying {dir}: {e}");
                    return None;
                }
            }
            let copy = dest.join(&name);
            let verify = shangyi(&["bundle", "verify", &copy.display().to_string()])
                .output()
                .expect("running shangyi bundle verify");
            if !verify.status.success() {
                *last.borrow_mut() =
                    format!("bundle verify: {}{}", stdout(&verify), stderr(&verify));
                return None;
            }
            let manifest = std::fs::read_to_string(copy.join("manifest.xml")).ok()?;
            Some((copy, manifest_version(&manifest)?))
        },
    )
}

fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}
