//! Geohash arithmetic with Redis 7.0's exact results: the 52-bit interleaved score of a
//! longitude/latitude pair, its decoding, the nine cells that cover a search area, distances
//! (haversine on a sphere of Redis's radius) and the text forms the geo commands reply with.
//!
//! # Representation
//! A position is encoded at [`STEP_MAX`] (26) steps per axis over longitude -180..180 and
//! latitude [`LAT_MIN`]..[`LAT_MAX`] (the Web Mercator limits), the latitude bits in the even
//! positions and the longitude bits in the odd ones; the 52-bit integer is the sorted-set
//! score. A cell of `step` steps is every score sharing its `2 * step` leading bits, so a
//! search reads nine score intervals ([`search_areas`]) and filters the points it finds by
//! the exact shape ([`Shape::contains`]).
//!
//! Everything here is plain `f64` arithmetic in the same order as Redis's C code (SSE doubles
//! on x86-64), and the same libm functions, so results match bit for bit. Where Redis converts
//! an out-of-range double to an integer (a sorted-set score that no GEOADD wrote) the x86-64
//! conversion results are reproduced ([`score_bits`]).

/// Steps (bits per axis) of a stored position: 26 * 2 = 52 bits.
pub const STEP_MAX: u8 = 26;
pub const LAT_MIN: f64 = -85.05112878;
pub const LAT_MAX: f64 = 85.05112878;
pub const LONG_MIN: f64 = -180.0;
pub const LONG_MAX: f64 = 180.0;

/// Earth's quadratic mean radius for WGS-84, as Redis uses it.
pub const EARTH_RADIUS_IN_METERS: f64 = 6372797.560856;
/// Half the Mercator world width, the longest range the step estimate starts from.
const MERCATOR_MAX: f64 = 20037726.37;
/// Degrees to radians (Redis's `M_PI / 180.0`).
const D_R: f64 = std::f64::consts::PI / 180.0;

/// A cell: its interleaved bits and its steps (bits per axis). All-zero means "no cell".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HashBits {
    pub bits: u64,
    pub step: u8,
}

impl HashBits {
    /// Redis's `HASHISZERO`: a neighbour excluded from a search.
    pub fn is_zero(&self) -> bool {
        self.bits == 0 && self.step == 0
    }

    /// The score interval `[min, max)` of every stored position inside this cell.
    pub fn score_range(&self) -> (u64, u64) {
        let min = align52(*self);
        let max = align52(HashBits {
            bits: self.bits.wrapping_add(1),
            step: self.step,
        });
        (min, max)
    }
}

/// A closed interval of one coordinate.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Range {
    pub min: f64,
    pub max: f64,
}

/// A cell's extent.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Area {
    pub longitude: Range,
    pub latitude: Range,
}

const LONG_RANGE: Range = Range {
    min: LONG_MIN,
    max: LONG_MAX,
};
const LAT_RANGE: Range = Range {
    min: LAT_MIN,
    max: LAT_MAX,
};

/// Spreads the 32 bits of `x` to the even positions and those of `y` to the odd ones.
fn interleave64(x: u32, y: u32) -> u64 {
    fn spread(v: u32) -> u64 {
        let mut v = u64::from(v);
        v = (v | (v << 16)) & 0x0000_FFFF_0000_FFFF;
        v = (v | (v << 8)) & 0x00FF_00FF_00FF_00FF;
        v = (v | (v << 4)) & 0x0F0F_0F0F_0F0F_0F0F;
        v = (v | (v << 2)) & 0x3333_3333_3333_3333;
        (v | (v << 1)) & 0x5555_5555_5555_5555
    }
    spread(x) | (spread(y) << 1)
}

/// The inverse of [`interleave64`]: the even bits in the low half, the odd bits in the high.
fn deinterleave64(v: u64) -> u64 {
    fn squash(mut v: u64) -> u64 {
        v &= 0x5555_5555_5555_5555;
        v = (v | (v >> 1)) & 0x3333_3333_3333_3333;
        v = (v | (v >> 2)) & 0x0F0F_0F0F_0F0F_0F0F;
        v = (v | (v >> 4)) & 0x00FF_00FF_00FF_00FF;
        v = (v | (v >> 8)) & 0x0000_FFFF_0000_FFFF;
        (v | (v >> 16)) & 0x0000_0000_FFFF_FFFF
    }
    squash(v) | (squash(v >> 1) << 32)
}

/// Encodes a position at `step` steps over the given ranges (Redis's `geohashEncode`);
/// `None` outside the ranges or the Mercator limits.
pub fn encode(
    long_range: Range,
    lat_range: Range,
    longitude: f64,
    latitude: f64,
    step: u8,
) -> Option<HashBits> {
    if step == 0 || step > 32 {
        return None;
    }
    let outside = |v: f64, lo: f64, hi: f64| v > hi || v < lo;
    if outside(longitude, LONG_MIN, LONG_MAX)
        || outside(latitude, LAT_MIN, LAT_MAX)
        || outside(latitude, lat_range.min, lat_range.max)
        || outside(longitude, long_range.min, long_range.max)
    {
        return None;
    }
    let mut lat_offset = (latitude - lat_range.min) / (lat_range.max - lat_range.min);
    let mut long_offset = (longitude - long_range.min) / (long_range.max - long_range.min);
    let scale = (1u64 << step) as f64;
    lat_offset *= scale;
    long_offset *= scale;
    // C's double to uint32_t conversion truncates (the offsets are in 0..=2^step).
    Some(HashBits {
        bits: interleave64(lat_offset as u32, long_offset as u32),
        step,
    })
}

/// Encodes a position over Redis's coordinate limits.
pub fn encode_wgs84(longitude: f64, latitude: f64, step: u8) -> Option<HashBits> {
    encode(LONG_RANGE, LAT_RANGE, longitude, latitude, step)
}

/// The extent of a cell (Redis's `geohashDecode`); `None` for the zero cell.
pub fn decode(long_range: Range, lat_range: Range, hash: HashBits) -> Option<Area> {
    if hash.is_zero() {
        return None;
    }
    let sep = deinterleave64(hash.bits);
    let lat_scale = lat_range.max - lat_range.min;
    let long_scale = long_range.max - long_range.min;
    let ilato = sep as u32;
    let ilono = (sep >> 32) as u32;
    let div = (1u64 << hash.step) as f64;
    // `+ 1` wraps as C's uint32_t arithmetic does.
    Some(Area {
        latitude: Range {
            min: lat_range.min + (f64::from(ilato) / div) * lat_scale,
            max: lat_range.min + (f64::from(ilato.wrapping_add(1)) / div) * lat_scale,
        },
        longitude: Range {
            min: long_range.min + (f64::from(ilono) / div) * long_scale,
            max: long_range.min + (f64::from(ilono.wrapping_add(1)) / div) * long_scale,
        },
    })
}

/// The centre of a cell, clamped to the coordinate limits, as `[longitude, latitude]`.
pub fn decode_to_lon_lat(hash: HashBits) -> Option<[f64; 2]> {
    let area = decode(LONG_RANGE, LAT_RANGE, hash)?;
    let lon = ((area.longitude.min + area.longitude.max) / 2.0).clamp(LONG_MIN, LONG_MAX);
    let lat = ((area.latitude.min + area.latitude.max) / 2.0).clamp(LAT_MIN, LAT_MAX);
    Some([lon, lat])
}

/// A sorted-set score as the 64 bits Redis reads from it (`(uint64_t)score` as x86-64 code
/// computes it, out-of-range values included).
pub fn score_bits(score: f64) -> u64 {
    const TWO63: f64 = 9_223_372_036_854_775_808.0;
    if score < TWO63 {
        c_f64_to_i64(score) as u64
    } else {
        (c_f64_to_i64(score - TWO63) as u64) ^ (1 << 63)
    }
}

/// `(long long)v` on x86-64: truncation, and `i64::MIN` for NaN and out-of-range values.
pub fn c_f64_to_i64(v: f64) -> i64 {
    const TWO63: f64 = 9_223_372_036_854_775_808.0;
    if (-TWO63..TWO63).contains(&v) {
        v as i64
    } else {
        i64::MIN
    }
}

/// The position a stored score stands for, `[longitude, latitude]` (Redis's `decodeGeohash`,
/// which never fails for a 26-step cell).
pub fn score_to_lon_lat(score: f64) -> [f64; 2] {
    let hash = HashBits {
        bits: score_bits(score),
        step: STEP_MAX,
    };
    decode_to_lon_lat(hash).unwrap_or([0.0, 0.0])
}

/// The score of a position (already checked to be within the limits).
pub fn lon_lat_to_score(longitude: f64, latitude: f64) -> Option<u64> {
    encode_wgs84(longitude, latitude, STEP_MAX).map(align52)
}

/// Whether a position is outside what GEOADD accepts.
pub fn out_of_limits(longitude: f64, latitude: f64) -> bool {
    !(LONG_MIN..=LONG_MAX).contains(&longitude) || !(LAT_MIN..=LAT_MAX).contains(&latitude)
}

/// A cell's bits shifted to a 52-bit score.
pub fn align52(hash: HashBits) -> u64 {
    hash.bits << (52 - u32::from(hash.step) * 2)
}

fn move_x(hash: &mut HashBits, d: i8) {
    if d == 0 {
        return;
    }
    let shift = 64 - u32::from(hash.step) * 2;
    let mut x = hash.bits & 0xaaaa_aaaa_aaaa_aaaa;
    let y = hash.bits & 0x5555_5555_5555_5555;
    let zz = 0x5555_5555_5555_5555u64 >> shift;
    if d > 0 {
        x = x.wrapping_add(zz.wrapping_add(1));
    } else {
        x |= zz;
        x = x.wrapping_sub(zz.wrapping_add(1));
    }
    x &= 0xaaaa_aaaa_aaaa_aaaau64 >> shift;
    hash.bits = x | y;
}

fn move_y(hash: &mut HashBits, d: i8) {
    if d == 0 {
        return;
    }
    let shift = 64 - u32::from(hash.step) * 2;
    let x = hash.bits & 0xaaaa_aaaa_aaaa_aaaa;
    let mut y = hash.bits & 0x5555_5555_5555_5555;
    let zz = 0xaaaa_aaaa_aaaa_aaaau64 >> shift;
    if d > 0 {
        y = y.wrapping_add(zz.wrapping_add(1));
    } else {
        y |= zz;
        y = y.wrapping_sub(zz.wrapping_add(1));
    }
    y &= 0x5555_5555_5555_5555u64 >> shift;
    hash.bits = x | y;
}

fn moved(hash: HashBits, dx: i8, dy: i8) -> HashBits {
    let mut h = hash;
    move_x(&mut h, dx);
    move_y(&mut h, dy);
    h
}

/// The eight neighbours of a cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Neighbors {
    pub north: HashBits,
    pub south: HashBits,
    pub east: HashBits,
    pub west: HashBits,
    pub north_east: HashBits,
    pub north_west: HashBits,
    pub south_east: HashBits,
    pub south_west: HashBits,
}

pub fn neighbors(hash: HashBits) -> Neighbors {
    Neighbors {
        east: moved(hash, 1, 0),
        west: moved(hash, -1, 0),
        south: moved(hash, 0, -1),
        north: moved(hash, 0, 1),
        north_west: moved(hash, -1, 1),
        north_east: moved(hash, 1, 1),
        south_east: moved(hash, 1, -1),
        south_west: moved(hash, -1, -1),
    }
}

fn deg_rad(ang: f64) -> f64 {
    ang * D_R
}

fn rad_deg(ang: f64) -> f64 {
    ang / D_R
}

/// The steps of the cells that cover a search of `range_meters` around latitude `lat`.
pub fn estimate_steps_by_radius(mut range_meters: f64, lat: f64) -> u8 {
    if range_meters == 0.0 {
        return 26;
    }
    let mut step: i32 = 1;
    while range_meters < MERCATOR_MAX {
        range_meters *= 2.0;
        step += 1;
    }
    step -= 2;
    if !(-66.0..=66.0).contains(&lat) {
        step -= 1;
        if !(-80.0..=80.0).contains(&lat) {
            step -= 1;
        }
    }
    step.clamp(1, 26) as u8
}

/// Distance between two latitudes on the same meridian.
pub fn lat_distance(lat1d: f64, lat2d: f64) -> f64 {
    EARTH_RADIUS_IN_METERS * (deg_rad(lat2d) - deg_rad(lat1d)).abs()
}

/// Haversine great-circle distance in meters.
pub fn distance(lon1d: f64, lat1d: f64, lon2d: f64, lat2d: f64) -> f64 {
    let lon1r = deg_rad(lon1d);
    let lon2r = deg_rad(lon2d);
    let v = ((lon2r - lon1r) / 2.0).sin();
    if v == 0.0 {
        return lat_distance(lat1d, lat2d);
    }
    let lat1r = deg_rad(lat1d);
    let lat2r = deg_rad(lat2d);
    let u = ((lat2r - lat1r) / 2.0).sin();
    let a = u * u + lat1r.cos() * lat2r.cos() * v * v;
    2.0 * EARTH_RADIUS_IN_METERS * a.sqrt().asin()
}

/// What a search covers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Extent {
    /// BYRADIUS / GEORADIUS: a radius, in the request's unit.
    Radius(f64),
    /// BYBOX: width and height, in the request's unit.
    Box { width: f64, height: f64 },
}

/// A search area: centre `[longitude, latitude]`, extent, and the request unit in meters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Shape {
    pub center: [f64; 2],
    pub extent: Extent,
    pub conversion: f64,
}

impl Shape {
    /// `[min_lon, min_lat, max_lon, max_lat]` of the area (Redis's `geohashBoundingBox`).
    pub fn bounding_box(&self) -> [f64; 4] {
        let [longitude, latitude] = self.center;
        let (height, width) = match self.extent {
            Extent::Radius(r) => (self.conversion * r, self.conversion * r),
            Extent::Box { width, height } => (
                self.conversion * (height / 2.0),
                self.conversion * (width / 2.0),
            ),
        };
        let lat_delta = rad_deg(height / EARTH_RADIUS_IN_METERS);
        let long_delta_top =
            rad_deg(width / EARTH_RADIUS_IN_METERS / deg_rad(latitude + lat_delta).cos());
        let long_delta_bottom =
            rad_deg(width / EARTH_RADIUS_IN_METERS / deg_rad(latitude - lat_delta).cos());
        let long_delta = if latitude < 0.0 {
            long_delta_bottom
        } else {
            long_delta_top
        };
        [
            longitude - long_delta,
            latitude - lat_delta,
            longitude + long_delta,
            latitude + lat_delta,
        ]
    }

    /// The distance in meters from the centre to a point if it is inside the area.
    pub fn contains(&self, xy: [f64; 2]) -> Option<f64> {
        let [x1, y1] = self.center;
        let [x2, y2] = xy;
        match self.extent {
            Extent::Radius(r) => {
                let d = distance(x1, y1, x2, y2);
                (d <= r * self.conversion).then_some(d)
            }
            Extent::Box { width, height } => {
                let (width_m, height_m) = (width * self.conversion, height * self.conversion);
                if lat_distance(y2, y1) > height_m / 2.0 {
                    return None;
                }
                if distance(x2, y2, x1, y2) > width_m / 2.0 {
                    return None;
                }
                Some(distance(x1, y1, x2, y2))
            }
        }
    }
}

/// The cells a search reads, in Redis's order: the centre cell, then north, south, east,
/// west, north-east, north-west, south-east, south-west; excluded ones are zero
/// (Redis's `geohashCalculateAreasByShapeWGS84`).
pub fn search_areas(shape: &Shape) -> [HashBits; 9] {
    let [min_lon, min_lat, max_lon, max_lat] = shape.bounding_box();
    let [longitude, latitude] = shape.center;
    let radius_meters = match shape.extent {
        Extent::Radius(r) => r,
        Extent::Box { width, height } => {
            ((width / 2.0) * (width / 2.0) + (height / 2.0) * (height / 2.0)).sqrt()
        }
    } * shape.conversion;
    let mut steps = estimate_steps_by_radius(radius_meters, latitude);
    let cell = |steps: u8| {
        let hash = encode(LONG_RANGE, LAT_RANGE, longitude, latitude, steps).unwrap_or(HashBits {
            bits: 0,
            step: steps,
        });
        let area = decode(LONG_RANGE, LAT_RANGE, hash).unwrap_or_default();
        (hash, neighbors(hash), area)
    };
    let (mut hash, mut n, mut area) = cell(steps);
    let extent = |h: HashBits| decode(LONG_RANGE, LAT_RANGE, h).unwrap_or_default();
    // The estimate may leave the area poking out of the neighbours near a cell's edge.
    let decrease = extent(n.north).latitude.max < max_lat
        || extent(n.south).latitude.min > min_lat
        || extent(n.east).longitude.max < max_lon
        || extent(n.west).longitude.min > min_lon;
    if steps > 1 && decrease {
        steps -= 1;
        (hash, n, area) = cell(steps);
    }
    if steps >= 2 {
        let zero = HashBits::default();
        if area.latitude.min < min_lat {
            (n.south, n.south_west, n.south_east) = (zero, zero, zero);
        }
        if area.latitude.max > max_lat {
            (n.north, n.north_east, n.north_west) = (zero, zero, zero);
        }
        if area.longitude.min < min_lon {
            (n.west, n.south_west, n.north_west) = (zero, zero, zero);
        }
        if area.longitude.max > max_lon {
            (n.east, n.south_east, n.north_east) = (zero, zero, zero);
        }
    }
    [
        hash,
        n.north,
        n.south,
        n.east,
        n.west,
        n.north_east,
        n.north_west,
        n.south_east,
        n.south_west,
    ]
}

/// The 11-character standard geohash of a stored score (GEOHASH): the position re-encoded
/// over latitude -90..90, the eleventh character always `0`.
pub fn geohash_string(score: f64) -> [u8; 11] {
    const ALPHABET: &[u8; 32] = b"0123456789bcdefghjkmnpqrstuvwxyz";
    let [lon, lat] = score_to_lon_lat(score);
    let std_lat = Range {
        min: -90.0,
        max: 90.0,
    };
    let bits = encode(LONG_RANGE, std_lat, lon, lat, STEP_MAX).map_or(0, |h| h.bits);
    let mut out = [b'0'; 11];
    for (i, c) in out.iter_mut().take(10).enumerate() {
        let idx = (bits >> (52 - (i + 1) * 5)) & 0x1f;
        *c = ALPHABET[idx as usize];
    }
    out
}

/// A distance as the geo commands reply it: rounded (half to even, as `llrint`) to 4
/// decimals, always with 4 decimals.
pub fn format_distance(d: f64) -> String {
    if d == 0.0 {
        return "0.0000".to_string();
    }
    let scaled = c_f64_to_i64((d * 10000.0).round_ties_even());
    let neg = scaled < 0;
    let mag = scaled.unsigned_abs();
    let (int, frac) = (mag / 10000, mag % 10000);
    format!("{}{int}.{frac:04}", if neg { "-" } else { "" })
}

/// A coordinate as the geo commands reply it (Redis's "human" long double: `%.17Lf` without
/// trailing zeros or point, `-0` written `0`).
pub fn format_coordinate(v: f64) -> String {
    if v.is_infinite() {
        return if v > 0.0 { "inf" } else { "-inf" }.to_string();
    }
    let mut s = format!("{v:.17}");
    if s.contains('.') {
        while s.ends_with('0') {
            s.pop();
        }
        if s.ends_with('.') {
            s.pop();
        }
    }
    if s == "-0" {
        s = "0".to_string();
    }
    s
}

/// Compares two doubles as Redis's geo sort callbacks do: greater, equal, else less (so a NaN
/// is "less" than anything, both ways).
pub fn c_compare(a: f64, b: f64) -> std::cmp::Ordering {
    if a > b {
        std::cmp::Ordering::Greater
    } else if a == b {
        std::cmp::Ordering::Equal
    } else {
        std::cmp::Ordering::Less
    }
}

/// Sorts `v` exactly as glibc's `qsort` does (its top-down merge sort: stable, the left
/// element taken unless it compares greater), whatever `cmp` returns: equal elements, and
/// elements `cmp` orders inconsistently, end up where Redis's `qsort` puts them. Never
/// panics on an inconsistent `cmp`.
pub fn merge_sort<T>(v: &mut Vec<T>, cmp: &impl Fn(&T, &T) -> std::cmp::Ordering) {
    fn sort<T>(
        v: &[T],
        idx: &mut [usize],
        tmp: &mut [usize],
        cmp: &impl Fn(&T, &T) -> std::cmp::Ordering,
    ) {
        let n = idx.len();
        if n <= 1 {
            return;
        }
        let n1 = n / 2;
        {
            let (b1, b2) = idx.split_at_mut(n1);
            sort(v, b1, tmp, cmp);
            sort(v, b2, tmp, cmp);
        }
        let (mut i, mut j, mut k) = (0, n1, 0);
        while i < n1 && j < n {
            if cmp(&v[idx[i]], &v[idx[j]]) != std::cmp::Ordering::Greater {
                tmp[k] = idx[i];
                i += 1;
            } else {
                tmp[k] = idx[j];
                j += 1;
            }
            k += 1;
        }
        // What is left of the right half is already in place.
        while i < n1 {
            tmp[k] = idx[i];
            i += 1;
            k += 1;
        }
        idx[..k].copy_from_slice(&tmp[..k]);
    }
    let n = v.len();
    let mut idx: Vec<usize> = (0..n).collect();
    let mut tmp = vec![0; n];
    sort(v, &mut idx, &mut tmp, cmp);
    let mut taken: Vec<Option<T>> = v.drain(..).map(Some).collect();
    v.extend(idx.iter().filter_map(|&i| taken[i].take()));
}

/// Sorts `v[..]` enough that `v[lo..=hi]` holds the elements a full sort would put there, in
/// order, moving elements exactly as Redis's `pqsort` (Bentley & McIlroy's quicksort, skipping
/// partitions outside `lo..=hi`) so that equal elements end up where Redis puts them.
pub fn partial_sort<T>(
    v: &mut [T],
    lo: usize,
    hi: usize,
    cmp: &impl Fn(&T, &T) -> std::cmp::Ordering,
) {
    pqsort(v, 0, v.len(), cmp, lo, hi);
}

fn med3<T>(
    v: &[T],
    a: usize,
    b: usize,
    c: usize,
    cmp: &impl Fn(&T, &T) -> std::cmp::Ordering,
) -> usize {
    use std::cmp::Ordering::{Greater, Less};
    if cmp(&v[a], &v[b]) == Less {
        if cmp(&v[b], &v[c]) == Less {
            b
        } else if cmp(&v[a], &v[c]) == Less {
            c
        } else {
            a
        }
    } else if cmp(&v[b], &v[c]) == Greater {
        b
    } else if cmp(&v[a], &v[c]) == Less {
        a
    } else {
        c
    }
}

fn vecswap<T>(v: &mut [T], a: usize, b: usize, n: usize) {
    for i in 0..n {
        v.swap(a + i, b + i);
    }
}

/// Sorts `v[a..a + n]`; `lr..=rr` is the range of positions that must end up sorted.
fn pqsort<T>(
    v: &mut [T],
    mut a: usize,
    mut n: usize,
    cmp: &impl Fn(&T, &T) -> std::cmp::Ordering,
    lr: usize,
    rr: usize,
) {
    use std::cmp::Ordering::{Equal, Greater, Less};
    loop {
        if n < 7 {
            for pm in a + 1..a + n {
                let mut pl = pm;
                while pl > a && cmp(&v[pl - 1], &v[pl]) == Greater {
                    v.swap(pl, pl - 1);
                    pl -= 1;
                }
            }
            return;
        }
        let mut pm = a + n / 2;
        if n > 7 {
            let mut pl = a;
            let mut pn = a + n - 1;
            if n > 40 {
                let d = n / 8;
                pl = med3(v, pl, pl + d, pl + 2 * d, cmp);
                pm = med3(v, pm - d, pm, pm + d, cmp);
                pn = med3(v, pn - 2 * d, pn - d, pn, cmp);
            }
            pm = med3(v, pl, pm, pn, cmp);
        }
        v.swap(a, pm);
        let (mut pa, mut pb) = (a + 1, a + 1);
        // `pc`/`pd` may step one below `a + 1`; they stay >= a, as pb > pc ends the loop.
        let (mut pc, mut pd) = (a + n - 1, a + n - 1);
        loop {
            while pb <= pc {
                let r = cmp(&v[pb], &v[a]);
                if r == Greater {
                    break;
                }
                if r == Equal {
                    v.swap(pa, pb);
                    pa += 1;
                }
                pb += 1;
            }
            while pb <= pc {
                let r = cmp(&v[pc], &v[a]);
                if r == Less {
                    break;
                }
                if r == Equal {
                    v.swap(pc, pd);
                    pd -= 1;
                }
                pc -= 1;
            }
            if pb > pc {
                break;
            }
            v.swap(pb, pc);
            pb += 1;
            pc -= 1;
        }
        let pn = a + n;
        let r = (pa - a).min(pb - pa);
        vecswap(v, a, pb - r, r);
        let r = (pd - pc).min(pn - pd - 1);
        vecswap(v, pb, pn - r, r);
        let outside = |l: usize, cnt: usize| {
            let h = l + cnt - 1;
            (lr < l && rr < l) || (lr > h && rr > h)
        };
        let left = pb - pa;
        if left > 1 && !outside(a, left) {
            pqsort(v, a, left, cmp, lr, rr);
        }
        let right = pd - pc;
        if right > 1 {
            a = pn - right;
            n = right;
            if !outside(a, n) {
                continue;
            }
        }
        return;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interleave_round_trips() {
        for &(x, y) in &[
            (0u32, 0u32),
            (1, 0),
            (0, 1),
            (u32::MAX, 0),
            (0x1234_5678, 0x9abc_def0),
        ] {
            let v = interleave64(x, y);
            assert_eq!(deinterleave64(v), u64::from(x) | (u64::from(y) << 32));
        }
        assert_eq!(interleave64(1, 0), 1);
        assert_eq!(interleave64(0, 1), 2);
    }

    #[test]
    fn scores_match_redis() {
        // GEOADD Sicily 13.361389 38.115556 "Palermo" 15.087269 37.502669 "Catania" (Redis docs).
        assert_eq!(
            lon_lat_to_score(13.361389, 38.115556),
            Some(3479099956230698)
        );
        assert_eq!(
            lon_lat_to_score(15.087269, 37.502669),
            Some(3479447370796909)
        );
        let [lon, lat] = score_to_lon_lat(3479099956230698.0);
        assert_eq!(format_coordinate(lon), "13.36138933897018433");
        assert_eq!(format_coordinate(lat), "38.11555639549629859");
        assert_eq!(&geohash_string(3479099956230698.0), b"sqc8b49rny0");
        assert_eq!(&geohash_string(3479447370796909.0), b"sqdtr74hyu0");
    }

    #[test]
    fn distances_match_redis() {
        let a = score_to_lon_lat(3479099956230698.0);
        let b = score_to_lon_lat(3479447370796909.0);
        let d = distance(a[0], a[1], b[0], b[1]);
        assert_eq!(format_distance(d), "166274.1516");
        assert_eq!(format_distance(d / 1000.0), "166.2742");
        assert_eq!(format_distance(0.0), "0.0000");
        assert_eq!(format_distance(0.00005), "0.0000");
        assert_eq!(format_distance(1.23456), "1.2346");
    }

    #[test]
    fn out_of_range_scores_convert_as_x86_64() {
        assert_eq!(score_bits(-1.0), u64::MAX);
        assert_eq!(score_bits(1.5), 1);
        assert_eq!(score_bits(f64::INFINITY), 0);
        assert_eq!(score_bits(1e30), 0);
        assert_eq!(score_bits(-1e30), 1 << 63);
        assert_eq!(score_bits(9_223_372_036_854_775_808.0), 1 << 63);
    }

    #[test]
    fn steps_are_estimated_like_redis() {
        assert_eq!(estimate_steps_by_radius(0.0, 0.0), 26);
        assert_eq!(estimate_steps_by_radius(1000.0, 0.0), 14);
        assert_eq!(estimate_steps_by_radius(1000.0, 70.0), 13);
        assert_eq!(estimate_steps_by_radius(1000.0, -85.0), 12);
        assert_eq!(estimate_steps_by_radius(1e9, 0.0), 1);
    }

    #[test]
    fn neighbours_are_adjacent_cells() {
        let h = encode_wgs84(0.0, 0.0, 4).unwrap();
        let n = neighbors(h);
        let c = decode(LONG_RANGE, LAT_RANGE, h).unwrap();
        let east = decode(LONG_RANGE, LAT_RANGE, n.east).unwrap();
        let north = decode(LONG_RANGE, LAT_RANGE, n.north).unwrap();
        assert_eq!(east.longitude.min, c.longitude.max);
        assert_eq!(north.latitude.min, c.latitude.max);
        assert_eq!(east.latitude, c.latitude);
    }

    #[test]
    fn search_areas_cover_the_centre() {
        let shape = Shape {
            center: [15.0, 37.0],
            extent: Extent::Radius(200.0),
            conversion: 1000.0,
        };
        let areas = search_areas(&shape);
        let score = lon_lat_to_score(15.0, 37.0).unwrap();
        let (min, max) = areas[0].score_range();
        assert!(min <= score && score < max);
        assert!(shape.contains([15.0, 37.0]).is_some());
        assert!(shape.contains([25.0, 37.0]).is_none());
    }

    #[test]
    fn coordinates_format_like_long_double_human() {
        assert_eq!(format_coordinate(1.0), "1");
        assert_eq!(format_coordinate(-0.0), "0");
        assert_eq!(format_coordinate(-1.5), "-1.5");
        assert_eq!(format_coordinate(0.1), "0.10000000000000001");
    }

    #[test]
    fn merge_sort_is_stable_and_survives_nan() {
        let mut v: Vec<(f64, usize)> = [3.0, 1.0, 2.0, 1.0, f64::NAN, 0.5, 2.0, 1.0]
            .iter()
            .enumerate()
            .map(|(i, &d)| (d, i))
            .collect();
        let cmp = |a: &(f64, usize), b: &(f64, usize)| c_compare(a.0, b.0);
        merge_sort(&mut v, &cmp);
        let order: Vec<usize> = v.iter().map(|p| p.1).collect();
        assert_eq!(order.len(), 8);
        // Equal keys keep their order.
        let ones: Vec<usize> = v.iter().filter(|p| p.0 == 1.0).map(|p| p.1).collect();
        assert_eq!(ones, [1, 3, 7]);
        let mut w: Vec<(f64, usize)> = (0..50).map(|i| ((i * 37 % 11) as f64, i)).collect();
        merge_sort(&mut w, &cmp);
        assert!(w
            .windows(2)
            .all(|p| p[0].0 < p[1].0 || (p[0].0 == p[1].0 && p[0].1 < p[1].1)));
    }

    #[test]
    fn partial_sort_sorts_the_requested_prefix() {
        let cmp = |a: &u32, b: &u32| a.cmp(b);
        for n in [0usize, 1, 5, 7, 8, 41, 100, 300] {
            for k in [1usize, 3, 10] {
                let mut v: Vec<u32> = (0..n as u32).map(|i| (i * 7919) % 97).collect();
                let mut sorted = v.clone();
                sorted.sort();
                if n == 0 {
                    continue;
                }
                let k = k.min(n);
                partial_sort(&mut v, 0, k - 1, &cmp);
                assert_eq!(v[..k], sorted[..k], "n={n} k={k}");
            }
        }
    }
}
