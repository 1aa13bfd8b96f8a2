//! Running the real `sunspace` binary in a temporary data directory.

#![allow(clippy::unwrap_used)]
#![allow(dead_code, unreachable_pub)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub const PASSPHRASE: &str = "tenants united never divided";

pub struct Home {
    pub dir: tempfile::TempDir,
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn from(output: Output) -> Self {
        Self {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

impl Home {
    pub fn new() -> Self {
        Self { dir: tempfile::tempdir().unwrap() }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub fn command(&self, args: &[&str]) -> Command {
        self.command_in(None, args)
    }

    /// A `sunspace` command, run inside a network namespace if one is given.
    pub fn command_in(&self, namespace: Option<&str>, args: &[&str]) -> Command {
        let mut command = match namespace {
            Some(namespace) => {
                let mut command = Command::new("ip");
                command.args(["netns", "exec", namespace, env!("CARGO_BIN_EXE_sunspace")]);
                command
            }
            None => Command::new(env!("CARGO_BIN_EXE_sunspace")),
        };
        command
            .args(args)
            .env("SUNSPACE_HOME", self.data())
            .env("SUNSPACE_PASSPHRASE", PASSPHRASE)
            .env_remove("SUNSPACE_GROUP")
            .env_remove("SUNSPACE_LOG");
        command
    }

    /// Runs a command and returns what it printed, whatever its exit code.
    pub fn run(&self, args: &[&str]) -> Run {
        Run::from(self.command(args).output().unwrap())
    }

    /// Runs a command that must succeed and returns its standard output.
    pub fn ok(&self, args: &[&str]) -> String {
        let run = self.run(args);
        assert_eq!(run.code, 0, "`sunspace {}` failed:\n{}{}", args.join(" "), run.stdout, run.stderr);
        run.stdout
    }

    /// Runs a command that must fail, and returns its one-line error.
    pub fn fails(&self, args: &[&str]) -> String {
        let run = self.run(args);
        assert_ne!(run.code, 0, "`sunspace {}` should have failed:\n{}", args.join(" "), run.stdout);
        let stderr = run.stderr.trim().to_owned();
        assert_eq!(stderr.lines().count(), 1, "the error should be one line:\n{stderr}");
        assert!(stderr.starts_with("error: "), "{stderr}");
        assert!(!stderr.contains("panicked") && !stderr.contains("RUST_BACKTRACE"), "{stderr}");
        stderr
    }

    /// The id printed in parentheses by an `add` command, e.g. "Added … (3f2a9c1e)."
    pub fn id_in(output: &str) -> String {
        let start = output.find('(').expect("an id in parentheses") + 1;
        output[start..start + 8].to_owned()
    }

    /// A set-up device with one group.
    pub fn with_group(name: &str) -> Self {
        let home = Self::new();
        home.ok(&["init", "--name", "Ana Ruiz"]);
        home.ok(&["group", "create", name]);
        home
    }

    /// Every regular file under the data directory.
    pub fn files(&self) -> Vec<PathBuf> {
        fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    walk(&path, out);
                } else if path.is_file() {
                    // Regular files only: a running `serve`'s control socket cannot be read.
                    out.push(path);
                }
            }
        }
        let mut files = Vec::new();
        walk(&self.data(), &mut files);
        files.sort();
        files
    }

    /// Every file under the data directory with its bytes.
    pub fn contents(&self) -> Vec<(PathBuf, Vec<u8>)> {
        self.files()
            .into_iter()
            .map(|path| {
                let bytes = std::fs::read(&path).unwrap();
                (path, bytes)
            })
            .collect()
    }
}

/// A running `sunspace serve`, stopped with Ctrl-C (SIGINT) when dropped.
pub struct Serve {
    child: Child,
    pub tcp_address: String,
}

impl Serve {
    pub fn start(home: &Home) -> Self {
        Self::start_in(home, None, &["serve", "--loopback"])
    }

    /// Starts `sunspace serve` with `args`, inside a network namespace if one is given.
    pub fn start_in(home: &Home, namespace: Option<&str>, args: &[&str]) -> Self {
        let log = home.path().join("serve-stderr.log");
        let stderr = std::fs::File::create(&log).unwrap();
        // `serve` runs in a working directory of its own, as it does when started from a terminal elsewhere: a
        // command sent to it must not depend on where `serve` happens to run.
        let cwd = home.path().join("serve-cwd");
        std::fs::create_dir_all(&cwd).unwrap();
        let mut child =
            home.command_in(namespace, args).current_dir(&cwd).stdout(Stdio::piped()).stderr(stderr).spawn().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    // Keep draining so the server never blocks on a full pipe.
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut tcp_address = None;
        let mut seen = Vec::new();
        while tcp_address.is_none() && Instant::now() < deadline {
            if let Ok(line) = rx.recv_timeout(Duration::from_millis(200)) {
                seen.push(line.clone());
                if let Some(address) = line.strip_prefix("Listening on ") {
                    if address.contains("/tcp/") {
                        tcp_address = Some(address.to_owned());
                    }
                }
            }
        }
        let Some(tcp_address) = tcp_address else {
            panic!(
                "serve printed no listening address (exited: {:?}); it printed {seen:?}; its errors: {}",
                child.try_wait(),
                std::fs::read_to_string(&log).unwrap_or_default()
            )
        };
        let serve = Self { child, tcp_address };
        // The control socket is bound right after the engine starts.
        let socket = home.data().join("control.sock");
        while !socket.exists() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        serve
    }

    /// The process id of `sunspace serve` (`ip netns exec` runs it in place, so also inside a namespace).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn stop(mut self) {
        self.interrupt();
    }

    fn interrupt(&mut self) {
        let _ = std::process::Command::new("kill").arg("-INT").arg(self.child.id().to_string()).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.interrupt();
        }
    }
}

/// An invitation running in the background (`sunspace invite …` or `device link …`): the process, the rest of
/// what it prints, and the QR text it showed.
pub struct Invitation {
    process: std::process::Child,
    lines: std::io::Lines<BufReader<std::process::ChildStdout>>,
    /// The typed code.
    pub code: String,
    /// The QR code's text (the code and the inviter's addresses).
    pub qr_text: String,
}

impl Invitation {
    pub fn start(inviter: &Home, args: &[&str]) -> Self {
        let mut process = inviter.command(args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        let mut lines = BufReader::new(process.stdout.take().unwrap()).lines();
        let mut code = String::new();
        let qr_text = loop {
            let line = lines.next().expect("the invitation is printed").unwrap();
            if let Some(typed) = line.strip_prefix("On that device: sunspace join ") {
                code = typed.trim().to_owned();
            }
            if let Some(at) = line.find("sunspace:") {
                break line[at..].trim().to_owned();
            }
        };
        Self { process, lines, code, qr_text }
    }

    /// Waits for the inviting side to finish; it must succeed.
    pub fn finish(mut self) -> Vec<String> {
        let rest: Vec<String> = self.lines.map_while(Result::ok).collect();
        assert!(self.process.wait().unwrap().success(), "the invitation failed: {rest:?}");
        rest
    }
}

/// Invites from `inviter` (serving) and joins from `newcomer` (serving), both confirming the words.
pub fn admit(inviter: &Home, newcomer: &Home, name_check: &str) {
    let invitation = Invitation::start(inviter, &["invite", "--confirm"]);
    let qr_text = invitation.qr_text.clone();
    let joined = newcomer.ok(&["join", &qr_text, "--confirm"]);
    assert!(joined.contains("You are in \"Food Co-op Core\""), "{joined}");
    let rest = invitation.finish();
    let words_line = rest.iter().position(|l| l.contains("same words")).expect("the inviter is shown the words");
    let inviter_words = rest[words_line + 2].trim();
    assert!(joined.contains(inviter_words), "both devices show the same words: {inviter_words} / {joined}");
    assert!(rest.iter().any(|l| l.contains(name_check)), "{rest:?}");
}

pub fn export(home: &Home) -> serde_json::Value {
    serde_json::from_str(&home.ok(&["export", "--format", "json"])).unwrap()
}

/// What every member of the group reads alike: the export without the records placed in compartments (which
/// only some devices read) and without the heads (which include the compartments' documents).
pub fn shared_part(mut view: serde_json::Value) -> serde_json::Value {
    let placed: Vec<String> =
        view["placement"].as_object().map(|placement| placement.keys().cloned().collect()).unwrap_or_default();
    if let Some(object) = view.as_object_mut() {
        object.remove("placement");
        object.remove("heads");
        for (_, value) in object.iter_mut() {
            if let Some(records) = value.as_array_mut() {
                records.retain(|r| r["id"].as_str().is_none_or(|id| !placed.iter().any(|p| p == id)));
            }
        }
    }
    view
}

pub fn converge(homes: &[&Home]) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let exports: Vec<serde_json::Value> = homes.iter().map(|h| shared_part(export(h))).collect();
        if exports.windows(2).all(|w| w[0] == w[1]) {
            return exports[0].clone();
        }
        assert!(Instant::now() < deadline, "no convergence:\n{exports:#?}");
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// Three members of "Food Co-op Core", each device serving on loopback, Bea and Cal admitted in person by Ana,
/// all converged; with the id of the meeting Ana added first.
pub struct ThreeMembers {
    pub ana: Home,
    pub bea: Home,
    pub cal: Home,
    pub meeting: String,
    pub serving: (Serve, Serve, Serve),
}

pub fn three_members() -> ThreeMembers {
    let ana = Home::new();
    ana.ok(&["init", "--name", "Ana"]);
    ana.ok(&["group", "create", "Food Co-op Core"]);
    let meeting = Home::id_in(&ana.ok(&["meeting", "add", "--title", "Monthly", "--date", "2026-11-20"]));
    let bea = Home::new();
    bea.ok(&["init", "--name", "Bea"]);
    let cal = Home::new();
    cal.ok(&["init", "--name", "Cal"]);
    let serving = (Serve::start(&ana), Serve::start(&bea), Serve::start(&cal));
    admit(&ana, &bea, "Bea");
    admit(&ana, &cal, "Cal");
    converge(&[&ana, &bea, &cal]);
    ThreeMembers { ana, bea, cal, meeting, serving }
}

/// A TCP relay on 127.0.0.1 that forwards to `target` and keeps every byte it carries, both ways.
pub fn recording_relay(target: std::net::SocketAddr) -> (u16, std::sync::Arc<std::sync::Mutex<Vec<u8>>>) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let record = seen.clone();
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(client) = client else { break };
            let Ok(server) = std::net::TcpStream::connect(target) else { continue };
            for (mut from, mut to) in [
                (client.try_clone().unwrap(), server.try_clone().unwrap()),
                (server.try_clone().unwrap(), client.try_clone().unwrap()),
            ] {
                let record = record.clone();
                std::thread::spawn(move || {
                    let mut buffer = [0u8; 16 * 1024];
                    while let Ok(n) = from.read(&mut buffer) {
                        if n == 0 || to.write_all(&buffer[..n]).is_err() {
                            break;
                        }
                        record.lock().unwrap().extend_from_slice(&buffer[..n]);
                    }
                    let _ = to.shutdown(std::net::Shutdown::Both);
                });
            }
        }
    });
    (port, seen)
}

/// A recording relay in front of `serve`'s TCP address, and the address to dial it by.
pub fn recorded_address(serve: &Serve) -> (String, std::sync::Arc<std::sync::Mutex<Vec<u8>>>) {
    let port = serve.tcp_address.split("/tcp/").nth(1).unwrap().split('/').next().unwrap();
    let target: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let (relay_port, wire) = recording_relay(target);
    let peer_id = serve.tcp_address.rsplit("/p2p/").next().unwrap();
    (format!("/ip4/127.0.0.1/tcp/{relay_port}/p2p/{peer_id}"), wire)
}
