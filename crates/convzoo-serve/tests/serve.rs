//! The server end to end, on a free loopback port: the same top-5 as `convzoo predict`; 500
//! requests from 16 clients all answered; every kind of bad request a 4xx with a JSON message,
//! the server answering correctly afterwards; and the page in headless Chromium.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A built binary of the workspace, beside this test's executable.
fn workspace_bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let bin = exe.parent().unwrap().parent().unwrap().join(name);
    assert!(
        bin.is_file(),
        "{} is not built: run the workspace's tests (cargo test --release --workspace)",
        bin.display()
    );
    bin
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("convzoo-serve-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A LeNet run trained briefly through the CLI, and a Fashion-MNIST-like test image.
fn trained_run(dir: &Path) -> (PathBuf, PathBuf) {
    let run = dir.join("lenet");
    let o = Command::new(workspace_bin("convzoo"))
        .args([
            "train",
            "--model",
            "lenet-bn",
            "--epochs",
            "1",
            "--limit-train",
            "4096",
        ])
        .args(["--limit-test", "256", "--out", run.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let image = dir.join("boot.png");
    image::GrayImage::from_fn(28, 28, |x, y| {
        image::Luma([if (8..24).contains(&x) && y > 6 + x / 3 {
            200
        } else {
            0
        }])
    })
    .save(&image)
    .unwrap();
    (run, image)
}

/// The server, stopped when dropped.
struct Server {
    child: Child,
    port: u16,
}

impl Server {
    fn start(runs: &[&Path], extra: &[&str]) -> Server {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_convzoo-serve"));
        for r in runs {
            cmd.arg("--run").arg(r);
        }
        let mut child = cmd
            .args(["--port", "0"])
            .args(extra)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let out = BufReader::new(child.stdout.take().unwrap());
        for line in out.lines() {
            let line = line.unwrap();
            if let Some(addr) = line.strip_prefix("serving http://127.0.0.1:") {
                let port = addr
                    .trim_end_matches(|c: char| !c.is_ascii_digit())
                    .parse()
                    .unwrap();
                return Server { child, port };
            }
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("the server did not start");
    }

    /// Sends one request; returns the status and the body.
    fn request(&self, method: &str, path: &str, body: &[u8]) -> (u16, String) {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Type: \
             application/octet-stream\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        s.write_all(head.as_bytes()).unwrap();
        // The server may answer (413) before it reads a large body: a write error is fine.
        let _ = s.write_all(body);
        let mut raw = Vec::new();
        let _ = s.read_to_end(&mut raw);
        let text = String::from_utf8_lossy(&raw).to_string();
        let status = text
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("no HTTP response: {text:?}"));
        let body = text
            .split_once("\r\n\r\n")
            .map_or("", |(_, b)| b)
            .to_string();
        (status, body)
    }

    fn json(&self, method: &str, path: &str, body: &[u8]) -> (u16, serde_json::Value) {
        let (status, text) = self.request(method, path, body);
        (
            status,
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}")),
        )
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `convzoo predict`'s lines: (percent, name).
fn cli_top5(run: &Path, image: &Path) -> Vec<(f64, String)> {
    let o = Command::new(workspace_bin("convzoo"))
        .args([
            "predict",
            "--run",
            run.to_str().unwrap(),
            image.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .skip(1)
        .map(|l| {
            let (pct, rest) = l.trim().split_once('%').unwrap();
            let name = rest.trim().split_once("  ").unwrap().1.to_string();
            (pct.trim().parse().unwrap(), name)
        })
        .collect()
}

fn api_top5(v: &serde_json::Value) -> Vec<(f64, String)> {
    v["classes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let pct = (c["prob"].as_f64().unwrap() * 1e4).round() / 1e2;
            (pct, c["name"].as_str().unwrap().to_string())
        })
        .collect()
}

#[test]
fn predict_gives_the_cli_top5_and_inspect_every_layer() {
    let dir = scratch("predict");
    let (run, image) = trained_run(&dir);
    let server = Server::start(&[&run], &[]);
    let bytes = std::fs::read(&image).unwrap();
    let (status, v) = server.json("POST", "/api/predict?run=0", &bytes);
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["model"], "lenet-bn");
    let cli = cli_top5(&run, &image);
    assert_eq!(cli.len(), 5);
    assert_eq!(api_top5(&v), cli);

    let (status, v) = server.json("POST", "/api/inspect?run=0", &bytes);
    assert_eq!(status, 200, "{v}");
    assert_eq!(api_top5(&v), cli);
    assert_eq!(v["input"]["shape"], serde_json::json!([1, 28, 28]));
    let layers = v["layers"].as_array().unwrap();
    let (_, runs) = server.json("GET", "/api/runs", b"");
    let summary = runs["runs"][0]["summary"].as_array().unwrap();
    assert_eq!(layers.len(), summary.len());
    assert_eq!(layers[0]["shape"], serde_json::json!([1, 6, 24, 24]));
    assert_eq!(layers[0]["maps"].as_array().unwrap().len(), 6);
    assert!(layers.iter().all(|l| l["ms"].as_f64().unwrap() >= 0.0));
    assert_eq!(runs["runs"][0]["parameters"], 44_878);
    assert_eq!(
        runs["runs"][0]["metrics"]["epochs"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let (status, page) = server.request("GET", "/", b"");
    assert_eq!(status, 200);
    assert!(page.contains("<script src=\"/app.js\""), "{page}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_load_of_clients_then_bad_requests_each_get_their_answer() {
    let dir = scratch("load");
    let (run, image) = trained_run(&dir);
    let server = Server::start(&[&run], &["--max-body-mib", "1", "--workers", "2"]);
    let bytes = std::fs::read(&image).unwrap();
    let (_, first) = server.json("POST", "/api/predict?run=0", &bytes);

    // 500 requests from 16 concurrent clients.
    let latencies: Vec<f64> = std::thread::scope(|s| {
        let clients: Vec<_> = (0..16)
            .map(|c| {
                let (server, bytes) = (&server, &bytes);
                s.spawn(move || {
                    (0..500 / 16 + usize::from(c < 500 % 16))
                        .map(|_| {
                            let t = Instant::now();
                            let (status, v) = server.json("POST", "/api/predict?run=0", bytes);
                            assert_eq!(status, 200, "{v}");
                            t.elapsed().as_secs_f64() * 1e3
                        })
                        .collect::<Vec<f64>>()
                })
            })
            .collect();
        clients
            .into_iter()
            .flat_map(|c| c.join().unwrap())
            .collect()
    });
    assert_eq!(latencies.len(), 500);
    let mut sorted = latencies.clone();
    sorted.sort_by(f64::total_cmp);
    eprintln!(
        "500 requests, 16 clients: p50 {:.1} ms, p99 {:.1} ms",
        sorted[249], sorted[494]
    );

    // 50 of each bad request: each a 4xx with a JSON message.
    let big = vec![0x89u8; 2 << 20];
    let truncated = &bytes[..bytes.len() / 2];
    let bad: [(&str, &str, &[u8], u16); 7] = [
        (
            "POST",
            "/api/predict?run=0",
            b"plain text, not an image",
            415,
        ),
        ("POST", "/api/predict?run=0", b"", 400),
        ("POST", "/api/predict?run=0", truncated, 400),
        ("POST", "/api/predict?run=0", &big, 413),
        ("POST", "/api/predict?run=3", &bytes, 404),
        ("GET", "/api/predict?run=0", b"", 405),
        ("GET", "/../config.json", b"", 404),
    ];
    for (method, path, body, want) in bad {
        for _ in 0..50 {
            let (status, v) = server.json(method, path, body);
            assert_eq!(status, want, "{method} {path}: {v}");
            assert!(!v["error"].as_str().unwrap().is_empty());
        }
    }
    let (status, after) = server.json("POST", "/api/predict?run=0", &bytes);
    assert_eq!(status, 200);
    assert_eq!(after["classes"], first["classes"]);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn the_page_works_in_headless_chromium() {
    let Some(python) = std::env::var_os("CONVZOO_BROWSER_PYTHON") else {
        assert!(
            std::env::var_os("CONVZOO_REQUIRE_BROWSER").is_none(),
            "CONVZOO_REQUIRE_BROWSER is set but CONVZOO_BROWSER_PYTHON is not"
        );
        eprintln!(
            "skipped: set CONVZOO_BROWSER_PYTHON to a Python with selenium (and install chromium, chromium-driver)"
        );
        return;
    };
    let dir = scratch("browser");
    let (run, image) = trained_run(&dir);
    let server = Server::start(&[&run], &[]);
    let (_, v) = server.json(
        "POST",
        "/api/inspect?run=0",
        &std::fs::read(&image).unwrap(),
    );
    let maps: usize = v["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["maps"].as_array().unwrap().len())
        .sum();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tools/browser/check_page.py");
    let mut cmd = Command::new(python);
    cmd.arg(script)
        .args(["--url", &format!("http://127.0.0.1:{}", server.port)])
        .args(["--image", image.to_str().unwrap()]);
    if let Some(shot) = std::env::var_os("CONVZOO_SCREENSHOT") {
        cmd.arg("--screenshot").arg(shot);
    }
    let o = cmd.output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let page: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(page["top_class"], v["classes"][0]["name"], "{page}");
    assert_eq!(page["fmaps"], maps, "{page}");
    assert_eq!(
        page["layers"],
        v["layers"].as_array().unwrap().len(),
        "{page}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}
