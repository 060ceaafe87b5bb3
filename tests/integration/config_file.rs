//! The config file: supported directives apply, unknown ones and bad values stop the server
//! with the line number and exit code 1; flags override the file.

use std::process::Command;

use crate::common::{self, run, Server};

/// A throwaway config file removed on drop (no extra dependency needed).
mod tempfile_path {
    pub struct Path(pub std::path::PathBuf);
    impl Path {
        pub fn new(text: &str) -> Path {
            let p = super::common::temp_file("config.conf");
            std::fs::write(&p, text).expect("write config");
            Path(p)
        }
        pub fn as_str(&self) -> &str {
            self.0.to_str().expect("utf8 path")
        }
    }
    impl Drop for Path {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }
}

fn start_with_file(text: &str) -> std::process::Output {
    let file = tempfile_path::Path::new(text);
    Command::new(env!("CARGO_BIN_EXE_ferrokv-server"))
        .args(["--config", file.as_str(), "--port", "0"])
        .output()
        .expect("run ferrokv-server")
}

#[test]
fn unknown_directive_exits_1_naming_the_line() {
    let out = start_with_file("port 7000\n# comment\n\nfrobnicate yes\n");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("line 4"), "stderr: {err}");
    assert!(err.contains("frobnicate"), "stderr: {err}");
}

#[test]
fn bad_value_exits_1_naming_the_line() {
    let out = start_with_file("maxclients lots\n");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("line 1"), "stderr: {err}");
}

#[test]
fn missing_file_exits_1() {
    let out = Command::new(env!("CARGO_BIN_EXE_ferrokv-server"))
        .args(["--config", "/nonexistent/ferrokv.conf"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn file_directives_apply_and_flags_override() {
    let file = tempfile_path::Path::new("databases 4\nmaxclients 77\ntimeout 0\nport 1\n");
    let s = Server::start(&["--config", file.as_str()]);
    let mut c = s.conn();
    // --port 0 from the harness overrides `port 1` in the file, or we could not connect at all.
    assert!(run(&mut c, &["SELECT", "3"]).is_ok());
    assert_eq!(
        common::err(&mut c, &["SELECT", "4"]),
        "ERR DB index is out of range"
    );
}
