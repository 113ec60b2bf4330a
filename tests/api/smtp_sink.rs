//! A real SMTP server for the tests: `scripts/smtp_sink.py` (Python's aiosmtpd) on a free port,
//! recording every message it accepts. CI installs aiosmtpd and sets REQUIRE_AIOSMTPD; elsewhere a
//! test that needs the server is skipped with a note when aiosmtpd is missing.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

pub struct SmtpSink {
    pub url: String,
    messages: std::path::PathBuf,
    child: Child,
    _dir: tempfile::TempDir,
}

impl SmtpSink {
    /// Starts the server, or `None` (with a note) when aiosmtpd is not installed and not required.
    pub fn start() -> Option<SmtpSink> {
        let available = Command::new("python3").args(["-c", "import aiosmtpd"]).status().is_ok_and(|s| s.success());
        if !available {
            assert!(std::env::var("REQUIRE_AIOSMTPD").is_err(), "python3 -m pip install aiosmtpd");
            eprintln!("skipped: this test needs a real SMTP server (python3 -m pip install aiosmtpd)");
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let messages = dir.path().join("messages.jsonl");
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/smtp_sink.py");
        let mut child = Command::new("python3")
            .arg(script)
            .arg(port.to_string())
            .arg(&messages)
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 runs the SMTP sink");
        let mut ready = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut ready).unwrap();
        assert_eq!(ready.trim(), "ready", "the SMTP sink did not start");
        Some(SmtpSink { url: format!("smtp://127.0.0.1:{port}"), messages, child, _dir: dir })
    }

    /// Every message received so far, in order.
    pub fn messages(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.messages)
            .unwrap_or_default()
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect()
    }

    /// The messages to `address` so far.
    pub fn to(&self, address: &str) -> Vec<Value> {
        self.messages().into_iter().filter(|m| m["to"].as_array().unwrap().iter().any(|t| t == address)).collect()
    }

    /// Waits (up to 20 s) until `address` has received `count` messages; returns them.
    pub async fn wait_for(&self, address: &str, count: usize) -> Vec<Value> {
        for _ in 0..200 {
            let got = self.to(address);
            if got.len() >= count {
                return got;
            }
            actix_web::rt::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{address} received {} of {count} messages: {:?}", self.to(address).len(), self.messages());
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The token after `marker` in a message's body (`#invite_token=`, `#token=`).
pub fn token_in(message: &Value, marker: &str) -> String {
    let body = message["body"].as_str().unwrap();
    let start = body.find(marker).unwrap_or_else(|| panic!("no {marker} in {body}")) + marker.len();
    body[start..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect()
}
