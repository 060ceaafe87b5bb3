//! Basic end-to-end checks of the server binary: start, PING, SET/GET, shutdown by signal.

mod common;

use common::{run, Server};

#[test]
fn ping_set_get_and_clean_sigterm_exit() {
    let s = Server::start(&["--threads", "2"]);
    let mut c = s.conn();
    assert_eq!(run(&mut c, &["PING"]).unwrap(), redis::Value::SimpleString("PONG".into()));
    let _: () = redis::cmd("SET").arg("k").arg("v").query(&mut c).unwrap();
    let v: String = redis::cmd("GET").arg("k").query(&mut c).unwrap();
    assert_eq!(v, "v");
    drop(c);
    assert_eq!(s.terminate(), Some(0));
}
