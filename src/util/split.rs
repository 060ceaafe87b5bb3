//! Redis's `sdssplitargs`: a line split into arguments, with `"..."` (escapes `\n \r \t \b \a
//! \xHH \\ \"`) and `'...'` (escape `\'`) quoting. Config files, ACL files and ACL selectors
//! use it.

/// The arguments of `line`, or `None` for unbalanced quotes (or a closing quote followed by
/// something other than a space).
pub fn split_args(line: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    let mut i = 0;
    loop {
        while i < line.len() && line[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= line.len() {
            return Some(out);
        }
        let mut word = Vec::new();
        let quote = line[i];
        if quote == b'"' || quote == b'\'' {
            i += 1;
            loop {
                let c = *line.get(i)?;
                i += 1;
                if c == quote {
                    break;
                }
                if c != b'\\' {
                    word.push(c);
                    continue;
                }
                let e = *line.get(i)?;
                if quote == b'\'' {
                    // Only \' is an escape inside single quotes.
                    if e == b'\'' {
                        word.push(b'\'');
                        i += 1;
                    } else {
                        word.push(b'\\');
                    }
                    continue;
                }
                i += 1;
                match e {
                    b'n' => word.push(b'\n'),
                    b'r' => word.push(b'\r'),
                    b't' => word.push(b'\t'),
                    b'b' => word.push(8),
                    b'a' => word.push(7),
                    b'x' if line.len() >= i + 2
                        && line[i].is_ascii_hexdigit()
                        && line[i + 1].is_ascii_hexdigit() =>
                    {
                        let hex = std::str::from_utf8(&line[i..i + 2]).ok()?;
                        word.push(u8::from_str_radix(hex, 16).ok()?);
                        i += 2;
                    }
                    other => word.push(other),
                }
            }
            if line.get(i).is_some_and(|c| !c.is_ascii_whitespace()) {
                return None;
            }
        } else {
            while i < line.len() && !line[i].is_ascii_whitespace() {
                word.push(line[i]);
                i += 1;
            }
        }
        out.push(word);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_like_sdssplitargs() {
        let s = |l: &str| split_args(l.as_bytes());
        assert_eq!(
            s("a  b\tc"),
            Some(vec![b"a".to_vec(), b"b".to_vec(), b"c".to_vec()])
        );
        assert_eq!(
            s(r#""a b" 'c d'"#),
            Some(vec![b"a b".to_vec(), b"c d".to_vec()])
        );
        assert_eq!(s(r#""\x41\n""#), Some(vec![b"A\n".to_vec()]));
        assert_eq!(s(r#"'it\'s'"#), Some(vec![b"it's".to_vec()]));
        assert_eq!(s(r#""open"#), None);
        assert_eq!(s(r#""a"b"#), None);
        assert_eq!(s(""), Some(vec![]));
    }
}
