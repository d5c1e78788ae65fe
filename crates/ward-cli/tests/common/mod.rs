//! Helpers shared by the CLI integration tests: running the real `ward` binary.

#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output, Stdio};

/// A command for the `ward` binary under test.
pub fn ward(data_dir: &Path, db_url: Option<&str>) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_ward"));
    c.arg("--data-dir").arg(data_dir);
    if let Some(u) = db_url {
        c.arg("--database-url").arg(u);
    }
    c.env_remove("WARD_DATA_DIR").env_remove("WARD_DATABASE_URL");
    c
}

/// Runs and returns the output, panicking with stderr on a spawn failure.
pub fn run(mut c: Command) -> Output {
    c.stdin(Stdio::null()).output().expect("run ward")
}

/// Runs with `input` on stdin.
pub fn run_with_stdin(mut c: Command, input: &str) -> Output {
    use std::io::Write;
    let mut child = c
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn ward");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write stdin");
    child.wait_with_output().expect("wait ward")
}

/// Asserts success and returns stdout.
pub fn ok(o: Output) -> String {
    assert!(
        o.status.success(),
        "ward failed: {}\nstdout: {}",
        String::from_utf8_lossy(&o.stderr),
        String::from_utf8_lossy(&o.stdout)
    );
    String::from_utf8(o.stdout).expect("utf-8 stdout")
}

/// A small deterministic PRNG (xorshift64*), seeded from `WARD_TEST_SEED` or the clock.
pub struct Rng(u64);

impl Rng {
    /// Seeds and prints the seed so a failure can be replayed.
    pub fn new(label: &str) -> Rng {
        let seed = std::env::var("WARD_TEST_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(1, |d| d.as_nanos() as u64)
                    | 1
            });
        eprintln!("{label}: WARD_TEST_SEED={seed}");
        Rng(seed)
    }
    /// Next value.
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// A value in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// Parses a command's JSON output.
pub fn json(s: &str) -> serde_json::Value {
    serde_json::from_str(s).unwrap_or_else(|e| panic!("json output: {e}: {s}"))
}

/// Creates an API token locally; returns its secret.
pub fn token(d: &Path, name: &str, role: &str) -> String {
    let out = json(&ok(run({
        let mut c = ward(d, None);
        c.args(["token", "create", "--name", name, "--role", role, "--output", "json"]);
        c
    })));
    out["token"].as_str().expect("token").to_string()
}

/// The identity an automation token acts as: `token:<its id>` (its name lives beside the log).
pub fn acts_as(token: &str) -> String {
    format!("token:{}", token.split('_').nth(1).expect("ward_<id>_<secret>"))
}

/// Registers an artifact by digest locally.
pub fn register(d: &Path, digest: &str, service: &str, version: &str) {
    ok(run(register_command(d, digest, service, version, &[])));
}

/// `ward artifact register` of `digest` as `service` `version` locally, with `extra` arguments
/// (`--commit`, `--branch`, …), not yet run.
pub fn register_command(d: &Path, digest: &str, service: &str, version: &str, extra: &[&str]) -> Command {
    register_command_on(d, None, digest, service, version, extra)
}

/// [`register_command`] on the database `db` (PostgreSQL) instead of the data directory's.
pub fn register_command_on(
    d: &Path,
    db: Option<&str>,
    digest: &str,
    service: &str,
    version: &str,
    extra: &[&str],
) -> Command {
    let mut c = ward(d, db);
    c.args([
        "artifact",
        "register",
        "--digest",
        digest,
        "--service",
        service,
        "--version",
        version,
    ])
    .args(extra);
    c
}

/// The ticket the tests' changes name.
pub const TICKET: &str = "https://tickets.example.org/T-1";

/// Opens a change titled `title` shipping `digest` (touching README.md, with [`TICKET`]) with
/// `c` — a `ward` command already pointed at its data dir or server and token; returns the
/// change id.
pub fn open_change(c: Command, title: &str, digest: &str) -> String {
    open_change_naming(c, title, digest, &[])
}

/// Opens a change as [`open_change`] does, naming the configuration bundles it delivers
/// (`--config-version`, docs/CONTROLS.md rule 4); returns its id.
pub fn open_change_naming(c: Command, title: &str, digest: &str, configs: &[&str]) -> String {
    let mut args = vec![
        "--title",
        title,
        "--ticket",
        TICKET,
        "--artifact",
        digest,
        "--path",
        "README.md",
    ];
    for config in configs {
        args.extend(["--config-version", config]);
    }
    open_change_with(c, &args)
}

/// Opens a change with `c` and the `ward change open` arguments `args`; returns its id.
pub fn open_change_with(mut c: Command, args: &[&str]) -> String {
    c.args(["change", "open"]).args(args).args(["--output", "json"]);
    json(&ok(run(c)))["id"].as_str().expect("change id").to_string()
}

/// A printed command's words, as a POSIX shell splits them (single quotes and backslashes: the
/// CLI quotes values with them).
pub fn shell_words(cmd: &str) -> Vec<String> {
    let (mut words, mut cur, mut quoted, mut any) = (Vec::new(), String::new(), false, false);
    let mut chars = cmd.chars();
    while let Some(ch) = chars.next() {
        match ch {
            '\\' if !quoted => {
                cur.extend(chars.next());
                any = true;
            }
            '\'' => {
                quoted = !quoted;
                any = true;
            }
            c if c.is_whitespace() && !quoted => {
                if any {
                    words.push(std::mem::take(&mut cur));
                }
                any = false;
            }
            c => {
                cur.push(c);
                any = true;
            }
        }
    }
    if any {
        words.push(cur);
    }
    words
}

/// The words after `ward` of the `ward …` command at the end of a printed line
/// (`fix: words: ward …`, `hint: … `ward …``).
pub fn printed_command(line: &str) -> Option<Vec<String>> {
    let at = line.find("ward ")?;
    let cmd = line[at..].trim_end_matches(['`', ')', '.']);
    let cmd = cmd.split('`').next().unwrap_or(cmd);
    let words = shell_words(cmd);
    (words.len() > 1).then(|| words[1..].to_vec())
}

/// A printed command's words without the `--server URL` a command printed through a server
/// names (the test's own runner names the same server).
pub fn without_server(words: Vec<String>) -> Vec<String> {
    match words.first().map(String::as_str) {
        Some("--server") => words[2.min(words.len())..].to_vec(),
        _ => words,
    }
}

/// The commands of every `hint:` line in `stderr` that names one, in order.
pub fn hint_commands(stderr: &[u8]) -> Vec<Vec<String>> {
    String::from_utf8_lossy(stderr)
        .lines()
        .filter_map(|l| l.strip_prefix("hint: "))
        .filter_map(printed_command)
        .collect()
}

/// The Prometheus server binary (Debian package `prometheus`); `None` (the test is skipped,
/// visibly) when it is missing outside CI, where `.ci/run` installs it.
pub fn prometheus_binary() -> Option<&'static str> {
    #[path = "../../../ward-runtime/tests/support/prometheus.rs"]
    mod support;
    support::prometheus_binary()
}

/// A running `ward serve`, killed when dropped (also when an assertion fails).
pub struct Serving(pub std::process::Child);

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `ward serve` on a free loopback port with `extra` arguments; returns it and the base
/// URL it printed.
pub fn serve_with(d: &Path, extra: &[&str]) -> (Serving, String) {
    use std::io::{BufRead, BufReader};
    let mut c = ward(d, None);
    c.args(["serve", "--listen", "127.0.0.1:0"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut child = c.spawn().expect("spawn ward serve");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("read the serving line");
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://") || w.starts_with("https://"))
        .unwrap_or_else(|| panic!("no URL in {line:?}"))
        .to_string();
    (Serving(child), url)
}

/// The password the tests give a local user `name`.
pub fn pw(name: &str) -> String {
    format!("{name}-correct-horse-battery")
}

/// Adds a local user `name` ("`name` Example") with `roles`, password [`pw`].
pub fn add_user(d: &Path, db: Option<&str>, name: &str, roles: &[&str]) {
    ok(run_with_stdin(
        {
            let mut c = ward(d, db);
            c.args([
                "user",
                "add",
                "--name",
                name,
                "--display-name",
                &format!("{name} Example"),
            ]);
            for r in roles {
                c.args(["--role", r]);
            }
            c
        },
        &format!("{}\n", pw(name)),
    ));
}

/// `ward --as NAME ARGS…` locally, re-authenticating with [`pw`].
pub fn as_user(d: &Path, db: Option<&str>, name: &str, args: &[&str]) -> Command {
    // A command printed in local mode names its user as a placeholder (`ward --as USER approve
    // …`): the person fills it with their own name, as here.
    let args: Vec<&str> = match args {
        ["--as", "USER", rest @ ..] => rest.to_vec(),
        _ => args.to_vec(),
    };
    let mut c = ward(d, db);
    c.args(["--as", name]).args(&args).env("WARD_PASSWORD", pw(name));
    c
}
