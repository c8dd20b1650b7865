//! `tracer serve`: a real Prometheus server (Debian's package, started here on loopback) scrapes
//! the agent; what it stores must be the workload's exact counts and the latency it was made
//! to have.
use std::{
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use tracer_tests::{http_get, tracer, url_encode, Attached, TestCgroup, Waiting};

/// A Prometheus server scraping `target` every second, stopped when dropped.
struct Prometheus {
    child: Child,
    addr: String,
    dir: PathBuf,
}

impl Prometheus {
    fn start(target: &str) -> Self {
        Self::start_with(target, "")
    }

    /// `job` is more of the scrape config, lines indented as the job's keys are.
    fn start_with(target: &str, job: &str) -> Self {
        let dir = fresh_dir(&format!("prometheus-{}", target.replace(':', "-")));
        let config = dir.join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: tracer\n    static_configs:\n      - targets: ['{target}']\n{job}"
            ),
        )
        .unwrap();
        let addr = format!("127.0.0.1:{}", free_port());
        let child = Command::new("prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.tsdb.path={}", dir.join("data").display()))
            .arg(format!("--web.listen-address={addr}"))
            .arg("--log.level=warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("log")).unwrap())
            .spawn()
            .expect("prometheus (cargo xtask setup installs Debian's prometheus package)");
        Self { child, addr, dir }
    }

    /// The value of an instant query with one result, once there is one.
    fn query(&self, query: &str) -> Option<f64> {
        let (status, body) = http_get(&self.addr, &format!("/api/v1/query?query={}", url_encode(query))).ok()?;
        if status != 200 {
            return None;
        }
        let json: serde_json::Value = serde_json::from_str(&body).ok()?;
        let result = json["data"]["result"].as_array()?;
        let [only] = result.as_slice() else { return None };
        only["value"][1].as_str()?.parse().ok()
    }

    /// Polls `query` until `accept` takes its value; panics with the last value after 60 s.
    fn wait_for(&self, query: &str, accept: impl Fn(f64) -> bool) -> f64 {
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut last = None;
        while Instant::now() < deadline {
            last = self.query(query);
            if let Some(value) = last.filter(|&v| accept(v)) {
                return value;
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        let log = std::fs::read_to_string(self.dir.join("log")).unwrap_or_default();
        panic!("Prometheus never gave an acceptable value for {query}: last {last:?}\nits log:\n{log}");
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// An empty directory of this test process's own: tracer-test-NAME-PID in the temporary one.
fn fresh_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tracer-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Starts `tracer serve ARGS --listen 127.0.0.1:0`; returns it and the address it serves on.
fn serve(args: &[&str]) -> (Attached, String) {
    let mut all = vec!["serve", "--listen", "127.0.0.1:0", "-i", "200ms"];
    all.extend_from_slice(args);
    let agent = Attached::spawn(&all);
    let line = agent.wait_for_stderr("serving metrics on ");
    let addr = line.split("://").nth(1).and_then(|rest| rest.strip_suffix("/metrics")).expect("address").to_string();
    (agent, addr)
}

#[test]
fn prometheus_scrapes_the_exact_counts_and_the_latency_band_of_a_cgroup() {
    let cgroup = TestCgroup::new("serve");
    let name = cgroup.name();
    let (getppid, reads, outside) =
        (Waiting::spawn(&["getppid", "1234"]), Waiting::spawn(&["pipe-sleep", "5", "30"]), Waiting::spawn(&["getppid", "777"]));
    cgroup.enter(getppid.pid());
    cgroup.enter(reads.pid());
    let (agent, addr) = serve(&["--cgroup", cgroup.path.to_str().unwrap(), "--by", "cgroup", "-e", "trace=getppid,read"]);
    agent.wait_for_stderr("attached to cgroup");
    let prometheus = Prometheus::start(&addr);
    for workload in [&getppid, &reads, &outside] {
        workload.go();
    }
    assert!(getppid.wait().success() && reads.wait().success() && outside.wait().success());

    let calls = prometheus.wait_for(&format!("sum(tracer_syscalls_total{{syscall=\"getppid\",cgroup=\"{name}\"}})"), |v| v >= 1234.0);
    assert_eq!(calls, 1234.0, "inside the cgroup only, exactly");
    assert_eq!(prometheus.query("sum(tracer_syscalls_total{syscall=\"getppid\"})"), Some(1234.0), "nothing from outside");
    let reads_seen = prometheus.wait_for(&format!("sum(tracer_syscall_duration_seconds_count{{syscall=\"read\",cgroup=\"{name}\"}})"), |v| v >= 5.0);
    assert_eq!(reads_seen, 5.0);
    // Each read waited for a writer that sleeps 30 ms first.
    let p50 = prometheus
        .query(&format!("histogram_quantile(0.5, sum by (le) (tracer_syscall_duration_seconds_bucket{{syscall=\"read\",cgroup=\"{name}\"}}))"))
        .expect("a p50");
    assert!((0.025..=0.05).contains(&p50), "p50 of 30 ms reads: {p50}");
    assert_eq!(prometheus.query("tracer_events_lost_total"), Some(0.0));
    assert!(prometheus.query("process_resident_memory_bytes").is_some_and(|rss| rss > 1e6));
    let (status, health) = http_get(&addr, "/healthz").unwrap();
    assert_eq!((status, health.as_str()), (200, "ok\n"));
    drop(agent);
}

#[test]
fn an_ended_group_is_dropped_after_it_was_scraped_and_two_agents_do_not_disturb_each_other() {
    let cgroup = TestCgroup::new("retire");
    let path = cgroup.path.to_str().unwrap();
    let (first, first_addr) = serve(&["--cgroup", path, "--by", "comm", "-e", "trace=getppid"]);
    let (second, second_addr) = serve(&["--cgroup", path, "-e", "trace=getppid"]);
    first.wait_for_stderr("attached to cgroup");
    second.wait_for_stderr("attached to cgroup");
    let workload = Waiting::spawn(&["getppid", "321"]);
    cgroup.enter(workload.pid());
    workload.go();
    assert!(workload.wait().success());
    let scrape = |addr: &str| {
        let (status, body) = http_get(addr, "/metrics").unwrap();
        assert_eq!(status, 200);
        body
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    let scrape_until = |addr: &str, series: &str| {
        let mut page = scrape(addr);
        while !page.contains(series) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
            page = scrape(addr);
        }
        assert!(page.contains(series), "{page}");
    };
    scrape_until(&first_addr, "tracer_syscalls_total{comm=\"workload\",syscall=\"getppid\"} 321\n");
    // The other agent counts the same calls, without the label.
    scrape_until(&second_addr, "tracer_syscalls_total{syscall=\"getppid\"} 321\n");
    let mut page = String::new();
    // The process is gone and its figures were scraped: a few intervals later, the series is.
    let mut retired = false;
    while !retired && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
        page = scrape(&first_addr);
        retired = !page.contains("comm=\"workload\"") && page.contains("tracer_groups_retired_total 1\n");
    }
    assert!(retired, "{page}");
}

#[test]
fn a_port_in_use_is_one_line() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let output = tracer().args(["serve", "--listen", &addr, "--all"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(&format!("cannot listen on {addr}")) && stderr.trim_end().lines().count() == 1, "{stderr}");
}

/// Runs `openssl ARGS` in `dir`.
fn openssl(dir: &std::path::Path, args: &[&str]) {
    let output = Command::new("openssl").current_dir(dir).args(args).output().expect("openssl");
    assert!(output.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&output.stderr));
}

/// A CA, and a server (localhost, 127.0.0.1) and a client certificate it signed, in `dir`:
/// ca.pem, server.crt/.key, client.crt/.key.
fn make_certificates(dir: &std::path::Path) {
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
    openssl(dir, &[&["req", "-x509"], &ec[..], &["-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=tracer test CA"]].concat());
    for (name, extensions) in [
        ("server", "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n"),
        ("client", "extendedKeyUsage=clientAuth\n"),
    ] {
        std::fs::write(dir.join(format!("{name}.ext")), extensions).unwrap();
        let (key, csr, crt, ext) = (format!("{name}.key"), format!("{name}.csr"), format!("{name}.crt"), format!("{name}.ext"));
        openssl(dir, &[&["req"], &ec[..], &["-keyout", &key, "-out", &csr, "-subj", &format!("/CN={name}")]].concat());
        openssl(dir, &["x509", "-req", "-in", &csr, "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", &crt, "-days", "2", "-extfile", &ext]);
    }
}

/// `curl` over https to the agent: the status (0 when no HTTP answer came), headers and body.
fn curl(dir: &std::path::Path, addr: &str, path: &str, extra: &[&str]) -> (u16, String) {
    let output = Command::new("curl")
        .current_dir(dir)
        .args(["-s", "-i", "--max-time", "20", "--cacert", "ca.pem", "-w", "\n%{http_code}"])
        .args(extra)
        .arg(format!("https://{addr}{path}"))
        .output()
        .expect("curl");
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let (response, code) = text.rsplit_once('\n').unwrap_or(("", &text));
    (code.trim().parse().unwrap_or(0), response.to_string())
}

#[test]
fn with_a_web_config_prometheus_scrapes_over_https_with_basic_auth_and_no_one_else_does() {
    let dir = fresh_dir("web-config");
    std::fs::create_dir(dir.join("tls")).unwrap();
    make_certificates(&dir.join("tls"));
    let hash = bcrypt::hash("s3cret", 10).unwrap();
    // Paths relative to the file's directory, as exporter-toolkit takes them.
    let web_config = dir.join("web.yml");
    std::fs::write(
        &web_config,
        format!(
            "tls_server_config:\n  cert_file: tls/server.crt\n  key_file: tls/server.key\n  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: tls/ca.pem\n  min_version: TLS12\nbasic_auth_users:\n  prometheus: {hash}\n"
        ),
    )
    .unwrap();

    let cgroup = TestCgroup::new("web-config");
    let workload = Waiting::spawn(&["getppid", "4321"]);
    cgroup.enter(workload.pid());
    let (agent, addr) = serve(&["--web-config", web_config.to_str().unwrap(), "--cgroup", cgroup.path.to_str().unwrap(), "-e", "trace=getppid"]);
    agent.wait_for_stderr("attached to cgroup");
    workload.go();
    assert!(workload.wait().success());

    let tls = dir.join("tls");
    let prometheus = Prometheus::start_with(
        &addr,
        &format!(
            "    scheme: https\n    tls_config:\n      ca_file: {t}/ca.pem\n      cert_file: {t}/client.crt\n      key_file: {t}/client.key\n    basic_auth:\n      username: prometheus\n      password: s3cret\n",
            t = tls.display()
        ),
    );
    assert_eq!(prometheus.wait_for("sum(tracer_syscalls_total{syscall=\"getppid\"})", |v| v >= 4321.0), 4321.0);
    assert_eq!(prometheus.query("up{job=\"tracer\"}"), Some(1.0));

    let client = ["--cert", "client.crt", "--key", "client.key"];
    let (status, response) = curl(&tls, &addr, "/metrics", &client);
    assert_eq!(status, 401, "no credentials: {response}");
    assert!(response.to_ascii_lowercase().contains("www-authenticate: basic"), "{response}");
    assert!(!response.contains("tracer_syscalls_total"), "{response}");
    let (status, response) = curl(&tls, &addr, "/metrics", &[&client[..], &["-u", "prometheus:wrong"]].concat());
    assert_eq!(status, 401, "a wrong password: {response}");
    let (status, response) = curl(&tls, &addr, "/metrics", &[&client[..], &["-u", "someone:s3cret"]].concat());
    assert_eq!(status, 401, "an unknown user: {response}");
    let (status, response) = curl(&tls, &addr, "/metrics", &[&client[..], &["-u", "prometheus:s3cret"]].concat());
    assert_eq!(status, 200, "{response}");
    assert!(response.contains("tracer_syscalls_total{syscall=\"getppid\"} 4321\n"), "{response}");
    let (status, response) = curl(&tls, &addr, "/healthz", &client);
    assert_eq!((status, response.ends_with("\r\n\r\nok\n")), (200, true), "/healthz needs no password: {response}");
    // Without a client certificate the handshake fails: no HTTP answer at all.
    assert_eq!(curl(&tls, &addr, "/healthz", &["-u", "prometheus:s3cret"]).0, 0);
    // Plain HTTP to the TLS port gets nothing either.
    let plain = http_get(&addr, "/metrics");
    assert!(plain.as_ref().map_or(true, |(status, body)| *status != 200 && !body.contains("tracer_")), "{plain:?}");
    drop(agent);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_bad_web_config_is_one_line_before_anything_is_traced() {
    let dir = fresh_dir("bad-web-config");
    let web_config = dir.join("web.yml");
    for (text, expected) in [
        ("tls_server_config:\n  cert_file: missing.crt\n  key_file: missing.key\n".to_string(), format!("cannot read {}", dir.join("missing.crt").display())),
        ("basic_auth_users:\n  prometheus: s3cret\n".to_string(), "is not a bcrypt hash".to_string()),
        ("tls_server_config:\n  certfile: a\n".to_string(), "unknown field `certfile`".to_string()),
        ("basic_auth_users: [\n".to_string(), "--web-config".to_string()),
    ] {
        std::fs::write(&web_config, &text).unwrap();
        let output = tracer().args(["serve", "--listen", "127.0.0.1:0", "--web-config", web_config.to_str().unwrap(), "--all"]).output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{text}: {stderr}");
        assert!(stderr.starts_with("tracer: --web-config ") && stderr.contains(&expected) && stderr.trim_end().lines().count() == 1, "{text}: {stderr}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn listening_beyond_loopback_without_a_web_config_warns_in_one_line() {
    let cgroup = TestCgroup::new("open-endpoint");
    let path = cgroup.path.to_str().unwrap();
    let warnings = |listen: &str| {
        let output = tracer().args(["serve", "--listen", listen, "--cgroup", path, "-e", "trace=getppid", "-d", "300ms"]).output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        assert!(output.status.success(), "{stderr}");
        stderr.lines().filter(|line| line.starts_with("tracer: warning")).map(str::to_string).collect::<Vec<_>>()
    };
    assert_eq!(
        warnings("0.0.0.0:0"),
        ["tracer: warning: /metrics on 0.0.0.0:0 is open to anyone: give --web-config FILE for TLS and basic auth"]
    );
    assert_eq!(warnings("127.0.0.1:0"), Vec::<String>::new());
}
