//! What to send: key choice (uniform, zipf, sequential), the SET:GET mix, request encoding and
//! the reply each request must get.

use rand::rngs::SmallRng;
use rand::Rng;
use rand_distr::{Distribution, Zipf};

use crate::resp::Reply;

#[derive(Debug, Clone, Copy)]
pub enum KeyPattern {
    Uniform,
    Zipf(f64),
    Sequential,
}

impl std::str::FromStr for KeyPattern {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "uniform" => Ok(KeyPattern::Uniform),
            "sequential" => Ok(KeyPattern::Sequential),
            _ => match s.strip_prefix("zipf:") {
                Some(exp) => exp
                    .parse::<f64>()
                    .ok()
                    .filter(|e| *e > 0.0)
                    .map(KeyPattern::Zipf)
                    .ok_or_else(|| format!("bad zipf exponent in {s:?}")),
                None => Err(format!(
                    "unknown key pattern {s:?} (uniform|zipf:S|sequential)"
                )),
            },
        }
    }
}

/// `SET:GET` weights.
#[derive(Debug, Clone, Copy)]
pub struct Ratio {
    pub set: u32,
    pub get: u32,
}

impl std::str::FromStr for Ratio {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (a, b) = s
            .split_once(':')
            .ok_or("ratio must look like SET:GET, e.g. 1:10")?;
        let set = a.parse().map_err(|_| format!("bad SET weight {a:?}"))?;
        let get = b.parse().map_err(|_| format!("bad GET weight {b:?}"))?;
        if set == 0 && get == 0 {
            return Err("ratio 0:0 sends nothing".into());
        }
        Ok(Ratio { set, get })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Set,
    Get,
}

/// Per-thread request generator.
pub struct Workload {
    ratio: Ratio,
    keyspace: u64,
    pattern: KeyPattern,
    zipf: Option<Zipf<f64>>,
    next_seq: u64,
    value: Vec<u8>,
    rng: SmallRng,
}

impl Workload {
    pub fn new(
        ratio: Ratio,
        keyspace: u64,
        pattern: KeyPattern,
        data_size: usize,
        seed: u64,
    ) -> Self {
        use rand::SeedableRng;
        let keyspace = keyspace.max(1);
        let zipf = match pattern {
            KeyPattern::Zipf(s) => Zipf::new(keyspace, s).ok(),
            _ => None,
        };
        Workload {
            ratio,
            keyspace,
            pattern,
            zipf,
            next_seq: seed % keyspace,
            value: vec![b'x'; data_size],
            rng: SmallRng::seed_from_u64(seed),
        }
    }

    fn key(&mut self) -> u64 {
        match self.pattern {
            KeyPattern::Uniform => self.rng.gen_range(0..self.keyspace),
            KeyPattern::Sequential => {
                let k = self.next_seq;
                self.next_seq = (self.next_seq + 1) % self.keyspace;
                k
            }
            KeyPattern::Zipf(_) => match &self.zipf {
                Some(z) => (z.sample(&mut self.rng) as u64).saturating_sub(1),
                None => 0,
            },
        }
    }

    /// Appends one request to `out` and returns its kind.
    pub fn next(&mut self, out: &mut Vec<u8>) -> Op {
        let total = self.ratio.set + self.ratio.get;
        let op = if self.rng.gen_range(0..total) < self.ratio.set {
            Op::Set
        } else {
            Op::Get
        };
        let key = format!("key:{:012}", self.key());
        match op {
            Op::Set => {
                out.extend_from_slice(b"*3\r\n$3\r\nSET\r\n");
                bulk(out, key.as_bytes());
                let value = std::mem::take(&mut self.value);
                bulk(out, &value);
                self.value = value;
            }
            Op::Get => {
                out.extend_from_slice(b"*2\r\n$3\r\nGET\r\n");
                bulk(out, key.as_bytes());
            }
        }
        op
    }

    /// Whether `reply` is what `op` must get. A GET may miss (nil) before the key was set.
    pub fn check(&self, op: Op, reply: &Reply) -> bool {
        match (op, reply) {
            (Op::Set, Reply::Simple(s)) => s == b"OK",
            (Op::Get, Reply::Nil) => true,
            (Op::Get, Reply::Bulk(v)) => v == &self.value,
            _ => false,
        }
    }
}

fn bulk(out: &mut Vec<u8>, data: &[u8]) {
    out.extend_from_slice(format!("${}\r\n", data.len()).as_bytes());
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_options() {
        assert!(matches!(
            "zipf:0.99".parse::<KeyPattern>(),
            Ok(KeyPattern::Zipf(_))
        ));
        assert!("zipf:x".parse::<KeyPattern>().is_err());
        let r: Ratio = "1:10".parse().unwrap();
        assert_eq!((r.set, r.get), (1, 10));
        assert!("0:0".parse::<Ratio>().is_err());
    }

    #[test]
    fn sequential_keys_wrap_and_requests_encode() {
        let mut w = Workload::new(Ratio { set: 1, get: 0 }, 2, KeyPattern::Sequential, 3, 0);
        let mut out = Vec::new();
        assert_eq!(w.next(&mut out), Op::Set);
        assert_eq!(
            out,
            b"*3\r\n$3\r\nSET\r\n$16\r\nkey:000000000000\r\n$3\r\nxxx\r\n".to_vec()
        );
        out.clear();
        w.next(&mut out);
        w.next(&mut out);
        assert!(String::from_utf8_lossy(&out).contains("key:000000000001"));
        assert!(String::from_utf8_lossy(&out).ends_with("key:000000000000\r\n$3\r\nxxx\r\n"));
        assert!(w.check(Op::Set, &Reply::Simple(b"OK".to_vec())));
        assert!(!w.check(Op::Get, &Reply::Bulk(b"yy".to_vec())));
    }
}
