//! `tracer top` as a person uses it: in a real terminal (tmux), reading the screen and
//! pressing keys.
use std::{
    process::{Child, Command},
    thread,
    time::{Duration, Instant},
};

use tracer_tests::{hostile_command, tracer_bin, workload, HOSTILE_NAME, HOSTILE_NAME_ESCAPED, HOSTILE_PATH_ESCAPED};

/// A private tmux server running one 80x24 window.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn start(command: &str) -> Self {
        Self::start_sized(command, 80, 24)
    }

    /// Each test its own server: the tests of a file run in parallel.
    fn start_sized(command: &str, columns: u16, rows: u16) -> Self {
        static SERVERS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = SERVERS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let tmux = Self { socket: format!("tracer-test-{}-{n}", std::process::id()) };
        tmux.run(&["new-session", "-d", "-x", &columns.to_string(), "-y", &rows.to_string(), command]);
        tmux
    }

    fn run(&self, args: &[&str]) -> String {
        let out = Command::new("tmux").arg("-L").arg(&self.socket).args(args).output().expect("tmux (cargo xtask setup installs it)");
        assert!(out.status.success(), "tmux {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn screen(&self) -> String {
        self.run(&["capture-pane", "-p"])
    }

    fn keys(&self, keys: &str) {
        self.run(&["send-keys", keys]);
    }

    /// Waits until the screen shows `text`; panics with the screen after 20 s.
    fn wait_for(&self, text: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let screen = self.screen();
            if screen.contains(text) {
                return screen;
            }
            assert!(Instant::now() < deadline, "screen never showed '{text}':\n{screen}");
            thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux").arg("-L").arg(&self.socket).arg("kill-server").output();
    }
}

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn top_under_tmux_shows_the_workload_and_answers_keys() {
    let busy = Killed(workload().args(["getppid", "100000000000"]).spawn().unwrap());
    let command = format!(
        "{} top --slow 100ms -e trace=getppid,write -p {}; echo TRACER-EXIT=$?; sleep 60",
        tracer_bin().display(),
        busy.0.id()
    );
    let tmux = Tmux::start(&command);

    let screen = tmux.wait_for("getppid ");
    assert!(screen.contains("tracer top: pid"), "{screen}");
    assert!(screen.contains("last interval"), "{screen}");
    assert!(screen.contains("lost 0"), "{screen}");
    let row = screen.lines().find(|l| l.starts_with("getppid ")).unwrap();
    let rate: f64 = row.split_whitespace().nth(1).unwrap().parse().unwrap();
    assert!(rate > 1000.0, "a busy loop of getppid makes thousands per second: {row}");
    assert!(screen.contains("getppid latency since start"), "histogram pane:\n{screen}");
    assert!(screen.contains("p99 per interval"), "sparkline pane:\n{screen}");

    tmux.keys("Tab");
    tmux.wait_for("since start |");
    tmux.keys("s");
    tmux.wait_for("sort: calls");
    tmux.keys("p");
    tmux.wait_for("[PAUSED]");
    tmux.keys("p");
    tmux.keys("Tab");
    tmux.wait_for("TCP connections, since start");
    tmux.keys("Tab");
    tmux.wait_for("errors by errno, since start");
    tmux.keys("Tab");
    // No getppid takes 100 ms: the tab is there, and says how many there were.
    tmux.wait_for("slow calls, most recent first (0 in all)");
    tmux.keys("q");
    // The view closes and the usual summary follows.
    let screen = tmux.wait_for("TRACER-EXIT=0");
    assert!(screen.contains("events: "), "{screen}");
}

#[test]
fn top_shows_a_hostile_name_and_path_escaped_and_the_terminal_keeps_its_title() {
    let command = hostile_command(&["loop", "120"]);
    let hostile = Killed(std::process::Command::new(&command[0]).args(&command[1..]).spawn().unwrap());
    let pid = hostile.0.id();
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::fs::read(format!("/proc/{pid}/comm")).ok().and_then(|c| c.strip_suffix(b"\n").map(<[u8]>::to_vec)).as_deref() != Some(HOSTILE_NAME) {
        assert!(Instant::now() < deadline, "the workload never renamed itself");
        thread::sleep(Duration::from_millis(50));
    }
    let tmux = Tmux::start_sized(
        &format!("{} top --slow 0 -e trace=openat -p {pid}; echo TRACER-EXIT=$?; sleep 60", tracer_bin().display()),
        200,
        50,
    );
    // The header names the process.
    let screen = tmux.wait_for(&format!("tracer top: pid {pid} ({HOSTILE_NAME_ESCAPED})"));
    for _ in 0..4 {
        if screen.contains("slow calls, most recent first") {
            break;
        }
        tmux.keys("Tab");
        thread::sleep(Duration::from_millis(300));
    }
    let screen = tmux.wait_for(HOSTILE_PATH_ESCAPED);
    let slow = screen.lines().find(|l| l.contains(HOSTILE_PATH_ESCAPED)).unwrap();
    assert!(slow.contains(&format!(" {HOSTILE_NAME_ESCAPED}] openat(")), "{screen}");
    // Raw, the name would have turned the text red and the path retitled and cleared the pane.
    let styled = tmux.run(&["capture-pane", "-p", "-e"]);
    assert!(!styled.contains("\x1b[31m"), "the name's escape sequence reached the terminal:\n{styled:?}");
    let title = tmux.run(&["display-message", "-p", "#{pane_title}"]);
    assert!(!title.contains("pwned"), "the path's escape sequence retitled the terminal: {title}");
    tmux.keys("q");
    tmux.wait_for("TRACER-EXIT=0");
    let history = tmux.run(&["capture-pane", "-p", "-S", "-"]);
    assert!(history.contains(&format!("attached to process {pid} ({HOSTILE_NAME_ESCAPED})")), "{history}");
}
