//! LOLWUT: Redis 7.0.15's computer art command.
//!
//! # Format
//! `LOLWUT [VERSION n [args ...]]`. Without `VERSION` (or with a version other than 5 or 6)
//! the reply is the "unstable" text, `Redis ver. 7.0.15\n`, since 7.0 is neither 5.x nor 6.x.
//! `VERSION 5 [cols [squares-per-row [squares-per-col]]]` draws Georg Nees's *Schotter* with
//! braille characters; `VERSION 6 [cols [rows]]` draws a city skyline with terminal colour
//! escapes. Every reply is a verbatim `txt` string (a bulk string in RESP2).
//!
//! # Layout
//! [`Braille`] is the 1-bit canvas of version 5, stored as one byte per 2x4 braille cell (a
//! byte is the cell's dot pattern, so rendering is a table-free offset from U+2800); it is 8
//! times smaller than a byte per pixel. [`schotter`] draws on it and [`Skyline`] is version
//! 6's four-gray canvas. Both take the random source as a closure, so the deterministic cases
//! (version 5 with at most two rows of squares, version 6 with one row) are unit-testable.
//!
//! # Fidelity
//! The geometry follows Redis's arithmetic exactly (single-precision floats where Redis uses
//! `float`, double where it promotes), so the deterministic drawings are byte-identical to
//! redis-server's; the random ones have the same shape: canvas size, line count and widths,
//! trailing text. The version number is matched as Redis does: `n` is truncated to 32 bits.
//!
//! # Cost
//! Arguments are clamped as Redis clamps them (columns 1..=1000, squares and rows 1..=200 /
//! 1..=1000), which bounds the work and the reply (at most about 300 MB for
//! `VERSION 5 1000 1 200`, the same text Redis builds).

use bytes::Bytes;
use rand::Rng;

use super::connection::REDIS_VERSION;
use super::flags::*;
use super::{args, spec, CommandSpec, Ctx, Group};

#[rustfmt::skip]
pub static COMMANDS: &[CommandSpec] = &[
    //   name     arity flags             group          keys     handler
    spec("lolwut", -1,  READONLY | FAST,  Group::Server, 0, 0, 0, lolwut),
];

const SCHOTTER_TRAILER: &str = "\nGeorg Nees - schotter, plotter on paper, 1968. Redis ver. ";
const SKYLINE_TRAILER: &str = "\nDedicated to the 8 bit game developers of past and present.\n\
                               Original 8 bit image from Plaguemon by hikikomori. Redis ver. ";

/// The C library's `RAND_MAX` (glibc), the range of the random source the drawings expect.
const RAND_MAX: i32 = i32::MAX;

// ---------------------------------------------------------------------------------------------
// Version 5: Schotter on a braille canvas
// ---------------------------------------------------------------------------------------------

/// A width x height canvas of 1-bit pixels, stored as braille cells of 2x4 pixels. Drawing out
/// of bounds is ignored.
pub struct Braille {
    width: i64,
    height: i64,
    /// Cells per text line: `ceil(width / 2)`.
    line: usize,
    cells: Vec<u8>,
}

impl Braille {
    pub fn new(width: usize, height: usize) -> Self {
        let line = width.div_ceil(2);
        Braille {
            width: width as i64,
            height: height as i64,
            line,
            cells: vec![0; line * height.div_ceil(4)],
        }
    }

    /// The bit of pixel (dx, dy) inside its cell, in the Unicode braille dot order:
    /// dots 1-3 down the left column, 4-6 down the right, then 7 and 8 on the bottom row.
    fn dot(dx: i64, dy: i64) -> u8 {
        match (dx, dy) {
            (0, 3) => 1 << 6,
            (1, 3) => 1 << 7,
            _ => 1 << (dy + 3 * dx),
        }
    }

    pub fn set(&mut self, x: i64, y: i64) {
        if x < 0 || x >= self.width || y < 0 || y >= self.height {
            return;
        }
        let cell = (y / 4) as usize * self.line + (x / 2) as usize;
        self.cells[cell] |= Self::dot(x % 2, y % 4);
    }

    pub fn get(&self, x: i64, y: i64) -> bool {
        if x < 0 || x >= self.width || y < 0 || y >= self.height {
            return false;
        }
        let cell = (y / 4) as usize * self.line + (x / 2) as usize;
        self.cells[cell] & Self::dot(x % 2, y % 4) != 0
    }

    /// A Bresenham line from (x1, y1) to (x2, y2), both ends included.
    pub fn line(&mut self, mut x1: i64, mut y1: i64, x2: i64, y2: i64) {
        let (dx, dy) = ((x2 - x1).abs(), (y2 - y1).abs());
        let sx = if x1 < x2 { 1 } else { -1 };
        let sy = if y1 < y2 { 1 } else { -1 };
        let mut err = dx - dy;
        loop {
            self.set(x1, y1);
            if x1 == x2 && y1 == y2 {
                break;
            }
            let e2 = err * 2;
            if e2 > -dy {
                err -= dy;
                x1 += sx;
            }
            if e2 < dx {
                err += dx;
                y1 += sy;
            }
        }
    }

    /// The outline of a square of side `size` centred on (x, y), rotated by `angle` radians:
    /// its corners are points of the circumscribed circle, starting at 45 degrees. The float
    /// widths are Redis's (`float` size and angle, `double` trigonometry).
    pub fn square(&mut self, x: i64, y: i64, size: f32, angle: f32) {
        // Redis divides by this truncated literal, not by SQRT_2; the glyphs depend on it.
        #[allow(clippy::approx_constant)]
        let radius = ((f64::from(size) / 1.4142135623) as f32).round();
        let mut k = (std::f64::consts::FRAC_PI_4 + f64::from(angle)) as f32;
        let mut corners = [(0i64, 0i64); 4];
        for c in &mut corners {
            let k64 = f64::from(k);
            *c = (
                (k64.sin() * f64::from(radius) + x as f64).round() as i64,
                (k64.cos() * f64::from(radius) + y as f64).round() as i64,
            );
            k = (k64 + std::f64::consts::FRAC_PI_2) as f32;
        }
        for j in 0..4 {
            let (a, b) = (corners[j], corners[(j + 1) % 4]);
            self.line(a.0, a.1, b.0, b.1);
        }
    }

    /// The text: one line of braille characters per 4 pixel rows, lines separated by `\n`
    /// (Redis omits the separator only after a last row that starts at `height - 1`, so most
    /// drawings end with a newline).
    pub fn render(&self) -> Vec<u8> {
        let rows = self.cells.len().checked_div(self.line).unwrap_or(0);
        let mut text = Vec::with_capacity(rows * (self.line * 3 + 1));
        for (row, cells) in self.cells.chunks(self.line.max(1)).enumerate() {
            for &byte in cells {
                let mut utf8 = [0u8; 3];
                let c = char::from_u32(0x2800 + u32::from(byte)).expect("braille block");
                text.extend_from_slice(c.encode_utf8(&mut utf8).as_bytes());
            }
            if row as i64 * 4 != self.height - 1 {
                text.push(b'\n');
            }
        }
        text
    }
}

/// Schotter: `per_row` x `per_col` squares on a canvas `cols` characters wide, increasingly
/// rotated and displaced (by `rand`, which returns 0..=RAND_MAX) from the third row down.
/// Arguments must be clamped already (all at least 1).
pub fn schotter(cols: i64, per_row: i64, per_col: i64, rand: &mut impl FnMut() -> i32) -> Braille {
    let width = cols * 2;
    let padding: i64 = if width > 4 { 2 } else { 0 };
    let side = (width - padding * 2) as f32 / per_row as f32;
    let height = (side * per_col as f32 + (padding * 2) as f32) as i64;
    let mut canvas = Braille::new(width as usize, height.max(0) as usize);
    for y in 0..per_col {
        for x in 0..per_row {
            let mut sx = (x as f32 * side + side / 2.0 + padding as f32) as i64;
            let mut sy = (y as f32 * side + side / 2.0 + padding as f32) as i64;
            let mut angle = 0.0f32;
            if y > 1 {
                let mut r =
                    [0f32; 3].map(|_| rand() as f32 / RAND_MAX as f32 / per_col as f32 * y as f32);
                for v in &mut r {
                    if rand() % 2 != 0 {
                        *v = -*v;
                    }
                }
                angle = r[0];
                sx = (sx as f32 + r[1] * side / 3.0) as i64;
                sy = (sy as f32 + r[2] * side / 3.0) as i64;
            }
            canvas.square(sx, sy, side, angle);
        }
    }
    canvas
}

// ---------------------------------------------------------------------------------------------
// Version 6: the skyline
// ---------------------------------------------------------------------------------------------

/// A canvas of four grays (0 black .. 3 white); out-of-bounds pixels read 0.
pub struct Skyline {
    width: i64,
    height: i64,
    pixels: Vec<u8>,
}

/// One skyscraper: left edge, size, whether it has windows, its gray.
struct Building {
    xoff: i64,
    width: i64,
    height: i64,
    windows: bool,
    color: u8,
}

/// The terminal escape (foreground and background) for each gray.
const GRAYS: [&str; 4] = ["0;30;40m", "0;90;100m", "0;37;47m", "0;97;107m"];

impl Skyline {
    /// A `width` x `height` city (both at least 1) drawn with `rand` (0..=RAND_MAX).
    pub fn draw(width: i64, height: i64, rand: &mut impl FnMut() -> i32) -> Self {
        let mut s = Skyline {
            width,
            height,
            pixels: vec![3; (width * height) as usize],
        };
        let mut r = |m: i64| i64::from(rand()) % m;
        // Background, lighter gray first so it stays behind; no windows.
        for color in [2u8, 1] {
            let mut offset = -10;
            while offset < width {
                offset += r(8);
                let w = 10 + r(9);
                let h = if color == 2 {
                    height / 2 + r(height) / 2
                } else {
                    height / 2 + r(height) / 3
                };
                s.building(
                    &Building {
                        xoff: offset,
                        width: w,
                        height: h,
                        windows: false,
                        color,
                    },
                    &mut r,
                );
                offset += if color == 2 { w / 2 } else { w + 1 };
            }
        }
        // Foreground, black with windows.
        let mut offset = -10;
        while offset < width {
            offset += r(8);
            let mut w = 5 + r(14);
            if w % 4 != 0 {
                w += w % 3;
            }
            let h = height / 3 + r(height) / 2;
            s.building(
                &Building {
                    xoff: offset,
                    width: w,
                    height: h,
                    windows: true,
                    color: 0,
                },
                &mut r,
            );
            offset += w + 5;
        }
        s
    }

    fn get(&self, x: i64, y: i64) -> u8 {
        if x < 0 || x >= self.width || y < 0 || y >= self.height {
            return 0;
        }
        self.pixels[(x + y * self.width) as usize]
    }

    fn set(&mut self, x: i64, y: i64, color: u8) {
        if x < 0 || x >= self.width || y < 0 || y >= self.height {
            return;
        }
        self.pixels[(x + y * self.width) as usize] = color;
    }

    /// A skyscraper standing on the bottom row; its roof is two pixels narrower on each side,
    /// its windows (away from the walls) two pixels wide, one tall, in a random other gray.
    fn building(&mut self, b: &Building, r: &mut impl FnMut(i64) -> i64) {
        let bottom = self.height - 1;
        let top = bottom - b.height + 1;
        let (left, right) = (b.xoff, b.xoff + b.width);
        for y in (top..=bottom).rev() {
            for x in left..right {
                if y == top && (x <= left + 1 || x >= right - 2) {
                    continue;
                }
                let mut color = b.color;
                if b.windows && x > left + 1 && x < right - 2 && y > top + 1 && y < bottom - 1 {
                    let (relx, rely) = (x - (left + 1), y - (top + 1));
                    if (relx / 2) % 2 != 0 && rely % 2 != 0 {
                        color = loop {
                            let c = 1 + r(2) as u8;
                            if c != b.color {
                                break c;
                            }
                        };
                        // The second pixel of a window repeats the first.
                        if relx % 2 != 0 {
                            color = self.get(x - 1, y);
                        }
                    }
                }
                self.set(x, y, color);
            }
        }
    }

    /// One text line per pixel row, each pixel a space coloured by escapes; no newline after
    /// the last line.
    pub fn render(&self) -> Vec<u8> {
        let mut text = Vec::with_capacity(self.pixels.len() * 20);
        for (y, row) in self.pixels.chunks(self.width as usize).enumerate() {
            for &p in row {
                text.extend_from_slice(b"\x1b[");
                text.extend_from_slice(GRAYS.get(p as usize).unwrap_or(&GRAYS[0]).as_bytes());
                text.extend_from_slice(b" \x1b[0m");
            }
            if y as i64 != self.height - 1 {
                text.push(b'\n');
            }
        }
        text
    }
}

// ---------------------------------------------------------------------------------------------
// Handler
// ---------------------------------------------------------------------------------------------

/// Parses the optional integer arguments of a drawing over `defaults`, each clamped to its
/// range; replies the error and returns `None` at the first non-integer.
fn drawing_args<const N: usize>(
    ctx: &mut Ctx<'_>,
    argv: &[Bytes],
    defaults: [i64; N],
    ranges: [(i64, i64); N],
) -> Option<[i64; N]> {
    let mut out = defaults;
    for (i, arg) in argv.iter().take(N).enumerate() {
        out[i] = args::int(ctx, arg)?;
    }
    for (v, (lo, hi)) in out.iter_mut().zip(ranges) {
        *v = (*v).clamp(lo, hi);
    }
    Some(out)
}

fn c_rand() -> i32 {
    rand::thread_rng().gen_range(0..=RAND_MAX)
}

fn with_version(mut text: Vec<u8>, trailer: &str) -> Vec<u8> {
    text.extend_from_slice(trailer.as_bytes());
    text.extend_from_slice(REDIS_VERSION.as_bytes());
    text.push(b'\n');
    text
}

/// `LOLWUT [VERSION n [args ...]]`.
fn lolwut(ctx: &mut Ctx<'_>, argv: &[Bytes]) {
    let mut version = None;
    let mut rest: &[Bytes] = &[];
    if argv.len() >= 3 && args::is(&argv[1], "version") {
        let Some(n) = args::int(ctx, &argv[2]) else {
            return;
        };
        // Redis prints the version as an unsigned 32-bit "%u.0.0" and matches "5." / "6.".
        version = Some(n as u32);
        rest = &argv[3..];
    }
    let text = match version {
        Some(5) => {
            let Some([cols, per_row, per_col]) =
                drawing_args(ctx, rest, [66, 8, 12], [(1, 1000), (1, 200), (1, 200)])
            else {
                return;
            };
            let canvas = schotter(cols, per_row, per_col, &mut c_rand);
            with_version(canvas.render(), SCHOTTER_TRAILER)
        }
        Some(6) => {
            let Some([cols, rows]) = drawing_args(ctx, rest, [80, 20], [(1, 1000), (1, 1000)])
            else {
                return;
            };
            with_version(
                Skyline::draw(cols, rows, &mut c_rand).render(),
                SKYLINE_TRAILER,
            )
        }
        _ => with_version(Vec::new(), "Redis ver. "),
    };
    ctx.out.verbatim(&text);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &[u8]) -> Vec<String> {
        String::from_utf8(text.to_vec())
            .unwrap()
            .split('\n')
            .map(str::to_string)
            .collect()
    }

    #[test]
    fn braille_dot_order_matches_unicode() {
        // Each single pixel of a 2x4 cell, and the character Unicode gives that dot.
        let expect = [
            ((0, 0), '⠁'),
            ((0, 1), '⠂'),
            ((0, 2), '⠄'),
            ((1, 0), '⠈'),
            ((1, 1), '⠐'),
            ((1, 2), '⠠'),
            ((0, 3), '⡀'),
            ((1, 3), '⢀'),
        ];
        for ((x, y), ch) in expect {
            let mut c = Braille::new(2, 4);
            c.set(x, y);
            assert!(c.get(x, y));
            assert_eq!(c.render(), format!("{ch}\n").into_bytes(), "pixel {x},{y}");
        }
        let mut full = Braille::new(2, 4);
        for y in 0..4 {
            for x in 0..2 {
                full.set(x, y);
            }
        }
        assert_eq!(full.render(), "⣿\n".as_bytes());
    }

    #[test]
    fn braille_bounds_and_line_breaks() {
        let mut c = Braille::new(3, 5);
        for (x, y) in [(-1, 0), (3, 0), (0, -1), (0, 5), (i64::MIN, i64::MAX)] {
            c.set(x, y);
            assert!(!c.get(x, y));
        }
        c.set(2, 4);
        // ceil(3/2) = 2 cells wide, ceil(5/4) = 2 lines; the last line starts at height - 1,
        // so, as in Redis, no newline follows it.
        assert_eq!(lines(&c.render()), ["⠀⠀", "⠀⠁"]);
        assert_eq!(Braille::new(4, 8).render(), "⠀⠀\n⠀⠀\n".as_bytes());
        assert!(Braille::new(2, 0).render().is_empty());
    }

    #[test]
    fn bresenham_lines() {
        let mut c = Braille::new(8, 4);
        c.line(0, 0, 7, 3);
        let on: Vec<(i64, i64)> = (0..4)
            .flat_map(|y| (0..8).map(move |x| (x, y)))
            .filter(|&(x, y)| c.get(x, y))
            .collect();
        assert_eq!(
            on,
            [
                (0, 0),
                (1, 0),
                (2, 1),
                (3, 1),
                (4, 2),
                (5, 2),
                (6, 3),
                (7, 3)
            ]
        );
        let mut d = Braille::new(4, 4);
        d.line(3, 3, 3, 3);
        assert!(d.get(3, 3));
    }

    #[test]
    fn schotter_shape() {
        let mut zero = || 0;
        // 66 columns, 8 x 12 squares: side 128/8 = 16, height 16 * 12 + 4 = 196 pixels.
        let c = schotter(66, 8, 12, &mut zero);
        let text = c.render();
        let ls = lines(&text);
        assert_eq!(ls.len(), 50); // 49 lines, each followed by a newline
        assert!(ls[..49].iter().all(|l| l.chars().count() == 66));
        assert_eq!(ls[49], "");
        // One column: width 2 has no padding.
        assert_eq!(schotter(1, 1, 1, &mut zero).render(), "⠋\n".as_bytes());
    }

    #[test]
    fn skyline_one_row_is_all_white() {
        let s = Skyline::draw(3, 1, &mut c_rand);
        assert_eq!(s.render(), "\x1b[0;97;107m \x1b[0m".repeat(3).into_bytes());
        let s = Skyline::draw(40, 10, &mut c_rand);
        let ls = lines(&s.render());
        assert_eq!(ls.len(), 10);
        for l in ls {
            let cells = l.split("\x1b[0m").filter(|c| !c.is_empty()).count();
            assert_eq!(cells, 40);
        }
    }
}
