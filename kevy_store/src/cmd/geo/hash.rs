//! The geohash arithmetic of Redis's `geohash.c` and `geohash_helper.c`,
//! step for step, since replies depend on its exact floating-point results:
//! a position is a 52-bit interleave of 26 latitude bits (even positions)
//! and 26 longitude bits (odd positions) over the Web-Mercator-safe ranges
//! (latitude ±85.05112878), stored as a sorted-set score. A search picks a
//! cell size from the radius, then the centre cell and its 8 neighbours
//! (minus those the bounding box proves useless) are scanned as score ranges.

/// Longitude bounds.
pub(super) const LON_MIN: f64 = -180.0;
pub(super) const LON_MAX: f64 = 180.0;
/// Latitude bounds (the Web Mercator limits).
pub(super) const LAT_MIN: f64 = -85.05112878;
pub(super) const LAT_MAX: f64 = 85.05112878;
/// Bits per coordinate of a stored position.
pub(super) const STEP_MAX: u8 = 26;

const EARTH_RADIUS_M: f64 = 6372797.560856;
const MERCATOR_MAX: f64 = 20037726.37;
const D_R: f64 = std::f64::consts::PI / 180.0;

#[inline]
fn deg_rad(a: f64) -> f64 {
    a * D_R
}

#[inline]
fn rad_deg(a: f64) -> f64 {
    a / D_R
}

/// A coordinate range.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct Range {
    pub min: f64,
    pub max: f64,
}

/// Redis's coordinate ranges (`geohashGetCoordRange`).
pub(super) const LON_RANGE: Range = Range {
    min: LON_MIN,
    max: LON_MAX,
};
pub(super) const LAT_RANGE: Range = Range {
    min: LAT_MIN,
    max: LAT_MAX,
};

/// A geohash of `step` bits per coordinate (`GeoHashBits`).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(super) struct Bits {
    pub bits: u64,
    pub step: u8,
}

impl Bits {
    /// `HASHISZERO`: an excluded neighbour.
    fn is_zero(&self) -> bool {
        self.bits == 0 && self.step == 0
    }

    /// `geohashAlign52Bits`: the hash as a 52-bit score.
    pub(super) fn align52(self) -> u64 {
        self.bits << (52 - self.step as u32 * 2)
    }
}

/// The cell a hash stands for (`GeoHashArea`).
#[derive(Clone, Copy, Debug)]
pub(super) struct Area {
    pub lon: Range,
    pub lat: Range,
}

fn interleave64(xlo: u32, ylo: u32) -> u64 {
    const B: [u64; 5] = [
        0x5555555555555555,
        0x3333333333333333,
        0x0F0F0F0F0F0F0F0F,
        0x00FF00FF00FF00FF,
        0x0000FFFF0000FFFF,
    ];
    const S: [u32; 5] = [1, 2, 4, 8, 16];
    let spread = |v: u32| {
        let mut v = v as u64;
        for i in (0..5).rev() {
            v = (v | (v << S[i])) & B[i];
        }
        v
    };
    spread(xlo) | (spread(ylo) << 1)
}

fn deinterleave64(v: u64) -> u64 {
    const B: [u64; 6] = [
        0x5555555555555555,
        0x3333333333333333,
        0x0F0F0F0F0F0F0F0F,
        0x00FF00FF00FF00FF,
        0x0000FFFF0000FFFF,
        0x00000000FFFFFFFF,
    ];
    const S: [u32; 6] = [0, 1, 2, 4, 8, 16];
    let squash = |mut v: u64| {
        for i in 0..6 {
            v = (v | (v >> S[i])) & B[i];
        }
        v
    };
    squash(v) | (squash(v >> 1) << 32)
}

/// `geohashEncode`: the hash of a position (bits 0 when it is outside the
/// ranges, as Redis leaves it).
pub(super) fn encode(lon_r: Range, lat_r: Range, lon: f64, lat: f64, step: u8) -> Bits {
    let mut h = Bits { bits: 0, step };
    if !(LON_MIN..=LON_MAX).contains(&lon) || !(LAT_MIN..=LAT_MAX).contains(&lat) {
        return h;
    }
    if lat < lat_r.min || lat > lat_r.max || lon < lon_r.min || lon > lon_r.max {
        return h;
    }
    let scale = (1u64 << step) as f64;
    let lat_off = (lat - lat_r.min) / (lat_r.max - lat_r.min) * scale;
    let lon_off = (lon - lon_r.min) / (lon_r.max - lon_r.min) * scale;
    // C converts the doubles to `uint32_t` parameters (truncation).
    h.bits = interleave64(lat_off as u32, lon_off as u32);
    h
}

/// `geohashDecode`: the cell of a hash; none for a zero hash.
pub(super) fn decode(lon_r: Range, lat_r: Range, h: Bits) -> Option<Area> {
    if h.is_zero() {
        return None;
    }
    let sep = deinterleave64(h.bits);
    let (ilat, ilon) = (sep as u32 as f64, (sep >> 32) as u32 as f64);
    let cells = (1u64 << h.step) as f64;
    let (lat_s, lon_s) = (lat_r.max - lat_r.min, lon_r.max - lon_r.min);
    Some(Area {
        lat: Range {
            min: lat_r.min + (ilat / cells) * lat_s,
            max: lat_r.min + ((ilat + 1.0) / cells) * lat_s,
        },
        lon: Range {
            min: lon_r.min + (ilon / cells) * lon_s,
            max: lon_r.min + ((ilon + 1.0) / cells) * lon_s,
        },
    })
}

/// C's `(uint64_t)` of a double on x86-64 (what Redis does to a score).
fn c_u64(d: f64) -> u64 {
    const TWO63: f64 = 9_223_372_036_854_775_808.0;
    let i64_trunc = |v: f64| {
        if v.is_nan() || !(-TWO63..TWO63).contains(&v) {
            0x8000_0000_0000_0000u64
        } else {
            v as i64 as u64
        }
    };
    if d >= TWO63 {
        i64_trunc(d - TWO63) ^ 0x8000_0000_0000_0000
    } else {
        i64_trunc(d)
    }
}

/// `decodeGeohash`: the (longitude, latitude) centre of the cell a score
/// names, clamped to the valid ranges.
pub(super) fn score_to_xy(score: f64) -> Option<[f64; 2]> {
    let h = Bits {
        bits: c_u64(score),
        step: STEP_MAX,
    };
    let a = decode(LON_RANGE, LAT_RANGE, h)?;
    let x = ((a.lon.min + a.lon.max) / 2.0).clamp(LON_MIN, LON_MAX);
    let y = ((a.lat.min + a.lat.max) / 2.0).clamp(LAT_MIN, LAT_MAX);
    Some([x, y])
}

/// The score GEOADD stores for a position.
pub(super) fn xy_to_score(lon: f64, lat: f64) -> u64 {
    encode(LON_RANGE, LAT_RANGE, lon, lat, STEP_MAX).align52()
}

/// GEOHASH's 11-character string: the position re-encoded over the
/// standard ±90 latitude range.
pub(super) fn standard_geohash(xy: [f64; 2]) -> [u8; 11] {
    const ALPHABET: &[u8; 32] = b"0123456789bcdefghjkmnpqrstuvwxyz";
    let lat90 = Range {
        min: -90.0,
        max: 90.0,
    };
    let h = encode(LON_RANGE, lat90, xy[0], xy[1], 26);
    let mut out = [b'0'; 11];
    for (i, c) in out.iter_mut().enumerate().take(10) {
        *c = ALPHABET[((h.bits >> (52 - (i + 1) * 5)) & 0x1f) as usize];
    }
    out
}

/// Great-circle distance in metres (Haversine, `geohashGetDistance`).
pub(super) fn distance(lon1: f64, lat1: f64, lon2: f64, lat2: f64) -> f64 {
    let (lat1r, lon1r, lat2r, lon2r) = (deg_rad(lat1), deg_rad(lon1), deg_rad(lat2), deg_rad(lon2));
    let u = ((lat2r - lat1r) / 2.0).sin();
    let v = ((lon2r - lon1r) / 2.0).sin();
    2.0 * EARTH_RADIUS_M * (u * u + lat1r.cos() * lat2r.cos() * v * v).sqrt().asin()
}

fn move_x(h: &mut Bits, d: i8) {
    let x = h.bits & 0xaaaaaaaaaaaaaaaa;
    let y = h.bits & 0x5555555555555555;
    let shift = 64 - h.step as u32 * 2;
    let zz = 0x5555555555555555u64 >> shift;
    let x = if d > 0 {
        x.wrapping_add(zz + 1)
    } else {
        (x | zz).wrapping_sub(zz + 1)
    };
    h.bits = (x & (0xaaaaaaaaaaaaaaaau64 >> shift)) | y;
}

fn move_y(h: &mut Bits, d: i8) {
    let x = h.bits & 0xaaaaaaaaaaaaaaaa;
    let y = h.bits & 0x5555555555555555;
    let shift = 64 - h.step as u32 * 2;
    let zz = 0xaaaaaaaaaaaaaaaau64 >> shift;
    let y = if d > 0 {
        y.wrapping_add(zz + 1)
    } else {
        (y | zz).wrapping_sub(zz + 1)
    };
    h.bits = x | (y & (0x5555555555555555u64 >> shift));
}

fn moved(h: Bits, dx: i8, dy: i8) -> Bits {
    let mut n = h;
    if dx != 0 {
        move_x(&mut n, dx);
    }
    if dy != 0 {
        move_y(&mut n, dy);
    }
    n
}

/// What a search covers: a centre point, a unit, and a circle or a box.
#[derive(Clone, Copy, Debug)]
pub(super) struct Shape {
    pub xy: [f64; 2],
    /// Metres per unit.
    pub conversion: f64,
    pub kind: ShapeKind,
}

/// A radius, or a box's width and height, in the shape's unit.
#[derive(Clone, Copy, Debug)]
pub(super) enum ShapeKind {
    Radius(f64),
    Box(f64, f64),
}

impl Shape {
    /// `geoAppendIfWithinShape`'s test: the distance in metres of a point
    /// inside the shape.
    pub(super) fn contains(&self, xy: [f64; 2]) -> Option<f64> {
        let [x1, y1] = self.xy;
        let [x2, y2] = xy;
        match self.kind {
            ShapeKind::Radius(r) => {
                let d = distance(x1, y1, x2, y2);
                // C's `distance > radius` test: a NaN distance is inside.
                let outside = d > r * self.conversion;
                (!outside).then_some(d)
            }
            ShapeKind::Box(w, h) => {
                let (w, h) = (w * self.conversion, h * self.conversion);
                let lon_d = distance(x2, y2, x1, y2);
                let lat_d = distance(x2, y2, x2, y1);
                if lon_d > w / 2.0 || lat_d > h / 2.0 {
                    return None;
                }
                Some(distance(x1, y1, x2, y2))
            }
        }
    }

    /// `geohashBoundingBox`: min lon, min lat, max lon, max lat.
    fn bounding_box(&self) -> [f64; 4] {
        let [lon, lat] = self.xy;
        let (height, width) = match self.kind {
            ShapeKind::Radius(r) => (r * self.conversion, r * self.conversion),
            ShapeKind::Box(w, h) => (self.conversion * (h / 2.0), self.conversion * (w / 2.0)),
        };
        let lat_delta = rad_deg(height / EARTH_RADIUS_M);
        let top = rad_deg(width / EARTH_RADIUS_M / deg_rad(lat + lat_delta).cos());
        let bottom = rad_deg(width / EARTH_RADIUS_M / deg_rad(lat - lat_delta).cos());
        let d = if lat < 0.0 { bottom } else { top };
        [lon - d, lat - lat_delta, lon + d, lat + lat_delta]
    }
}

/// `geohashEstimateStepsByRadius`.
fn estimate_steps(mut range_m: f64, lat: f64) -> u8 {
    if range_m == 0.0 {
        return 26;
    }
    let mut step: i32 = 1;
    while range_m < MERCATOR_MAX {
        range_m *= 2.0;
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

/// `geohashCalculateAreasByShapeWGS84`: the cells to scan, in Redis's order
/// (centre, N, S, E, W, NE, NW, SE, SW); excluded neighbours are zero.
pub(super) fn search_cells(shape: &Shape) -> [Bits; 9] {
    let [min_lon, min_lat, max_lon, max_lat] = shape.bounding_box();
    let [lon, lat] = shape.xy;
    let radius_m = match shape.kind {
        ShapeKind::Radius(r) => r,
        ShapeKind::Box(w, h) => ((w / 2.0) * (w / 2.0) + (h / 2.0) * (h / 2.0)).sqrt(),
    } * shape.conversion;
    let mut steps = estimate_steps(radius_m, lat);
    let cells = |steps: u8| {
        let h = encode(LON_RANGE, LAT_RANGE, lon, lat, steps);
        [
            h,
            moved(h, 0, 1),
            moved(h, 0, -1),
            moved(h, 1, 0),
            moved(h, -1, 0),
            moved(h, 1, 1),
            moved(h, -1, 1),
            moved(h, 1, -1),
            moved(h, -1, -1),
        ]
    };
    let mut c = cells(steps);
    // A neighbour too near the search area to cover it: one step coarser.
    let dec = |b: Bits| decode(LON_RANGE, LAT_RANGE, b);
    let decrease = match (dec(c[1]), dec(c[2]), dec(c[3]), dec(c[4])) {
        (Some(n), Some(s), Some(e), Some(w)) => {
            n.lat.max < max_lat || s.lat.min > min_lat || e.lon.max < max_lon || w.lon.min > min_lon
        }
        _ => false,
    };
    if steps > 1 && decrease {
        steps -= 1;
        c = cells(steps);
    }
    if steps >= 2 {
        if let Some(area) = dec(c[0]) {
            let zero = |c: &mut [Bits; 9], idx: [usize; 3]| {
                for i in idx {
                    c[i] = Bits::default();
                }
            };
            if area.lat.min < min_lat {
                zero(&mut c, [2, 8, 7]);
            }
            if area.lat.max > max_lat {
                zero(&mut c, [1, 5, 6]);
            }
            if area.lon.min < min_lon {
                zero(&mut c, [4, 8, 6]);
            }
            if area.lon.max > max_lon {
                zero(&mut c, [3, 7, 5]);
            }
        }
    }
    c
}

/// `membersOfAllNeighbors`' walk: the `[min, max)` score ranges to scan, in
/// order, skipping a cell equal to the last one scanned (Redis compares
/// only once something other than the centre was scanned).
pub(super) fn score_ranges(cells: &[Bits; 9]) -> Vec<(f64, f64)> {
    let mut out = Vec::with_capacity(9);
    let mut last = 0usize;
    for (i, c) in cells.iter().enumerate() {
        if c.is_zero() {
            continue;
        }
        if last != 0 && c.bits == cells[last].bits && c.step == cells[last].step {
            continue;
        }
        let min = c.align52();
        let max = Bits {
            bits: c.bits.wrapping_add(1),
            step: c.step,
        }
        .align52();
        out.push((min as f64, max as f64));
        last = i;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_decode_like_redis() {
        // Scores and positions as redis-server 7.0.15 reports them.
        assert_eq!(xy_to_score(13.361389, 38.115556), 3479099956230698);
        assert_eq!(xy_to_score(15.087269, 37.502669), 3479447370796909);
        assert_eq!(xy_to_score(-180.0, -85.05112878), 0);
        assert_eq!(xy_to_score(180.0, 85.05112878), 13510798882111488);
        let xy = score_to_xy(3479099956230698.0).unwrap_or_default();
        assert_eq!(xy, [13.361389338970184, 38.1155563954963]);
        assert!(score_to_xy(0.0).is_some());
        assert_eq!(score_to_xy(13510798882111488.0).map(|v| v[0]), Some(180.0));
        let b = |s: &str| s.as_bytes().to_vec();
        assert_eq!(standard_geohash(xy).to_vec(), b("sqc8b49rny0"));
        assert_eq!(
            standard_geohash(score_to_xy(0.0).unwrap_or_default()).to_vec(),
            b("00bh0hbj200")
        );
    }

    #[test]
    fn interleave_roundtrip() {
        for (x, y) in [
            (0u32, 0u32),
            (1, 0),
            (0, 1),
            (0x3ffffff, 0x1234567),
            (u32::MAX, 7),
        ] {
            let d = deinterleave64(interleave64(x, y));
            assert_eq!((d as u32, (d >> 32) as u32), (x, y));
        }
    }

    #[test]
    fn haversine() {
        let d = distance(
            13.361389338970184,
            38.1155563954963,
            15.087267458438873,
            37.50266842333162,
        );
        assert_eq!(format!("{d:.4}"), "166274.1516");
        assert_eq!(distance(1.0, 2.0, 1.0, 2.0), 0.0);
    }

    #[test]
    fn c_casts() {
        assert_eq!(c_u64(-1.0), u64::MAX);
        assert_eq!(c_u64(f64::NAN), 1 << 63);
        assert_eq!(c_u64(1e30), 0);
        assert_eq!(c_u64(3.9), 3);
    }

    #[test]
    fn steps() {
        assert_eq!(estimate_steps(0.0, 0.0), 26);
        assert_eq!(estimate_steps(200_000.0, 37.0), 6);
        assert_eq!(estimate_steps(1e9, 0.0), 1);
    }
}
