//! Reading AOF command files: RESP multibulk commands, streamed, with Redis's rules for a torn
//! tail.
//!
//! The caller replays each command ([`read_commands`]'s `replay`). A file that ends inside a
//! command — or inside a MULTI without its EXEC — is *truncated*: when it is the last file and
//! `aof-load-truncated yes`, the file is cut back to the end of the last whole command (before
//! the unfinished MULTI) with a warning and loading succeeds; otherwise loading fails with an
//! error naming the file and the offset. Anything that is not RESP is an error, never a panic,
//! and no allocation is larger than what is left of the file.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use bytes::Bytes;

/// How reading a command file ended.
#[derive(Debug, Default)]
pub struct ReadOutcome {
    pub commands: u64,
    /// The file was cut back to this length (a torn tail dropped).
    pub truncated_to: Option<u64>,
}

enum Step {
    Command(Vec<Bytes>),
    End,
    /// The input ended inside a command.
    Short,
}

struct Input<R> {
    r: BufReader<R>,
    offset: u64,
    size: u64,
}

impl<R: Read> Input<R> {
    fn line(&mut self) -> Result<Option<Vec<u8>>, String> {
        let mut line = Vec::new();
        let n = (&mut self.r)
            .take(64)
            .read_until(b'\n', &mut line)
            .map_err(|e| e.to_string())?;
        self.offset += n as u64;
        if n == 0 || line.last() != Some(&b'\n') {
            if n == 64 {
                return Err("line too long".into());
            }
            return Ok(None);
        }
        line.pop();
        if line.pop() != Some(b'\r') {
            return Err("line not terminated by CRLF".into());
        }
        Ok(Some(line))
    }

    fn number(&mut self, prefix: u8) -> Result<Option<u64>, String> {
        let Some(line) = self.line()? else {
            return Ok(None);
        };
        if line.first() != Some(&prefix) {
            return Err(format!("expected '{}'", prefix as char));
        }
        std::str::from_utf8(&line[1..])
            .ok()
            .and_then(|s| s.parse::<u64>().ok())
            .map(Some)
            .ok_or_else(|| "invalid count".to_string())
    }

    fn step(&mut self) -> Result<Step, String> {
        if self.r.fill_buf().map_err(|e| e.to_string())?.is_empty() {
            return Ok(Step::End);
        }
        let Some(argc) = self.number(b'*')? else {
            return Ok(Step::Short);
        };
        if argc == 0 {
            return Err("invalid argument count".into());
        }
        if argc > self.size.saturating_sub(self.offset) {
            // More arguments than bytes left: the command cannot be whole.
            return Ok(Step::Short);
        }
        let mut argv = Vec::with_capacity(argc as usize);
        for _ in 0..argc {
            let Some(len) = self.number(b'$')? else {
                return Ok(Step::Short);
            };
            let left = self.size.saturating_sub(self.offset);
            if len.saturating_add(2) > left {
                return Ok(Step::Short);
            }
            let mut arg = vec![0u8; len as usize + 2];
            if self.r.read_exact(&mut arg).is_err() {
                return Ok(Step::Short);
            }
            self.offset += len + 2;
            if &arg[len as usize..] != b"\r\n" {
                return Err("argument not terminated by CRLF".into());
            }
            arg.truncate(len as usize);
            argv.push(Bytes::from(arg));
        }
        Ok(Step::Command(argv))
    }
}

/// Replays the commands of `path` from byte `start` on. `last`: it is the last file of the
/// AOF (the only one whose tail may be torn); `truncated_ok`: `aof-load-truncated`.
pub fn read_commands(
    path: &Path,
    start: u64,
    last: bool,
    truncated_ok: bool,
    replay: &mut dyn FnMut(&[Bytes]) -> Result<(), String>,
) -> Result<ReadOutcome, String> {
    let name = path.display().to_string();
    let mut file = File::open(path).map_err(|e| format!("{name}: {e}"))?;
    let size = file.metadata().map_err(|e| format!("{name}: {e}"))?.len();
    file.seek(SeekFrom::Start(start))
        .map_err(|e| format!("{name}: {e}"))?;
    let mut input = Input {
        r: BufReader::with_capacity(1 << 20, file),
        offset: start,
        size,
    };
    let mut out = ReadOutcome::default();
    // Where the last whole command ended, and where an open MULTI began.
    let mut valid = start;
    let mut multi_at: Option<u64> = None;
    loop {
        let at = input.offset;
        match input.step() {
            Ok(Step::Command(argv)) => {
                if argv[0].eq_ignore_ascii_case(b"multi") {
                    multi_at = Some(at);
                } else if argv[0].eq_ignore_ascii_case(b"exec") {
                    multi_at = None;
                }
                replay(&argv).map_err(|e| format!("{e} in {name} at offset {at}"))?;
                out.commands += 1;
                valid = input.offset;
            }
            Ok(Step::End) => {
                let Some(m) = multi_at else {
                    return Ok(out);
                };
                tracing::warn!("Revert incomplete MULTI/EXEC transaction in AOF file {name}");
                return truncate(path, &name, m, last, truncated_ok, out);
            }
            Ok(Step::Short) => {
                let cut = multi_at.unwrap_or(valid);
                return truncate(path, &name, cut, last, truncated_ok, out);
            }
            Err(e) => {
                return Err(format!(
                    "Bad file format reading the append only file {name} at offset {at}: {e}"
                ))
            }
        }
    }
}

fn truncate(
    path: &Path,
    name: &str,
    at: u64,
    last: bool,
    truncated_ok: bool,
    mut out: ReadOutcome,
) -> Result<ReadOutcome, String> {
    if !(last && truncated_ok) {
        return Err(format!(
            "Unexpected end of file reading the append only file {name} at offset {at}. You can: 1) Make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>. 2) Alternatively you can set the 'aof-load-truncated' configuration option to yes and restart the server."
        ));
    }
    tracing::warn!("!!! Warning: short read while loading the AOF file {name}!!!");
    tracing::warn!("!!! Truncating the AOF {name} at offset {at} !!!");
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(|e| format!("{name}: {e}"))?;
    f.set_len(at)
        .and_then(|()| f.sync_all())
        .map_err(|e| format!("Error truncating the AOF file {name}: {e}"))?;
    tracing::warn!("AOF loaded anyway because aof-load-truncated is enabled");
    out.truncated_to = Some(at);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::persist::aof::encode_command;

    fn file_with(name: &str, bytes: &[u8]) -> std::path::PathBuf {
        let p = std::env::temp_dir().join(format!("ferrokv-aofload-{}-{name}", std::process::id()));
        std::fs::write(&p, bytes).unwrap();
        p
    }

    fn commands(path: &Path, last: bool, ok: bool) -> Result<(Vec<String>, ReadOutcome), String> {
        let mut seen = Vec::new();
        let out = read_commands(path, 0, last, ok, &mut |argv| {
            seen.push(
                argv.iter()
                    .map(|a| String::from_utf8_lossy(a).into_owned())
                    .collect::<Vec<_>>()
                    .join(" "),
            );
            Ok(())
        })?;
        Ok((seen, out))
    }

    fn sample() -> Vec<u8> {
        let mut b = Vec::new();
        encode_command(&mut b, &[b"SET", b"a", b"1"]);
        encode_command(&mut b, &[b"MULTI"]);
        encode_command(&mut b, &[b"INCR", b"n"]);
        encode_command(&mut b, &[b"EXEC"]);
        encode_command(&mut b, &[b"SET", b"bin", b"\r\n\x00"]);
        b
    }

    #[test]
    fn whole_files_replay_every_command() {
        let p = file_with("whole", &sample());
        let (seen, out) = commands(&p, true, false).unwrap();
        assert_eq!(seen.len(), 5);
        assert_eq!(out.truncated_to, None);
    }

    #[test]
    fn torn_tails_are_cut_back_only_when_allowed() {
        let full = sample();
        let mut multi_only = Vec::new();
        encode_command(&mut multi_only, &[b"SET", b"a", b"1"]);
        let set_end = multi_only.len() as u64;
        encode_command(&mut multi_only, &[b"MULTI"]);
        encode_command(&mut multi_only, &[b"INCR", b"n"]);
        let p = file_with("multi", &multi_only);
        let (_, out) = commands(&p, true, true).unwrap();
        assert_eq!(
            out.truncated_to,
            Some(set_end),
            "an unfinished MULTI is reverted"
        );
        for cut in 1..full.len() {
            let p = file_with(&format!("cut{cut}"), &full[..cut]);
            if let Err(e) = commands(&p, true, false) {
                assert!(e.contains("offset"), "{e}");
            }
            let (_, out) = commands(&p, true, true).unwrap();
            // What is left is whole: a strict read accepts it as it is.
            let (_, again) = commands(&p, true, false).unwrap();
            assert_eq!(again.truncated_to, None);
            if let Some(at) = out.truncated_to {
                assert_eq!(std::fs::metadata(&p).unwrap().len(), at);
            }
            let _ = std::fs::remove_file(&p);
        }
        let p = file_with("garbage", b"+OK\r\n");
        assert!(commands(&p, true, true)
            .unwrap_err()
            .contains("Bad file format"));
    }
}
