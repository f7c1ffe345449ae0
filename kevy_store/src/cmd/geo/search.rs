//! GEOSEARCH, GEOSEARCHSTORE, GEORADIUS, GEORADIUSBYMEMBER and their `_RO`
//! forms: one parser and one search, as Redis's `georadiusGeneric`, with its
//! argument order, error precedence and reply shapes. Candidates come from
//! the up to 9 cells `hash::search_cells` picks, each a `[min, max)` score
//! range of the sorted set, then are filtered by exact distance.

use super::hash::{self, Shape, ShapeKind};
use super::pqsort::pqsort;
use super::{c_double, coord_reply, distance_reply, is, load, lon_lat, unit};
use crate::ctx::Ctx;
use crate::error::{CmdError, CmdResult};
use crate::kstr::KStr;
use crate::types::zset::{cmp_key, Item};
use crate::types::ZSetValue;
use bytes::Bytes;
use kevy_resp::{encode, encode_array_header, Protocol, Reply, ReplySource, Streamed};

/// Where the search centre comes from.
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    /// GEORADIUS: `key longitude latitude radius unit`.
    Coords,
    /// GEORADIUSBYMEMBER: `key member radius unit`.
    Member,
    /// GEOSEARCH (and GEOSEARCHSTORE): FROMMEMBER/FROMLONLAT options.
    Search,
}

#[derive(Clone, Copy, PartialEq)]
enum Sort {
    None,
    Asc,
    Desc,
}

/// One point found inside the shape (`geoPoint`).
struct Point {
    xy: [f64; 2],
    /// Metres from the centre.
    dist: f64,
    score: f64,
    member: KStr,
}

/// `extractDistanceOrReply`: a radius and its unit.
fn radius_arg(r: &[u8], u: &[u8]) -> Result<(f64, f64), CmdError> {
    let r = c_double(r).ok_or_else(|| CmdError::err("need numeric radius"))?;
    if r < 0.0 {
        return Err(CmdError::err("radius cannot be negative"));
    }
    Ok((r, unit(u)?))
}

/// `extractBoxOrReply`: width, height and their unit.
fn box_arg(w: &[u8], h: &[u8], u: &[u8]) -> Result<(f64, f64, f64), CmdError> {
    let w = c_double(w).ok_or_else(|| CmdError::err("need numeric width"))?;
    let h = c_double(h).ok_or_else(|| CmdError::err("need numeric height"))?;
    if h < 0.0 || w < 0.0 {
        return Err(CmdError::err("height or width cannot be negative"));
    }
    Ok((w, h, unit(u)?))
}

/// `longLatFromMember`: the position of a member.
fn member_xy(z: &ZSetValue, m: &[u8]) -> Result<[f64; 2], CmdError> {
    z.score(m)
        .and_then(hash::score_to_xy)
        .ok_or_else(|| CmdError::err("could not decode requested zset member"))
}

/// GEORADIUS and GEORADIUSBYMEMBER key positions. Redis 7.0 reports those
/// of its key specs: the source, then the key after the first STORE and the
/// one after the first STOREDIST, searched from the options (`startfrom`)
/// up to the next-to-last argument. The command itself stores into the key
/// after the last of them (`georadiusGetKeys`'s walk from argument 5), which
/// is added if the specs missed it, so the dispatcher locks it.
fn radius_keys(argv: &[Bytes], startfrom: usize) -> Vec<usize> {
    let mut keys = vec![1];
    for kw in ["store", "storedist"] {
        if let Some(i) = (startfrom..argv.len().saturating_sub(1)).find(|&i| is(&argv[i], kw)) {
            keys.push(i + 1);
        }
    }
    let mut stored = None;
    let mut i = 5;
    while i < argv.len() {
        if (is(&argv[i], "store") || is(&argv[i], "storedist")) && i + 1 < argv.len() {
            stored = Some(i + 1);
            i += 1;
        }
        i += 1;
    }
    if let Some(s) = stored.filter(|s| !keys.contains(s)) {
        keys.push(s);
    }
    keys
}

/// GEORADIUS: options from argument 6.
pub(super) fn georadius_keys(argv: &[Bytes]) -> Vec<usize> {
    radius_keys(argv, 6)
}

/// GEORADIUSBYMEMBER: options from argument 5.
pub(super) fn georadiusbymember_keys(argv: &[Bytes]) -> Vec<usize> {
    radius_keys(argv, 5)
}

/// Redis's `georadiusGeneric`: `name` is the command's name for errors,
/// `src_at` the source key's position.
fn generic(
    ctx: &mut Ctx<'_, '_>,
    argv: &[Bytes],
    name: &str,
    mode: Mode,
    nostore: bool,
    searchstore: bool,
) -> CmdResult {
    let src_at = if searchstore { 2 } else { 1 };
    let z = load(ctx, &argv[src_at])?;
    let mut xy = [0.0f64; 2];
    let mut conversion = 1.0;
    let mut kind = ShapeKind::Radius(0.0);
    let mut storekey: Option<&[u8]> = None;
    let base = match mode {
        Mode::Coords => {
            xy = lon_lat(&argv[2], &argv[3])?;
            let (r, c) = radius_arg(&argv[4], &argv[5])?;
            (kind, conversion) = (ShapeKind::Radius(r), c);
            6
        }
        Mode::Member => {
            if let Some(z) = &z {
                xy = member_xy(z, &argv[2])?;
                let (r, c) = radius_arg(&argv[3], &argv[4])?;
                (kind, conversion) = (ShapeKind::Radius(r), c);
            }
            5
        }
        Mode::Search if searchstore => {
            storekey = Some(&argv[1]);
            3
        }
        Mode::Search => 2,
    };
    let search = mode == Mode::Search;
    let (mut withdist, mut withhash, mut withcoord, mut storedist) = (false, false, false, false);
    let (mut frommember, mut fromloc, mut byradius, mut bybox) = (false, false, false, false);
    let mut sort = Sort::None;
    let mut any = false;
    let mut count: i64 = 0;
    let opts = argv.get(base..).unwrap_or_default();
    let remaining = opts.len();
    let mut i = 0;
    while i < remaining {
        let a = &opts[i];
        if is(a, "withdist") {
            withdist = true;
        } else if is(a, "withhash") {
            withhash = true;
        } else if is(a, "withcoord") {
            withcoord = true;
        } else if is(a, "any") {
            any = true;
        } else if is(a, "asc") {
            sort = Sort::Asc;
        } else if is(a, "desc") {
            sort = Sort::Desc;
        } else if is(a, "count") && i + 1 < remaining {
            count = crate::num::arg_i64(&opts[i + 1])?;
            if count <= 0 {
                return Err(CmdError::err("COUNT must be > 0"));
            }
            i += 1;
        } else if (is(a, "store") || is(a, "storedist")) && i + 1 < remaining && !nostore && !search
        {
            storekey = Some(&opts[i + 1]);
            storedist = is(a, "storedist");
            i += 1;
        } else if is(a, "storedist") && searchstore {
            storedist = true;
        } else if is(a, "frommember") && i + 1 < remaining && search && !fromloc {
            if let Some(z) = &z {
                xy = member_xy(z, &opts[i + 1])?;
            }
            frommember = true;
            i += 1;
        } else if is(a, "fromlonlat") && i + 2 < remaining && search && !frommember {
            xy = lon_lat(&opts[i + 1], &opts[i + 2])?;
            fromloc = true;
            i += 2;
        } else if is(a, "byradius") && i + 2 < remaining && search && !bybox {
            let (r, c) = radius_arg(&opts[i + 1], &opts[i + 2])?;
            (kind, conversion) = (ShapeKind::Radius(r), c);
            byradius = true;
            i += 2;
        } else if is(a, "bybox") && i + 3 < remaining && search && !byradius {
            let (w, h, c) = box_arg(&opts[i + 1], &opts[i + 2], &opts[i + 3])?;
            (kind, conversion) = (ShapeKind::Box(w, h), c);
            bybox = true;
            i += 3;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    if storekey.is_some() && (withdist || withhash || withcoord) {
        let what = if searchstore {
            "GEOSEARCHSTORE"
        } else {
            "STORE option in GEORADIUS"
        };
        return Err(CmdError::err(format!(
            "{what} is not compatible with WITHDIST, WITHHASH and WITHCOORD options"
        )));
    }
    if search && !(frommember || fromloc) {
        return Err(CmdError::err(format!(
            "exactly one of FROMMEMBER or FROMLONLAT can be specified for {name}"
        )));
    }
    if search && !(byradius || bybox) {
        return Err(CmdError::err(format!(
            "exactly one of BYRADIUS and BYBOX can be specified for {name}"
        )));
    }
    if any && count == 0 {
        return Err(CmdError::err("the ANY argument requires COUNT argument"));
    }
    let event = if search {
        "geosearchstore"
    } else {
        "georadiusstore"
    };
    let Some(z) = z else {
        return match storekey {
            Some(dst) => super::super::zsets::store_result(ctx, dst, ZSetValue::new(), event),
            None => Ok(Reply::Array(Vec::new())),
        };
    };
    if count != 0 && sort == Sort::None && !any {
        sort = Sort::Asc;
    }
    let shape = Shape {
        xy,
        conversion,
        kind,
    };
    let limit = if any { count as u64 } else { 0 };
    let mut found = find(&z, &shape, limit);
    if found.is_empty() && storekey.is_none() {
        return Ok(Reply::Array(Vec::new()));
    }
    let returned = if count == 0 || (found.len() as u64) < count as u64 {
        found.len()
    } else {
        count as usize
    };
    if sort != Sort::None {
        // `sort_gp_asc`/`sort_gp_desc`: C comparators on the distance.
        let sign = if sort == Sort::Asc { 1 } else { -1 };
        let cmp = |a: &Point, b: &Point| {
            sign * if a.dist > b.dist {
                1
            } else if a.dist == b.dist {
                0
            } else {
                -1
            }
        };
        if returned == found.len() {
            // glibc's qsort: a stable merge sort for arrays like these.
            // `total_cmp` agrees with the C comparator on all but NaN,
            // which it orders without upsetting the sort.
            if sort == Sort::Asc {
                found.sort_by(|a, b| a.dist.total_cmp(&b.dist));
            } else {
                found.sort_by(|a, b| b.dist.total_cmp(&a.dist));
            }
        } else {
            pqsort(&mut found, &cmp, 0, returned - 1);
        }
    }
    found.truncate(returned);
    if let Some(dst) = storekey {
        let mut items: Vec<Item> = found
            .into_iter()
            .map(|p| Item {
                score: if storedist {
                    p.dist / conversion
                } else {
                    p.score
                },
                member: p.member,
            })
            .collect();
        items.sort_by(|a, b| cmp_key(a.score, &a.member, b.score, &b.member));
        return super::super::zsets::store_result(ctx, dst, ZSetValue::from_sorted(items), event);
    }
    let out = GeoItems {
        points: found,
        conversion,
        withdist,
        withhash,
        withcoord,
    };
    if crate::cmd::reply_stream::wanted(ctx.stream_replies, out.points.len()) {
        return Ok(Reply::Stream(Streamed::new(out)));
    }
    Ok(Reply::Array(
        (0..out.points.len()).map(|i| out.item(i)).collect(),
    ))
}

/// A search's reply: the members, each with the options asked for.
struct GeoItems {
    points: Vec<Point>,
    conversion: f64,
    withdist: bool,
    withhash: bool,
    withcoord: bool,
}

impl GeoItems {
    /// Item `i`: the member alone, or `[member, dist?, hash?, [lon, lat]?]`.
    fn item(&self, i: usize) -> Reply {
        let Some(p) = self.points.get(i) else {
            return Reply::Nil;
        };
        let m = Reply::Bulk(p.member.to_bytes());
        if !(self.withdist || self.withhash || self.withcoord) {
            return m;
        }
        let mut v = Vec::with_capacity(4);
        v.push(m);
        if self.withdist {
            v.push(distance_reply(p.dist / self.conversion));
        }
        if self.withhash {
            v.push(Reply::Int(p.score as i64));
        }
        if self.withcoord {
            v.push(Reply::Array(vec![
                coord_reply(p.xy[0]),
                coord_reply(p.xy[1]),
            ]));
        }
        Reply::Array(v)
    }
}

/// Past `STREAM_MIN_ITEMS` results the reply is encoded a chunk at a time.
impl ReplySource for GeoItems {
    fn len(&self) -> usize {
        self.points.len()
    }

    fn header(&self, _: Protocol, out: &mut Vec<u8>) {
        encode_array_header(out, self.len());
    }

    fn encode_from(&self, at: usize, proto: Protocol, out: &mut Vec<u8>, budget: usize) -> usize {
        let start = out.len();
        let mut i = at;
        while i < self.len() {
            encode(&self.item(i), proto, out);
            i += 1;
            if out.len() - start >= budget {
                break;
            }
        }
        i
    }
}

/// `membersOfAllNeighbors`: every member of the candidate cells inside the
/// shape, cell by cell in score order; with `limit` (COUNT ANY), stops once
/// that many are found.
fn find(z: &ZSetValue, shape: &Shape, limit: u64) -> Vec<Point> {
    let mut out: Vec<Point> = Vec::new();
    let cells = hash::search_cells(shape);
    for (min, max) in hash::score_ranges(&cells) {
        if limit != 0 && out.len() as u64 >= limit {
            break;
        }
        let start = z.partition_point(|s, _| s < min);
        for it in z.range(start, z.len(), false) {
            if it.score >= max {
                break;
            }
            let Some(xy) = hash::score_to_xy(it.score) else {
                continue;
            };
            let Some(dist) = shape.contains(xy) else {
                continue;
            };
            out.push(Point {
                xy,
                dist,
                score: it.score,
                member: it.member.clone(),
            });
            if limit != 0 && out.len() as u64 >= limit {
                break;
            }
        }
    }
    out
}

/// `GEOSEARCH key FROMMEMBER member|FROMLONLAT lon lat BYRADIUS r unit|BYBOX
/// w h unit [ASC|DESC] [COUNT n [ANY]] [WITHCOORD] [WITHDIST] [WITHHASH]`
pub(super) fn geosearch(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    generic(ctx, argv, "geosearch", Mode::Search, true, false)
}

/// `GEOSEARCHSTORE destination source ... [STOREDIST]`
pub(super) fn geosearchstore(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    generic(ctx, argv, "geosearchstore", Mode::Search, true, true)
}

/// `GEORADIUS key lon lat radius unit [WITH...] [COUNT n [ANY]] [ASC|DESC]
/// [STORE key|STOREDIST key]`
pub(super) fn georadius(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    generic(ctx, argv, "georadius", Mode::Coords, false, false)
}

/// `GEORADIUS_RO key lon lat radius unit [WITH...] [COUNT n [ANY]] [ASC|DESC]`
pub(super) fn georadius_ro(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    generic(ctx, argv, "georadius_ro", Mode::Coords, true, false)
}

/// `GEORADIUSBYMEMBER key member radius unit [...] [STORE key|STOREDIST key]`
pub(super) fn georadiusbymember(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    generic(ctx, argv, "georadiusbymember", Mode::Member, false, false)
}

/// `GEORADIUSBYMEMBER_RO key member radius unit [...]`
pub(super) fn georadiusbymember_ro(ctx: &mut Ctx<'_, '_>, argv: &[Bytes]) -> CmdResult {
    generic(ctx, argv, "georadiusbymember_ro", Mode::Member, true, false)
}

#[cfg(test)]
mod tests {
    use crate::cmd::testutil::{split, T, T0};
    use crate::ctx::{Ctx, Events};
    use bytes::Bytes;
    use kevy_resp::{encode, Protocol, Reply};

    fn run(t: &T, line: &str, proto: Protocol, stream_ok: bool) -> Reply {
        let argv = split(line);
        let Some(cmd) = crate::cmd::lookup(&argv[0]) else {
            panic!("unknown command {line}")
        };
        let mut events = Events::default();
        let mut locked = t.store.lock_all();
        let mut ctx = Ctx::new(&mut locked, &mut events, 0, T0);
        ctx.proto = proto;
        ctx.stream_replies = stream_ok;
        crate::store::run(&mut ctx, cmd, &argv)
    }

    #[test]
    fn big_results_stream_the_eager_bytes() {
        let t = T::new();
        let mut argv = vec![Bytes::from("GEOADD"), Bytes::from("g")];
        for i in 0..17_000u32 {
            argv.push(Bytes::from(format!("{}", 2.0 + (i % 130) as f64 * 0.001)));
            argv.push(Bytes::from(format!("{}", 48.0 + (i / 130) as f64 * 0.001)));
            argv.push(Bytes::from(format!("m{i}")));
        }
        assert_eq!(t.store.execute(0, &argv, t.now).0, Reply::Int(17_000));
        for (line, proto) in [
            ("GEOSEARCH g FROMLONLAT 2.06 48.06 BYRADIUS 100 km", Protocol::Resp2),
            (
                "GEOSEARCH g FROMLONLAT 2.06 48.06 BYBOX 200 200 km ASC WITHDIST WITHHASH WITHCOORD",
                Protocol::Resp3,
            ),
            ("GEORADIUS g 2.06 48.06 100 km DESC COUNT 16500", Protocol::Resp2),
        ] {
            let streamed = run(&t, line, proto, true);
            assert!(matches!(streamed, Reply::Stream(_)), "{line}");
            let eager = run(&t, line, proto, false);
            let (mut a, mut b) = (Vec::new(), Vec::new());
            encode(&streamed, proto, &mut a);
            encode(&eager, proto, &mut b);
            assert!(a == b, "{line}");
        }
    }
}
