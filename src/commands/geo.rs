//! Geo commands with Redis 7.0's semantics, replies and error texts: GEOADD, GEODIST,
//! GEOHASH, GEOPOS, GEORADIUS, GEORADIUSBYMEMBER (and their `_RO` variants), GEOSEARCH and
//! GEOSEARCHSTORE.
//!
//! # Layout
//! A geo set is a sorted set whose scores are 52-bit geohashes; the arithmetic (encoding,
//! the nine cells covering a search, distances, reply formatting) lives in
//! [`crate::util::geohash`]. GEOADD validates the positions and then runs ZADD with the
//! computed scores (as Redis does), so it propagates as that ZADD and reports `zadd`. The
//! searches share [`search_generic`] (Redis's `georadiusGeneric`): arguments are parsed in
//! Redis's order against the source zset (FROMMEMBER and GEORADIUSBYMEMBER read a member's
//! position while parsing, so the same error wins), then the cells are scanned, the matches
//! sorted and replied or stored. A search that stores locks its source and destination
//! together, which makes it atomic.
//!
//! # Replies (RESP2 / RESP3)
//! Distances are bulk strings with 4 decimals in both protocols; coordinates are `%.17Lf`
//! without trailing zeros, bulk strings in RESP2 and doubles in RESP3; hashes are integers.
//!
//! # Keyspace events
//! GEOADD: `zadd` when something was added or changed. GEORADIUS* STORE/STOREDIST:
//! `georadiusstore`; GEOSEARCHSTORE: `geosearchstore`; `del` when an empty result deletes the
//! destination.

use bytes::Bytes;

use super::flags::*;
use super::{args, errors, spec, CommandSpec, Ctx, Group};
use crate::resp::reply::Reply;
use crate::store::types::zset::ScoreRange;
use crate::store::types::ZSet;
use crate::store::StrBuf;
use crate::util::geohash::{self, Extent, Shape};
use crate::util::num::{parse_f64, parse_i64};

#[rustfmt::skip]
pub static COMMANDS: &[CommandSpec] = &[
    //   name                     arity flags              group       first last step handler
    spec("geoadd",                  -5, WRITE | DENYOOM, Group::Geo, 1, 1, 1, geoadd),
    spec("geodist",                 -4, READONLY,        Group::Geo, 1, 1, 1, geodist),
    spec("geohash",                 -2, READONLY,        Group::Geo, 1, 1, 1, geohash),
    spec("geopos",                  -2, READONLY,        Group::Geo, 1, 1, 1, geopos),
    // Movable keys: the STORE / STOREDIST destination.
    spec("georadius",               -6, WRITE | DENYOOM, Group::Geo, 1, 1, 1, georadius).with_keys(georadius_keys::<6>),
    spec("georadiusbymember",       -5, WRITE | DENYOOM, Group::Geo, 1, 1, 1, georadiusbymember).with_keys(georadius_keys::<5>),
    spec("georadius_ro",            -6, READONLY,        Group::Geo, 1, 1, 1, georadius_ro),
    spec("georadiusbymember_ro",    -5, READONLY,        Group::Geo, 1, 1, 1, georadiusbymember_ro),
    spec("geosearch",               -7, READONLY,        Group::Geo, 1, 1, 1, geosearch),
    spec("geosearchstore",          -8, WRITE | DENYOOM, Group::Geo, 1, 2, 1, geosearchstore),
];

const INVALID_MEMBER: &str = "ERR could not decode requested zset member";
const UNSUPPORTED_UNIT: &str = "ERR unsupported unit provided. please use M, KM, FT, MI";
const NEED_RADIUS: &str = "ERR need numeric radius";
const NEGATIVE_RADIUS: &str = "ERR radius cannot be negative";
const NEED_WIDTH: &str = "ERR need numeric width";
const NEED_HEIGHT: &str = "ERR need numeric height";
const NEGATIVE_BOX: &str = "ERR height or width cannot be negative";
const COUNT_NOT_POSITIVE: &str = "ERR COUNT must be > 0";
const ANY_WITHOUT_COUNT: &str = "ERR the ANY argument requires COUNT argument";

/// The keys of GEORADIUS (`FROM` = 6) and GEORADIUSBYMEMBER (`FROM` = 5): the source, then
/// what their key specs find (as `COMMAND GETKEYS` reports them in Redis 7.0): the argument
/// after the first `STORE`, then after the first `STOREDIST`, searched from `FROM`. Then,
/// should it differ (`STORE a STORE b`), the destination the command really writes (the
/// last STORE/STOREDIST option), so that transactions lock it too.
fn georadius_keys<const FROM: usize>(argv: &[Bytes]) -> Option<Vec<usize>> {
    let mut keys = vec![1];
    for keyword in ["store", "storedist"] {
        let found = (FROM..argv.len().saturating_sub(1)).find(|&i| args::is(&argv[i], keyword));
        keys.extend(found.map(|i| i + 1));
    }
    // The destination the command's own parsing picks: the last STORE/STOREDIST option.
    let mut stored = None;
    let mut i = FROM;
    while i < argv.len() {
        if i + 1 < argv.len() {
            if args::is(&argv[i], "count") {
                i += 1;
            } else if args::is(&argv[i], "store") || args::is(&argv[i], "storedist") {
                stored = Some(i + 1);
                i += 1;
            }
        }
        i += 1;
    }
    if let Some(p) = stored.filter(|p| !keys.contains(p)) {
        keys.push(p);
    }
    Some(keys)
}

// ---------------------------------------------------------------------------------------------
// Argument helpers
// ---------------------------------------------------------------------------------------------

/// `extractLongLatOrReply`: two floats, within the Mercator limits.
fn parse_lon_lat(lon: &[u8], lat: &[u8]) -> Result<[f64; 2], Vec<u8>> {
    let lon = parse_f64(lon).ok_or(errors::NOT_FLOAT.as_bytes())?;
    let lat = parse_f64(lat).ok_or(errors::NOT_FLOAT.as_bytes())?;
    if geohash::out_of_limits(lon, lat) {
        return Err(format!("ERR invalid longitude,latitude pair {lon:.6},{lat:.6}").into_bytes());
    }
    Ok([lon, lat])
}

/// `extractUnitOrReply`: meters per unit.
fn parse_unit(unit: &[u8]) -> Result<f64, Vec<u8>> {
    // As Redis compares C strings: a NUL ends the word.
    let unit = &unit[..unit.iter().position(|&b| b == 0).unwrap_or(unit.len())];
    [("m", 1.0), ("km", 1000.0), ("ft", 0.3048), ("mi", 1609.34)]
        .iter()
        .find(|(name, _)| args::is(unit, name))
        .map(|&(_, v)| v)
        .ok_or_else(|| UNSUPPORTED_UNIT.as_bytes().to_vec())
}

/// `extractDistanceOrReply`: `radius unit` → (radius, meters per unit).
fn parse_radius(radius: &[u8], unit: &[u8]) -> Result<(f64, f64), Vec<u8>> {
    let r = parse_f64(radius).ok_or(NEED_RADIUS.as_bytes())?;
    if r < 0.0 {
        return Err(NEGATIVE_RADIUS.into());
    }
    Ok((r, parse_unit(unit)?))
}

/// `extractBoxOrReply`: `width height unit` → (width, height, meters per unit).
fn parse_box(width: &[u8], height: &[u8], unit: &[u8]) -> Result<(f64, f64, f64), Vec<u8>> {
    let w = parse_f64(width).ok_or(NEED_WIDTH.as_bytes())?;
    let h = parse_f64(height).ok_or(NEED_HEIGHT.as_bytes())?;
    if h < 0.0 || w < 0.0 {
        return Err(NEGATIVE_BOX.into());
    }
    Ok((w, h, parse_unit(unit)?))
}

/// A member's position, if it is in the zset.
fn member_position(z: &ZSet, member: &[u8]) -> Option<[f64; 2]> {
    z.score(member).map(geohash::score_to_lon_lat)
}

/// A coordinate: a bulk string in RESP2, a double in RESP3 (`addReplyHumanLongDouble`).
fn reply_coordinate(out: &mut Reply, v: f64) {
    let text = geohash::format_coordinate(v);
    if out.resp3 {
        out.buf.extend_from_slice(b",");
        out.buf.extend_from_slice(text.as_bytes());
        out.buf.extend_from_slice(b"\r\n");
    } else {
        out.bulk(text.as_bytes());
    }
}

/// What a read of the first key found.
enum Read<T> {
    Missing,
    WrongType,
    Found(T),
}

/// Runs `f` on the zset at `key` under its shard's read lock, counting the lookup.
fn read_zset<R>(ctx: &mut Ctx<'_>, key: &[u8], f: impl FnOnce(&ZSet) -> R) -> Read<R> {
    let found = ctx.db().read(key, ctx.now, |e| match e.value.as_zset() {
        Some(z) => Read::Found(f(z)),
        None => Read::WrongType,
    });
    ctx.read_lookup(key, found.is_some());
    found.unwrap_or(Read::Missing)
}

// ---------------------------------------------------------------------------------------------
// GEOADD, GEODIST, GEOHASH, GEOPOS
// ---------------------------------------------------------------------------------------------

/// # Format
/// `GEOADD key [NX|XX] [CH] longitude latitude member [longitude latitude member ...]` — as
/// ZADD: the number of members added (CH: added or moved).
fn geoadd(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    let mut first = 2;
    let (mut nx, mut xx) = (false, false);
    while first < argv.len() {
        let opt = &argv[first];
        if args::is(opt, "nx") {
            nx = true;
        } else if args::is(opt, "xx") {
            xx = true;
        } else if !args::is(opt, "ch") {
            break;
        }
        first += 1;
    }
    let elements = &argv[first..];
    if !elements.len().is_multiple_of(3) || (nx && xx) {
        ctx.out.error(errors::SYNTAX);
        return;
    }
    // ZADD key [options] score member ...: what Redis runs, and propagates.
    let mut zadd = Vec::with_capacity(first + elements.len() / 3 * 2);
    zadd.push(Bytes::from_static(b"zadd"));
    zadd.extend_from_slice(&argv[1..first]);
    for e in elements.chunks_exact(3) {
        let [lon, lat] = match parse_lon_lat(&e[0], &e[1]) {
            Ok(xy) => xy,
            Err(msg) => {
                ctx.out.error(msg);
                return;
            }
        };
        let score = geohash::lon_lat_to_score(lon, lat).unwrap_or(0);
        zadd.push(Bytes::from(itoa::Buffer::new().format(score).to_owned()));
        zadd.push(e[2].clone());
    }
    super::zsets::zadd_generic(ctx, &zadd, false);
    let rewritten: Vec<&[u8]> = zadd.iter().map(|a| &a[..]).collect();
    ctx.propagate_as(&rewritten);
}

/// # Format
/// `GEODIST key member1 member2 [M|KM|FT|MI]` — the distance (4 decimals), or nil when a
/// member or the key is missing.
fn geodist(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    let to_meters = match argv.len() {
        5 => match parse_unit(&argv[4]) {
            Ok(u) => u,
            Err(msg) => return ctx.out.error(msg),
        },
        n if n > 5 => return ctx.out.error(errors::SYNTAX),
        _ => 1.0,
    };
    let found = read_zset(ctx, &argv[1], |z| {
        let a = member_position(z, &argv[2])?;
        let b = member_position(z, &argv[3])?;
        Some(geohash::distance(a[0], a[1], b[0], b[1]))
    });
    match found {
        Read::WrongType => ctx.out.error(errors::WRONGTYPE),
        Read::Found(Some(d)) => ctx
            .out
            .bulk(geohash::format_distance(d / to_meters).as_bytes()),
        Read::Found(None) | Read::Missing => ctx.out.null(),
    }
}

/// # Format
/// `GEOHASH key [member ...]` — an 11-character geohash per member, nil for missing ones.
fn geohash(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    let members = &argv[2..];
    let scores = match read_zset(ctx, &argv[1], |z| {
        members.iter().map(|m| z.score(m)).collect::<Vec<_>>()
    }) {
        Read::WrongType => return ctx.out.error(errors::WRONGTYPE),
        Read::Missing => vec![None; members.len()],
        Read::Found(s) => s,
    };
    ctx.out.array(scores.len());
    for score in scores {
        match score {
            Some(s) => ctx.out.bulk(&geohash::geohash_string(s)),
            None => ctx.out.null(),
        }
    }
}

/// # Format
/// `GEOPOS key [member ...]` — `[longitude, latitude]` per member, a nil array for missing
/// ones.
fn geopos(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    let members = &argv[2..];
    let scores = match read_zset(ctx, &argv[1], |z| {
        members.iter().map(|m| z.score(m)).collect::<Vec<_>>()
    }) {
        Read::WrongType => return ctx.out.error(errors::WRONGTYPE),
        Read::Missing => vec![None; members.len()],
        Read::Found(s) => s,
    };
    ctx.out.array(scores.len());
    for score in scores {
        match score {
            Some(s) => {
                let [lon, lat] = geohash::score_to_lon_lat(s);
                ctx.out.array(2);
                reply_coordinate(ctx.out, lon);
                reply_coordinate(ctx.out, lat);
            }
            None => ctx.out.null_array(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// GEORADIUS*, GEOSEARCH, GEOSEARCHSTORE
// ---------------------------------------------------------------------------------------------

/// Which search command runs (Redis's `RADIUS_*` / `GEOSEARCH*` flags).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// GEORADIUS key longitude latitude radius unit ...
    Coords { store: bool },
    /// GEORADIUSBYMEMBER key member radius unit ...
    Member { store: bool },
    /// GEOSEARCH key ...
    Search,
    /// GEOSEARCHSTORE destination source ...
    SearchStore,
}

impl Kind {
    fn is_search(self) -> bool {
        matches!(self, Kind::Search | Kind::SearchStore)
    }

    /// STORE and STOREDIST key are accepted (GEORADIUS and GEORADIUSBYMEMBER).
    fn radius_store(self) -> bool {
        matches!(
            self,
            Kind::Coords { store: true } | Kind::Member { store: true }
        )
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Sort {
    None,
    Asc,
    Desc,
}

/// A parsed search.
struct Query<'a> {
    shape: Shape,
    withdist: bool,
    withhash: bool,
    withcoord: bool,
    sort: Sort,
    any: bool,
    /// 0: unlimited.
    count: usize,
    store: Option<&'a [u8]>,
    storedist: bool,
}

/// One match.
struct Point {
    member: StrBuf,
    xy: [f64; 2],
    /// Meters until the reply converts it.
    dist: f64,
    score: f64,
}

/// `georadiusGeneric`'s parsing, in Redis's order, against the source `z` (absent: the key
/// does not exist, and member positions are not read).
fn parse_query<'a>(argv: &'a [Bytes], kind: Kind, z: Option<&ZSet>) -> Result<Query<'a>, Vec<u8>> {
    let mut q = Query {
        shape: Shape {
            center: [0.0, 0.0],
            extent: Extent::Radius(0.0),
            conversion: 0.0,
        },
        withdist: false,
        withhash: false,
        withcoord: false,
        sort: Sort::None,
        any: false,
        count: 0,
        store: None,
        storedist: false,
    };
    let base = match kind {
        Kind::Coords { .. } => {
            q.shape.center = parse_lon_lat(&argv[2], &argv[3])?;
            let (r, conv) = parse_radius(&argv[4], &argv[5])?;
            q.shape.extent = Extent::Radius(r);
            q.shape.conversion = conv;
            6
        }
        Kind::Member { .. } => {
            if let Some(z) = z {
                q.shape.center = member_position(z, &argv[2]).ok_or(INVALID_MEMBER.as_bytes())?;
                let (r, conv) = parse_radius(&argv[3], &argv[4])?;
                q.shape.extent = Extent::Radius(r);
                q.shape.conversion = conv;
            }
            5
        }
        Kind::Search => 2,
        Kind::SearchStore => {
            q.store = Some(&argv[1][..]);
            3
        }
    };
    let (mut frommember, mut fromloc, mut byradius, mut bybox) = (false, false, false, false);
    let rest = &argv[base.min(argv.len())..];
    let mut i = 0;
    while i < rest.len() {
        let arg = &rest[i][..];
        let left = rest.len() - i - 1;
        if args::is(arg, "withdist") {
            q.withdist = true;
        } else if args::is(arg, "withhash") {
            q.withhash = true;
        } else if args::is(arg, "withcoord") {
            q.withcoord = true;
        } else if args::is(arg, "any") {
            q.any = true;
        } else if args::is(arg, "asc") {
            q.sort = Sort::Asc;
        } else if args::is(arg, "desc") {
            q.sort = Sort::Desc;
        } else if args::is(arg, "count") && left >= 1 {
            let n = parse_i64(&rest[i + 1]).ok_or(errors::NOT_INTEGER.as_bytes())?;
            if n <= 0 {
                return Err(COUNT_NOT_POSITIVE.into());
            }
            q.count = usize::try_from(n).unwrap_or(usize::MAX);
            i += 1;
        } else if (args::is(arg, "store") || args::is(arg, "storedist"))
            && left >= 1
            && kind.radius_store()
        {
            q.store = Some(&rest[i + 1][..]);
            q.storedist = args::is(arg, "storedist");
            i += 1;
        } else if args::is(arg, "storedist") && kind == Kind::SearchStore {
            q.storedist = true;
        } else if args::is(arg, "frommember") && left >= 1 && kind.is_search() && !fromloc {
            if let Some(z) = z {
                q.shape.center =
                    member_position(z, &rest[i + 1]).ok_or(INVALID_MEMBER.as_bytes())?;
            }
            frommember = true;
            i += 1;
        } else if args::is(arg, "fromlonlat") && left >= 2 && kind.is_search() && !frommember {
            q.shape.center = parse_lon_lat(&rest[i + 1], &rest[i + 2])?;
            fromloc = true;
            i += 2;
        } else if args::is(arg, "byradius") && left >= 2 && kind.is_search() && !bybox {
            let (r, conv) = parse_radius(&rest[i + 1], &rest[i + 2])?;
            q.shape.extent = Extent::Radius(r);
            q.shape.conversion = conv;
            byradius = true;
            i += 2;
        } else if args::is(arg, "bybox") && left >= 3 && kind.is_search() && !byradius {
            let (width, height, conv) = parse_box(&rest[i + 1], &rest[i + 2], &rest[i + 3])?;
            q.shape.extent = Extent::Box { width, height };
            q.shape.conversion = conv;
            bybox = true;
            i += 3;
        } else {
            return Err(errors::SYNTAX.into());
        }
        i += 1;
    }
    if q.store.is_some() && (q.withdist || q.withhash || q.withcoord) {
        let what = if kind == Kind::SearchStore {
            "GEOSEARCHSTORE"
        } else {
            "STORE option in GEORADIUS"
        };
        return Err(format!(
            "ERR {what} is not compatible with WITHDIST, WITHHASH and WITHCOORD options"
        )
        .into_bytes());
    }
    if kind.is_search() && !(frommember || fromloc) {
        return Err(errors::concat(&[
            b"ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for ",
            errors::c_str(&argv[0], usize::MAX),
        ]));
    }
    if kind.is_search() && !(byradius || bybox) {
        return Err(errors::concat(&[
            b"ERR exactly one of BYRADIUS and BYBOX can be specified for ",
            errors::c_str(&argv[0], usize::MAX),
        ]));
    }
    if q.any && q.count == 0 {
        return Err(ANY_WITHOUT_COUNT.into());
    }
    // COUNT without an order returns the nearest ones (not with ANY).
    if q.count != 0 && q.sort == Sort::None && !q.any {
        q.sort = Sort::Asc;
    }
    Ok(q)
}

/// The matches of `q` in `z`, sorted as requested and cut to COUNT
/// (`membersOfAllNeighbors` then the sort of `georadiusGeneric`).
fn run_query(z: &ZSet, q: &Query<'_>) -> Vec<Point> {
    let limit = if q.any { q.count } else { 0 };
    let full = |found: &Vec<Point>| limit != 0 && found.len() >= limit;
    let cells = geohash::search_areas(&q.shape);
    let mut found: Vec<Point> = Vec::new();
    let mut last: Option<usize> = None;
    for (i, cell) in cells.iter().enumerate() {
        if cell.is_zero() {
            continue;
        }
        // Huge areas can make adjacent neighbours the same cell: skip a repeat of the cell
        // read last (Redis compares with it only once a neighbour was read).
        if let Some(l) = last.filter(|&l| l != 0) {
            if cells[l] == *cell {
                continue;
            }
        }
        if full(&found) {
            break;
        }
        let (min, max) = cell.score_range();
        let range = ScoreRange {
            min: min as f64,
            max: max as f64,
            min_ex: false,
            max_ex: true,
        };
        if let Some(start) = z.score_start(&range, false) {
            for (member, score) in z.iter_from(start, false) {
                if !range.lte_max(score) {
                    break;
                }
                let xy = geohash::score_to_lon_lat(score);
                if let Some(dist) = q.shape.contains(xy) {
                    found.push(Point {
                        member: StrBuf::from_slice(member),
                        xy,
                        dist,
                        score,
                    });
                }
                if full(&found) {
                    break;
                }
            }
        }
        last = Some(i);
    }
    let returned = if q.count == 0 {
        found.len()
    } else {
        found.len().min(q.count)
    };
    // Redis's comparators, NaN distances included (a NaN compares "less" both ways).
    let asc = |a: &Point, b: &Point| geohash::c_compare(a.dist, b.dist);
    let desc = |a: &Point, b: &Point| asc(a, b).reverse();
    match q.sort {
        Sort::None => {}
        // glibc's qsort (its stable merge sort) for a full sort, Redis's pqsort otherwise.
        Sort::Asc if returned == found.len() => geohash::merge_sort(&mut found, &asc),
        Sort::Desc if returned == found.len() => geohash::merge_sort(&mut found, &desc),
        Sort::Asc => geohash::partial_sort(&mut found, 0, returned - 1, &asc),
        Sort::Desc => geohash::partial_sort(&mut found, 0, returned - 1, &desc),
    }
    found.truncate(returned);
    for p in &mut found {
        p.dist /= q.shape.conversion;
    }
    found
}

/// Writes a search's matches.
fn reply_points(out: &mut Reply, q: &Query<'_>, points: &[Point]) {
    let options = usize::from(q.withdist) + usize::from(q.withhash) + usize::from(q.withcoord);
    out.array(points.len());
    for p in points {
        if options > 0 {
            out.array(options + 1);
        }
        out.bulk(&p.member);
        if q.withdist {
            out.bulk(geohash::format_distance(p.dist).as_bytes());
        }
        if q.withhash {
            out.int(geohash::c_f64_to_i64(p.score));
        }
        if q.withcoord {
            out.array(2);
            reply_coordinate(out, p.xy[0]);
            reply_coordinate(out, p.xy[1]);
        }
    }
}

/// # Format
/// `GEORADIUS key longitude latitude radius M|KM|FT|MI [WITHCOORD] [WITHDIST] [WITHHASH]
/// [COUNT count [ANY]] [ASC|DESC] [STORE key] [STOREDIST key]` — the matches (with the
/// requested details), or with STORE/STOREDIST the number stored.
fn georadius(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    search_generic(ctx, argv, 1, Kind::Coords { store: true });
}

/// # Format
/// `GEORADIUSBYMEMBER key member radius M|KM|FT|MI [options as GEORADIUS]`.
fn georadiusbymember(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    search_generic(ctx, argv, 1, Kind::Member { store: true });
}

/// # Format
/// `GEORADIUS_RO key longitude latitude radius unit [options as GEORADIUS, no STORE]`.
fn georadius_ro(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    search_generic(ctx, argv, 1, Kind::Coords { store: false });
}

/// # Format
/// `GEORADIUSBYMEMBER_RO key member radius unit [options as GEORADIUS, no STORE]`.
fn georadiusbymember_ro(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    search_generic(ctx, argv, 1, Kind::Member { store: false });
}

/// # Format
/// `GEOSEARCH key FROMMEMBER member|FROMLONLAT longitude latitude BYRADIUS radius unit|BYBOX
/// width height unit [ASC|DESC] [COUNT count [ANY]] [WITHCOORD] [WITHDIST] [WITHHASH]`.
fn geosearch(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    search_generic(ctx, argv, 1, Kind::Search);
}

/// # Format
/// `GEOSEARCHSTORE destination source FROMMEMBER ...|FROMLONLAT ... BYRADIUS ...|BYBOX ...
/// [ASC|DESC] [COUNT count [ANY]] [STOREDIST]` — the number of members stored.
fn geosearchstore(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    search_generic(ctx, argv, 2, Kind::SearchStore);
}

/// The members and scores a STORE search writes.
type Stored = Vec<(StrBuf, f64)>;

/// What a plain search came to.
enum Outcome {
    Error(Vec<u8>),
    Points(Vec<Point>),
}

/// `georadiusGeneric`.
fn search_generic(ctx: &mut Ctx<'_>, argv: &[Bytes], src_idx: usize, kind: Kind) {
    let src = &argv[src_idx][..];
    // Where a result may be stored: parsing without the source is laxer (it skips what needs
    // the source), so a destination it misses cannot be one the full parse finds.
    let dest = match kind {
        Kind::SearchStore | Kind::Coords { store: true } | Kind::Member { store: true } => {
            parse_query(argv, kind, None).ok().and_then(|q| q.store)
        }
        _ => None,
    };
    let Some(dest) = dest else {
        // A plain search: reply from the zset under its read lock.
        let mut query = None;
        let found = read_zset(ctx, src, |z| match parse_query(argv, kind, Some(z)) {
            Err(e) => Outcome::Error(e),
            Ok(q) => {
                let points = run_query(z, &q);
                query = Some(q);
                Outcome::Points(points)
            }
        });
        let outcome = match found {
            Read::WrongType => Outcome::Error(errors::WRONGTYPE.into()),
            Read::Found(o) => o,
            Read::Missing => match parse_query(argv, kind, None) {
                Err(e) => Outcome::Error(e),
                // A store found by this parse only: the quick parse above missed nothing.
                Ok(_) => Outcome::Points(Vec::new()),
            },
        };
        match (outcome, query) {
            (Outcome::Error(e), _) => ctx.out.error(e),
            (Outcome::Points(p), Some(q)) => reply_points(ctx.out, &q, &p),
            _ => ctx.out.array(0),
        }
        return;
    };
    let (d, now) = (ctx.client.db, ctx.now);
    let mut locks = ctx.store().lock(&[(d, src), (d, dest)]);
    // The matches to store (their scores already chosen), or the error.
    let (result, seen): (Result<Stored, Vec<u8>>, bool) = {
        let mut slot = locks.slot(d, src, now);
        match slot.get() {
            None => (parse_query(argv, kind, None).map(|_| Vec::new()), false),
            Some(e) => match e.value.as_zset() {
                None => (Err(errors::WRONGTYPE.into()), true),
                Some(z) => {
                    let stored = parse_query(argv, kind, Some(z)).map(|q| {
                        run_query(z, &q)
                            .into_iter()
                            .map(|p| (p.member, if q.storedist { p.dist } else { p.score }))
                            .collect()
                    });
                    (stored, true)
                }
            },
        }
    };
    ctx.read_lookup(src, seen);
    match result {
        Err(e) => {
            drop(locks);
            ctx.out.error(e);
        }
        Ok(pairs) => {
            let n = pairs.len();
            let event = if kind.is_search() {
                "geosearchstore"
            } else {
                "georadiusstore"
            };
            let old = super::zsets::store_result(&mut locks.slot(d, dest, now), pairs, event);
            drop(locks);
            drop(old);
            ctx.out.int(n as i64);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(line: &str) -> Vec<Bytes> {
        line.split(' ')
            .map(|w| Bytes::copy_from_slice(w.as_bytes()))
            .collect()
    }

    #[test]
    fn store_keys_are_found_like_redis() {
        let keys = |line: &str| georadius_keys::<6>(&argv(line)).unwrap();
        assert_eq!(keys("GEORADIUS k 1 2 3 km"), [1]);
        assert_eq!(keys("GEORADIUS k 1 2 3 km STORE a STOREDIST b"), [1, 7, 9]);
        assert_eq!(keys("GEORADIUS k 1 2 3 km STOREDIST b STORE a"), [1, 9, 7]);
        // The key specs find `a`; the command stores into `b`.
        assert_eq!(keys("GEORADIUS k 1 2 3 km STORE a STORE b"), [1, 7, 9]);
        assert_eq!(keys("GEORADIUS k 1 2 3 store store"), [1]);
        assert_eq!(keys("GEORADIUS k 1 2 3 km COUNT store STORE a"), [1, 8, 9]);
        assert_eq!(
            georadius_keys::<5>(&argv("GEORADIUSBYMEMBER k m 3 km STORE a")).unwrap(),
            [1, 6]
        );
    }

    #[test]
    fn options_parse_in_redis_order() {
        let a = argv("GEOSEARCH k FROMLONLAT 1 2 BYRADIUS 3 km COUNT 2 DESC WITHDIST");
        let q = parse_query(&a, Kind::Search, None).ok().unwrap();
        assert_eq!(q.count, 2);
        assert!(q.withdist && q.sort == Sort::Desc);
        let a = argv("GEOSEARCH k FROMLONLAT 1 2 BYRADIUS 3 km ANY");
        assert_eq!(
            parse_query(&a, Kind::Search, None).err().unwrap(),
            ANY_WITHOUT_COUNT.as_bytes()
        );
        let a = argv("GEOSEARCH k FROMLONLAT 1 2 FROMMEMBER m BYRADIUS 3 km");
        assert_eq!(
            parse_query(&a, Kind::Search, None).err().unwrap(),
            errors::SYNTAX.as_bytes()
        );
        let a = argv("GEORADIUS k 200 2 3 km");
        assert_eq!(
            parse_query(&a, Kind::Coords { store: true }, None)
                .err()
                .unwrap(),
            b"ERR invalid longitude,latitude pair 200.000000,2.000000"
        );
    }
}
