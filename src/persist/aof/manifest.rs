//! Redis 7.0's multi-part AOF manifest: which files make up the AOF, in order.
//!
//! ```text
//! file appendonly.aof.1.base.rdb seq 1 type b
//! file appendonly.aof.1.incr.aof seq 1 type i
//! ```
//! One line per file: `file <name> seq <n> type <b|h|i>` (base, history, incremental), keys in
//! any order, names quoted when they need it. The base comes first, then the incremental files
//! in sequence order; history files are leftovers of a rewrite, to be deleted.

/// What a listed file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileType {
    Base,
    History,
    Incr,
}

impl FileType {
    fn letter(self) -> char {
        match self {
            FileType::Base => 'b',
            FileType::History => 'h',
            FileType::Incr => 'i',
        }
    }
}

/// One listed file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AofFile {
    pub name: String,
    pub seq: u64,
    pub kind: FileType,
}

/// The parsed manifest.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Manifest {
    pub base: Option<AofFile>,
    pub incrs: Vec<AofFile>,
    pub history: Vec<AofFile>,
}

/// Whether a name must be quoted (Redis's `sdsneedsrepr`).
fn needs_quotes(name: &str) -> bool {
    name.bytes()
        .any(|b| b == b'\\' || b == b'"' || b == b'\'' || !b.is_ascii_graphic())
}

fn quote(name: &str) -> String {
    let mut out = String::from("\"");
    for b in name.bytes() {
        match b {
            b'\\' => out.push_str("\\\\"),
            b'"' => out.push_str("\\\""),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x20..=0x7e => out.push(b as char),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out.push('"');
    out
}

/// Splits a line into words, honouring double quotes with backslash escapes.
fn split(line: &str) -> Option<Vec<String>> {
    let mut out = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let Some(&first) = chars.peek() else {
            return Some(out);
        };
        let mut word = String::new();
        if first == '"' {
            chars.next();
            loop {
                match chars.next()? {
                    '\\' => match chars.next()? {
                        'n' => word.push('\n'),
                        'r' => word.push('\r'),
                        't' => word.push('\t'),
                        'x' => {
                            let hex: String = [chars.next()?, chars.next()?].iter().collect();
                            word.push(u8::from_str_radix(&hex, 16).ok()? as char);
                        }
                        c => word.push(c),
                    },
                    '"' => break,
                    c => word.push(c),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() {
                    break;
                }
                word.push(c);
                chars.next();
            }
        }
        out.push(word);
    }
}

impl Manifest {
    /// Parses a manifest; errors are Redis's texts.
    pub fn parse(text: &str) -> Result<Manifest, String> {
        const BAD: &str = "Invalid AOF manifest file format";
        let mut m = Manifest::default();
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let words = split(line).ok_or(BAD)?;
            if words.len() < 6 || words.len() % 2 != 0 {
                return Err(BAD.into());
            }
            let (mut name, mut seq, mut kind) = (None, None, None);
            for kv in words.chunks(2) {
                match kv[0].to_ascii_lowercase().as_str() {
                    "file" => name = Some(kv[1].clone()),
                    "seq" => seq = kv[1].parse::<u64>().ok(),
                    "type" => {
                        kind = match kv[1].as_str() {
                            "b" => Some(FileType::Base),
                            "h" => Some(FileType::History),
                            "i" => Some(FileType::Incr),
                            _ => None,
                        }
                    }
                    _ => {}
                }
            }
            let (Some(name), Some(seq), Some(kind)) = (name, seq, kind) else {
                return Err(BAD.into());
            };
            if name.contains('/') {
                return Err(BAD.into());
            }
            let f = AofFile { name, seq, kind };
            match kind {
                FileType::Base => {
                    if m.base.is_some() {
                        return Err("Found duplicate base file information".into());
                    }
                    m.base = Some(f);
                }
                FileType::History => m.history.push(f),
                FileType::Incr => {
                    if m.incrs.last().is_some_and(|l| l.seq >= f.seq) {
                        return Err("Found a non-monotonic sequence number".into());
                    }
                    m.incrs.push(f)
                }
            }
        }
        Ok(m)
    }

    /// The manifest's text.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let files = self
            .base
            .iter()
            .chain(self.history.iter())
            .chain(self.incrs.iter());
        for f in files {
            let name = if needs_quotes(&f.name) {
                quote(&f.name)
            } else {
                f.name.clone()
            };
            out.push_str(&format!(
                "file {name} seq {} type {}\n",
                f.seq,
                f.kind.letter()
            ));
        }
        out
    }

    /// The base, then the incremental files: the order to load them in.
    pub fn load_order(&self) -> impl Iterator<Item = &AofFile> {
        self.base.iter().chain(self.incrs.iter())
    }

    /// The next sequence numbers for a base and an incremental file.
    pub fn next_base_seq(&self) -> u64 {
        self.base.as_ref().map_or(0, |b| b.seq) + 1
    }

    pub fn next_incr_seq(&self) -> u64 {
        self.incrs.last().map_or(0, |i| i.seq) + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_renders_redis_manifests() {
        let text = "file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\nfile appendonly.aof.2.incr.aof seq 2 type i\n";
        let m = Manifest::parse(text).unwrap();
        assert_eq!(m.base.as_ref().unwrap().name, "appendonly.aof.1.base.rdb");
        assert_eq!(m.incrs.len(), 2);
        assert_eq!(m.render(), text);
        assert_eq!(m.next_base_seq(), 2);
        assert_eq!(m.next_incr_seq(), 3);
        // Keys in any order, quoted names.
        let m = Manifest::parse("seq 3 type i file \"my file.aof\"\n").unwrap();
        assert_eq!(m.incrs[0].name, "my file.aof");
        assert_eq!(m.render(), "file \"my file.aof\" seq 3 type i\n");
        for bad in [
            "file a seq 1\n",
            "file a seq x type i\n",
            "file a seq 1 type z\n",
            "file a/b seq 1 type i\n",
        ] {
            assert!(Manifest::parse(bad).is_err(), "{bad}");
        }
    }
}
