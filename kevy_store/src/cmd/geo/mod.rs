//! Geospatial commands (Redis's `geo.c`). A geo set IS a sorted set whose
//! scores are 52-bit geohashes (`hash.rs`), so these commands read and write
//! ordinary sorted sets: GEOADD is ZADD with computed scores, GEOPOS,
//! GEODIST and GEOHASH decode scores, and `search.rs` holds GEOSEARCH,
//! GEOSEARCHSTORE and the GEORADIUS family, whose candidates are a few
//! score-range scans.

mod hash;
mod pqsort;
mod search;

use super::ldouble::LongDouble;
use super::zsets::parse::score as c_double;
use super::StoreCommand;
use crate::ctx::Ctx;
use crate::error::{CmdError, CmdResult};
use crate::spec::{acl, flags::*, CommandMeta, Keys};
use crate::types::ZSetValue;
use crate::value::Value;
use bytes::Bytes;
use kevy_resp::Reply;
use std::sync::Arc;

macro_rules! geocmd {
    ($name:literal, $arity:expr, $flags:expr, $keys:expr, $since:literal, $run:expr,
     $summary:expr, $complexity:expr) => {
        StoreCommand {
            meta: CommandMeta {
                name: $name,
                arity: $arity,
                flags: $flags,
                acl: acl::GEO,
                keys: $keys,
                group: "geo",
                summary: $summary,
                since: $since,
                complexity: $complexity,
            },
            run: $run,
        }
    };
}

const RADIUS_KEYS: Keys = Keys::Custom {
    first: 1,
    last: 1,
    step: 1,
    find: search::georadius_keys,
};
const BYMEMBER_KEYS: Keys = Keys::Custom {
    first: 1,
    last: 1,
    step: 1,
    find: search::georadiusbymember_keys,
};
const SEARCH: &str = "O(N+log(M)) where N is the number of elements in the grid-aligned bounding box area around the shape provided as the filter and M is the number of items inside the shape";
const RADIUS: &str = "O(N+log(M)) where N is the number of elements inside the bounding box of the circular area delimited by center and radius and M is the number of items inside the index.";

/// The geo family's table.
pub(crate) static COMMANDS: &[StoreCommand] = &[
    geocmd!("geoadd", -5, WRITE | DENYOOM, Keys::ONE, "3.2.0", geoadd,
        "Add one or more geospatial items in the geospatial index represented using a sorted set",
        "O(log(N)) for each item added, where N is the number of elements in the sorted set."),
    geocmd!("geopos", -2, READONLY, Keys::ONE, "3.2.0", geopos,
        "Returns longitude and latitude of members of a geospatial index",
        "O(N) where N is the number of members requested."),
    geocmd!("geodist", -4, READONLY, Keys::ONE, "3.2.0", geodist,
        "Returns the distance between two members of a geospatial index", "O(log(N))"),
    geocmd!("geohash", -2, READONLY, Keys::ONE, "3.2.0", geohash,
        "Returns members of a geospatial index as standard geohash strings",
        "O(log(N)) for each member requested, where N is the number of elements in the sorted set."),
    geocmd!("geosearch", -7, READONLY, Keys::ONE, "6.2.0", search::geosearch,
        "Query a sorted set representing a geospatial index to fetch members inside an area of a box or a circle.",
        SEARCH),
    geocmd!("geosearchstore", -8, WRITE | DENYOOM, Keys::TWO, "6.2.0", search::geosearchstore,
        "Query a sorted set representing a geospatial index to fetch members inside an area of a box or a circle, and store the result in another key.",
        SEARCH),
    geocmd!("georadius", -6, WRITE | DENYOOM | MOVABLE_KEYS, RADIUS_KEYS, "3.2.0", search::georadius,
        "Query a sorted set representing a geospatial index to fetch members matching a given maximum distance from a point",
        RADIUS),
    geocmd!("georadius_ro", -6, READONLY, Keys::ONE, "3.2.10", search::georadius_ro,
        "A read-only variant for GEORADIUS", RADIUS),
    geocmd!("georadiusbymember", -5, WRITE | DENYOOM | MOVABLE_KEYS, BYMEMBER_KEYS, "3.2.0",
        search::georadiusbymember,
        "Query a sorted set representing a geospatial index to fetch members matching a given maximum distance from a member",
        RADIUS),
    geocmd!("georadiusbymember_ro", -5, READONLY, Keys::ONE, "3.2.10", search::georadiusbymember_ro,
        "A read-only variant for GEORADIUSBYMEMBER", RADIUS),
];

/// C's `strcasecmp(arg, name) == 0`: the argument is read up to its first
/// NUL byte, as Redis reads option names.
#[inline]
fn is(arg: &[u8], name: &str) -> bool {
    let end = arg.iter().position(|&b| b == 0).unwrap_or(arg.len());
    arg[..end].eq_ignore_ascii_case(name.as_bytes())
}

/// The sorted set under `key` (an O(1) clone), for reading; `WrongType`
/// if it holds another type (`lookupKeyRead` + `checkType`).
fn load(ctx: &mut Ctx<'_, '_>, key: &[u8]) -> Result<Option<Arc<ZSetValue>>, CmdError> {
    match ctx.get(key)? {
        None => Ok(None),
        Some(e) => match &e.value {
            Value::ZSet(z) => Ok(Some(z.clone())),
            _ => Err(CmdError::WrongType),
        },
    }
}

/// `extractLongLatOrReply`: a longitude and a latitude, both
/// `getDoubleFromObject` floats, inside the indexable ranges.
fn lon_lat(lon: &[u8], lat: &[u8]) -> Result<[f64; 2], CmdError> {
    let x = c_double(lon).ok_or(CmdError::NotFloat)?;
    let y = c_double(lat).ok_or(CmdError::NotFloat)?;
    if !(hash::LON_MIN..=hash::LON_MAX).contains(&x)
        || !(hash::LAT_MIN..=hash::LAT_MAX).contains(&y)
    {
        return Err(CmdError::err(format!(
            "invalid longitude,latitude pair {},{}",
            c_fixed6(x),
            c_fixed6(y)
        )));
    }
    Ok([x, y])
}

/// C's `%f`.
fn c_fixed6(v: f64) -> String {
    if v.is_infinite() {
        return if v < 0.0 { "-inf".into() } else { "inf".into() };
    }
    format!("{v:.6}")
}

/// `extractUnitOrReply`: metres per unit.
fn unit(arg: &[u8]) -> Result<f64, CmdError> {
    if is(arg, "m") {
        Ok(1.0)
    } else if is(arg, "km") {
        Ok(1000.0)
    } else if is(arg, "ft") {
        Ok(0.3048)
    } else if is(arg, "mi") {
        Ok(1609.34)
    } else {
        Err(CmdError::err(
            "unsupported unit provided. please use M, KM, FT, MI",
        ))
    }
}

/// `addReplyDoubleDistance`: `%.4f`, a bulk string in both protocols.
fn distance_reply(d: f64) -> Reply {
    Reply::Bulk(Bytes::from(format!("{d:.4}")))
}

/// `addReplyHumanLongDouble`: `%.17Lf` with trailing zeros trimmed.
fn coord_reply(v: f64) -> Reply {
    Reply::DoubleText(Bytes::from(LongDouble::from_f64(v).to_human()))
}

/// `GEOADD key [NX|XX] [CH] longitude latitude member [...]`: Redis turns
/// it into `ZADD key [options] score member ...`, so it is ZADD from there
/// on (WRONGTYPE after the coordinates, the `zadd` event).
fn geoadd(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    let mut zargv: Vec<Bytes> = vec![Bytes::from_static(b"zadd"), argv[1].clone()];
    let (mut nx, mut xx) = (false, false);
    let mut at = 2;
    while let Some(opt) = argv.get(at) {
        let name: &'static [u8] = if is(opt, "nx") {
            nx = true;
            b"NX"
        } else if is(opt, "xx") {
            xx = true;
            b"XX"
        } else if is(opt, "ch") {
            b"CH"
        } else {
            break;
        };
        zargv.push(Bytes::from_static(name));
        at += 1;
    }
    let rest = &argv[at..];
    if rest.is_empty() || rest.len() % 3 != 0 || (nx && xx) {
        return Err(CmdError::Syntax);
    }
    for t in rest.chunks_exact(3) {
        let [x, y] = lon_lat(&t[0], &t[1])?;
        zargv.push(Bytes::from(hash::xy_to_score(x, y).to_string()));
        zargv.push(t[2].clone());
    }
    super::zsets::zadd(ctx, &zargv)
}

/// `GEOPOS key [member ...]`
fn geopos(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    let z = load(ctx, &argv[1])?;
    let out = argv[2..]
        .iter()
        .map(|m| {
            match z
                .as_ref()
                .and_then(|z| z.score(m))
                .and_then(hash::score_to_xy)
            {
                Some([x, y]) => Reply::Array(vec![coord_reply(x), coord_reply(y)]),
                None => Reply::NilArray,
            }
        })
        .collect();
    Ok(Reply::Array(out))
}

/// `GEODIST key member1 member2 [M|KM|FT|MI]`
fn geodist(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    let to_m = match argv.len() {
        4 => 1.0,
        5 => unit(&argv[4])?,
        _ => return Err(CmdError::Syntax),
    };
    let Some(z) = load(ctx, &argv[1])? else {
        return Ok(Reply::Nil);
    };
    let (Some(s1), Some(s2)) = (z.score(&argv[2]), z.score(&argv[3])) else {
        return Ok(Reply::Nil);
    };
    Ok(match (hash::score_to_xy(s1), hash::score_to_xy(s2)) {
        (Some(a), Some(b)) => distance_reply(hash::distance(a[0], a[1], b[0], b[1]) / to_m),
        _ => Reply::Nil,
    })
}

/// `GEOHASH key [member ...]`
fn geohash(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    let z = load(ctx, &argv[1])?;
    let out = argv[2..]
        .iter()
        .map(|m| {
            match z
                .as_ref()
                .and_then(|z| z.score(m))
                .and_then(hash::score_to_xy)
            {
                Some(xy) => Reply::bulk(&hash::standard_geohash(xy)),
                None => Reply::Nil,
            }
        })
        .collect();
    Ok(Reply::Array(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coordinates_print_like_redis() {
        let [x, y] = hash::score_to_xy(hash::xy_to_score(0.0, 0.0) as f64).unwrap_or_default();
        let text = |r: Reply| match r {
            Reply::DoubleText(b) => String::from_utf8_lossy(&b).into_owned(),
            _ => String::new(),
        };
        assert_eq!(text(coord_reply(x)), "0.00000268220901489");
        assert_eq!(text(coord_reply(y)), "0.00000126736058093");
        assert_eq!(c_fixed6(0.0078125), "0.007812");
        assert_eq!(c_fixed6(0.0234375), "0.023438");
        assert_eq!(c_fixed6(-0.0), "-0.000000");
        assert_eq!(c_fixed6(f64::INFINITY), "inf");
    }

    /// Random geo commands over a few keys (some holding odd scores or
    /// another type): no input may panic a handler.
    #[test]
    fn random_geo_commands_never_panic() {
        const WORDS: &[&str] = &[
            "g",
            "g2",
            "s",
            "z",
            "m",
            "a",
            "b",
            "0",
            "1",
            "-1",
            "180",
            "-180",
            "85.05112878",
            "-85.05112878",
            "90",
            "1e308",
            "1e-300",
            "inf",
            "-inf",
            "nan",
            "0.0001",
            "20000",
            "5e6",
            "km",
            "m",
            "mi",
            "ft",
            "x",
            "NX",
            "XX",
            "CH",
            "WITHDIST",
            "WITHHASH",
            "WITHCOORD",
            "ASC",
            "DESC",
            "COUNT",
            "ANY",
            "STORE",
            "STOREDIST",
            "FROMMEMBER",
            "FROMLONLAT",
            "BYRADIUS",
            "BYBOX",
        ];
        const CMDS: &[&str] = &[
            "GEOADD",
            "GEOPOS",
            "GEODIST",
            "GEOHASH",
            "GEOSEARCH",
            "GEOSEARCHSTORE",
            "GEORADIUS",
            "GEORADIUS_RO",
            "GEORADIUSBYMEMBER",
            "GEORADIUSBYMEMBER_RO",
        ];
        let mut t = crate::cmd::testutil::T::new();
        t.run("SET s str");
        t.run("ZADD z -1 a inf b 1e300 c nan-is-refused 0 4503599627370495 m");
        t.run("GEOADD g 0 0 a 180 85.05112878 b -180 -85.05112878 m 13.36 38.11 c");
        let mut seed = 0x9e3779b97f4a7c15u64;
        let mut next = move |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n as u64) as usize
        };
        for _ in 0..20_000 {
            let mut argv = vec![Bytes::from_static(CMDS[next(CMDS.len())].as_bytes())];
            for _ in 0..next(14) {
                argv.push(Bytes::from_static(WORDS[next(WORDS.len())].as_bytes()));
            }
            let (r, _) = t.store.execute(0, &argv, t.now);
            if let Reply::Error(e) = &r {
                assert!(!e.starts_with(b"ERR internal"), "{argv:?}: {r:?}");
            }
        }
    }

    #[test]
    fn options_read_as_c_strings() {
        assert!(is(b"KM\0junk", "km"));
        assert!(!is(b"kmx", "km"));
        assert_eq!(unit(b"FT"), Ok(0.3048));
        assert!(unit(b"parsec").is_err());
    }
}
