//! The crash test's minimal RESP client (blocking, one reply at a time) and
//! its deterministic random numbers.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq)]
pub enum R {
    Ok(String),
    Err(String),
    Int(i64),
    Bulk(Option<Vec<u8>>),
    Arr(Vec<R>),
}

pub struct Conn {
    w: TcpStream,
    r: BufReader<TcpStream>,
}

impl Conn {
    pub fn connect(port: u16) -> std::io::Result<Conn> {
        let s = TcpStream::connect(("127.0.0.1", port))?;
        s.set_read_timeout(Some(Duration::from_secs(20)))?;
        s.set_nodelay(true)?;
        Ok(Conn {
            w: s.try_clone()?,
            r: BufReader::new(s),
        })
    }

    pub fn call(&mut self, args: &[&str]) -> std::io::Result<R> {
        let mut b = format!("*{}\r\n", args.len()).into_bytes();
        for a in args {
            b.extend_from_slice(format!("${}\r\n{a}\r\n", a.len()).as_bytes());
        }
        self.w.write_all(&b)?;
        self.read()
    }

    pub fn read(&mut self) -> std::io::Result<R> {
        let mut line = String::new();
        if self.r.read_line(&mut line)? == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "closed",
            ));
        }
        let line = line.trim_end().to_string();
        let (t, rest) = line.split_at(1);
        let bad = || std::io::Error::new(std::io::ErrorKind::InvalidData, "bad reply");
        Ok(match t {
            "+" => R::Ok(rest.into()),
            "-" => R::Err(rest.into()),
            ":" => R::Int(rest.parse().map_err(|_| bad())?),
            "$" => {
                let n: i64 = rest.parse().map_err(|_| bad())?;
                if n < 0 {
                    R::Bulk(None)
                } else {
                    let mut v = vec![0u8; n as usize + 2];
                    self.r.read_exact(&mut v)?;
                    v.truncate(n as usize);
                    R::Bulk(Some(v))
                }
            }
            "*" => {
                let n: i64 = rest.parse().map_err(|_| bad())?;
                let mut v = Vec::new();
                for _ in 0..n.max(0) {
                    v.push(self.read()?);
                }
                R::Arr(v)
            }
            _ => return Err(bad()),
        })
    }

    pub fn get(&mut self, key: &str) -> Option<String> {
        match self.call(&["GET", key]) {
            Ok(R::Bulk(b)) => b.map(|b| String::from_utf8_lossy(&b).into_owned()),
            other => panic!("GET {key}: {other:?}"),
        }
    }
}

/// xorshift64*: deterministic from the seed.
pub struct Rng(pub u64);
impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545F4914F6CDD1D)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}
