//! Layered depth of field: paper section 3.2, Algorithm 1.
//!
//! Notation follows the paper: `I` the all-in-focus image, `D` its disparity (pixels, larger
//! is nearer), `df` the focus disparity, `a` the aperture and `[dmin, dmax]` the sweep range.
//! The scene is cut into planes `d_k = dmin + k/a` (back to front); each plane's mask
//! `M = |D - d_k| < 1/a` and masked image `M o I` are blurred with a disc `K(r_k)` of radius
//! `r_k = a |d_k - df|`, then composited over the accumulators `Is`, `Ms`:
//!
//! ```text
//! Ms = Ms o (1 - Mb) + Mb,   Is = Is o (1 - Mb) + Ib,   output = Is / Ms
//! ```
//!
//! This module holds the GPU renderer's ([`gpu::Renderer`]) conventions: the plane
//! schedule, the disc kernel and the mask. The CPU oracle ([`reference::refocus`]) writes
//! the same formula out on its own, so an error here shows up against it. [`plan`] decides
//! which parts of the frame each plane can touch, so the GPU skips the rest.

pub mod fill;
pub mod gpu;
pub mod light;
pub mod plan;
pub mod reference;

use anyhow::{Result, ensure};

pub use self::light::{Highlights, Light, Transfer};

/// Default aperture `a` (blur radius in pixels per pixel of disparity away from focus).
pub const DEFAULT_APERTURE: f32 = 0.25;
/// Largest accepted aperture: beyond it every pixel of disparity spreads over 4+ pixels.
pub const MAX_APERTURE: f32 = 4.0;
/// Smallest accepted aperture.
pub const MIN_APERTURE: f32 = 0.01;
/// Default cap on the kernel size `kmax` of adaptive downsampling (paper 3.2); 0 = exact.
pub const DEFAULT_MAX_KERNEL: u32 = 11;
/// Default sharpness `alpha` of the smooth mask (paper eq. 3 uses 10^3).
pub const DEFAULT_SMOOTH_ALPHA: f32 = 1000.0;
/// Largest disparity representable in GRAY16_LE at 1/256 pixel steps.
pub const MAX_DISPARITY: f32 = 65535.0 / 256.0;
/// Coarsest pyramid level: `gamma = 2^14` is beyond any frame a GPU accepts.
pub const MAX_LEVEL: u32 = 14;

/// How a pixel's membership in a plane is computed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Mask {
    /// `M = |D - d| < 1/a` (Algorithm 1, line 4).
    Hard,
    /// `M = 1/2 + 1/2 tanh(alpha (1/a - |D - d|))` (paper eq. 3).
    Smooth { alpha: f32 },
}

/// Everything that decides a refocused frame, apart from the image and its disparity.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Params {
    /// Aperture `a`: blur radius in pixels per pixel of disparity away from the focus.
    pub aperture: f32,
    /// Focus disparity `df`, pixels.
    pub focus_disparity: f32,
    /// Sweep range start `dmin`, pixels; disparities below are clamped to it.
    pub min_disparity: f32,
    /// Sweep range end `dmax`, pixels; disparities above are clamped to it.
    pub max_disparity: f32,
    /// `kmax`: planes whose kernel `2r+1` exceeds it are blurred downsampled; 0 = exact.
    pub max_kernel: u32,
    /// Plane membership.
    pub mask: Mask,
    /// What the planes blur: encoded values (Algorithm 1) or linear light ([`light`]).
    pub light: Light,
    /// The aperture's shape: the disc (Algorithm 1) or an iris of blades.
    pub shape: Shape,
    /// Foreground defocus: planes also blur the layer near objects hide ([`fill`]), so an
    /// object out of focus spreads over the background behind it (off: Algorithm 1).
    pub fill_hidden: bool,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            aperture: DEFAULT_APERTURE,
            focus_disparity: 0.0,
            min_disparity: 0.0,
            max_disparity: 80.0,
            max_kernel: DEFAULT_MAX_KERNEL,
            mask: Mask::Hard,
            light: Light::Encoded,
            shape: Shape::Disc,
            fill_hidden: false,
        }
    }
}

impl Params {
    /// Checks the ranges; the message says which value is wrong and what is accepted.
    pub fn validate(&self) -> Result<()> {
        ensure!(
            (MIN_APERTURE..=MAX_APERTURE).contains(&self.aperture),
            "aperture {} is outside {MIN_APERTURE}..={MAX_APERTURE}",
            self.aperture
        );
        ensure!(
            self.min_disparity >= 0.0 && self.max_disparity <= MAX_DISPARITY,
            "disparity range [{}, {}] must lie within [0, {MAX_DISPARITY}] pixels",
            self.min_disparity,
            self.max_disparity
        );
        ensure!(
            self.min_disparity <= self.max_disparity,
            "min-disparity {} is above max-disparity {}; set min-disparity <= max-disparity",
            self.min_disparity,
            self.max_disparity
        );
        ensure!(
            self.focus_disparity.is_finite(),
            "focus disparity must be a finite number of pixels"
        );
        if let Mask::Smooth { alpha } = self.mask {
            ensure!(
                alpha.is_finite() && alpha > 0.0,
                "smooth-mask alpha {alpha} must be positive"
            );
        }
        if let Shape::Blades { blades, rotation } = self.shape {
            ensure!(
                (3..=MAX_BLADES).contains(&blades),
                "blades {blades} is neither 0 (a round aperture) nor within 3..={MAX_BLADES}"
            );
            ensure!(
                rotation.is_finite(),
                "blade-rotation must be a finite number of degrees"
            );
        }
        if let Light::Linear {
            transfer,
            highlights: Highlights { threshold, gain },
        } = self.light
        {
            ensure!(
                (0.0..=light::MAX_HIGHLIGHT_THRESHOLD).contains(&threshold),
                "highlight-threshold {threshold} is outside 0..={}",
                light::MAX_HIGHLIGHT_THRESHOLD
            );
            ensure!(
                (0.0..=light::MAX_HIGHLIGHT_GAIN).contains(&gain),
                "highlight-gain {gain} is outside 0..={}",
                light::MAX_HIGHLIGHT_GAIN
            );
            if let Transfer::Gamma(gamma) = transfer {
                ensure!(
                    gamma.is_finite() && gamma > 0.0,
                    "transfer gamma {gamma} must be positive"
                );
            }
        }
        Ok(())
    }

    /// Half width of a plane's band, `1/a`, as the f32 both renderers compare against.
    pub fn half_band(&self) -> f32 {
        (1.0 / f64::from(self.aperture)) as f32
    }

    /// Planes back to front: `d_k = dmin + k/a` for `k = 0, 1, ...` while `d_k <= dmax`.
    pub fn planes(&self) -> Vec<Plane> {
        let a = f64::from(self.aperture);
        let dmin = f64::from(self.min_disparity);
        let dmax = f64::from(self.max_disparity);
        // k/a is compared with a small slack so that dmax itself is a plane when
        // (dmax - dmin) * a is an integer that rounding pushed just below.
        let count = ((dmax - dmin) * a + 1e-9).floor() as usize + 1;
        (0..count)
            .map(|k| {
                let disparity = dmin + k as f64 / a;
                let radius = a * (disparity - f64::from(self.focus_disparity)).abs();
                let radius = radius as f32;
                let level = self.level(radius);
                let scale = (1u32 << level) as f32;
                Plane {
                    disparity: disparity as f32,
                    radius,
                    kernel: Kernel::new(radius / scale, self.shape),
                    level,
                }
            })
            .collect()
    }

    /// Pyramid level `L` of a plane of blur radius `r`: the smallest `L` whose downsampling
    /// `gamma = 2^L` brings the kernel within `kmax`, that is `2^L >= (2r + 1) / kmax`.
    ///
    /// The paper (3.2) downsamples by exactly `gamma = (2r + 1) / kmax`; rounding `gamma` up to
    /// a power of two puts all planes of a level on one grid, so they are composited there
    /// together and laid over the full-resolution result once (see [`gpu`]). The kernel on the
    /// level's grid, `r / 2^L`, stays within `kmax` (and at least half of it).
    fn level(&self, radius: f32) -> u32 {
        if self.max_kernel == 0 || radius < 0.5 {
            return 0;
        }
        let ratio = (2.0 * f64::from(radius) + 1.0) / f64::from(self.max_kernel);
        if ratio <= 1.0 {
            return 0;
        }
        (ratio.log2().ceil() as u32).min(MAX_LEVEL)
    }

    /// Plane membership `M` of a pixel of disparity `d` (already clamped) in plane `plane`.
    #[inline]
    pub fn membership(&self, d: f32, plane: f32, half_band: f32) -> f32 {
        let distance = (d - plane).abs();
        match self.mask {
            Mask::Hard => {
                if distance < half_band {
                    1.0
                } else {
                    0.0
                }
            }
            Mask::Smooth { alpha } => 0.5 + 0.5 * (alpha * (half_band - distance)).tanh(),
        }
    }

    /// Whether some disparity in `[lo, hi]` has a non-zero mask in the plane at `plane`
    /// (below 1e-7 counts as zero for the smooth mask). The distance is the f32 difference
    /// the renderers compute, so the hard-mask answer is exact, band edges included.
    pub fn band_meets(&self, lo: f32, hi: f32, plane: f32) -> bool {
        let distance = if plane < lo {
            lo - plane
        } else if plane > hi {
            plane - hi
        } else {
            0.0
        };
        match self.mask {
            Mask::Hard => distance < self.half_band(),
            Mask::Smooth { alpha } => distance < self.half_band() + 8.0 / alpha,
        }
    }
}

/// One depth plane of the sweep.
#[derive(Debug, Clone, PartialEq)]
pub struct Plane {
    /// `d_k`, pixels.
    pub disparity: f32,
    /// `r_k = a |d_k - df|`, full-resolution pixels.
    pub radius: f32,
    /// The blur kernel, on the plane's level grid.
    pub kernel: Kernel,
    /// Pyramid level `L`: the plane is blurred on a grid downsampled by `gamma = 2^L`.
    pub level: u32,
}

impl Plane {
    /// Downsampling factor `gamma = 2^L` (1 = full resolution).
    pub fn scale(&self) -> u32 {
        1 << self.level
    }

    /// The same plane on level `max` if its own is coarser (a frame too small for it).
    pub fn at_most(self, max: u32, shape: Shape) -> Plane {
        if self.level <= max {
            return self;
        }
        Plane {
            kernel: Kernel::new(self.radius / (1u32 << max) as f32, shape),
            level: max,
            ..self
        }
    }
}

/// The shape of the aperture (the iris): how an out-of-focus point of light spreads.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Shape {
    /// A round aperture: the disc `x^2 + y^2 <= r^2` (Algorithm 1).
    Disc,
    /// An iris of `blades` straight blades (3 or more): the regular polygon inscribed in the
    /// circle of radius `r`, one vertex at `rotation` degrees clockwise from straight up.
    Blades { blades: u32, rotation: f32 },
}

/// Most blades an iris may have (more is a disc to the pixel).
pub const MAX_BLADES: u32 = 16;

impl Shape {
    /// Whether the point `(x, y)` (image axes: y down) is inside the shape of radius `r`:
    /// for the polygon, on the inner side of every edge, `x sin b_k - y cos b_k <= r cos(pi/n)`
    /// with the edges' normals at `b_k = rotation + (2k + 1) pi / n` (a 1e-9 slack keeps
    /// points on an edge inside whatever the rounding).
    pub fn contains(&self, x: f64, y: f64, r: f64) -> bool {
        match *self {
            Shape::Disc => x * x + y * y <= r * r,
            Shape::Blades { blades, rotation } => {
                let n = f64::from(blades);
                let apothem = r * (std::f64::consts::PI / n).cos() + 1e-9;
                (0..blades).all(|k| {
                    let b = f64::from(rotation).to_radians()
                        + (2 * k + 1) as f64 * std::f64::consts::PI / n;
                    x * b.sin() - y * b.cos() <= apothem
                })
            }
        }
    }
}

/// The blur kernel `K(r)` of an aperture [`Shape`]: its taps on the integer grid, normalised
/// to sum 1. `r < 0.5` is the identity (one tap).
///
/// Stored row by row as gathered: output `(x, y)` sums the inputs `(x + dx, y + dy)` for
/// `dx` in `spans[dy + rows].0 ..= spans[dy + rows].1` (empty when the first is larger), the
/// shape turned by half a turn (a point spreads into the shape itself). Every tap is within
/// `rows = floor(r)` of the centre on both axes.
#[derive(Debug, Clone, PartialEq)]
pub struct Kernel {
    /// `r`, pixels of the grid it is applied on.
    pub radius: f32,
    /// First and last `dx` of each row `dy = -rows ..= rows`.
    pub spans: Vec<(i32, i32)>,
    /// Number of taps: the normalisation.
    pub area: u32,
}

impl Kernel {
    pub fn new(radius: f32, shape: Shape) -> Self {
        // NaN radii (never produced by `Params`) count as the identity too.
        if radius.is_nan() || radius < 0.5 {
            return Kernel {
                radius,
                spans: vec![(0, 0)],
                area: 1,
            };
        }
        let r = f64::from(radius);
        let rows = radius.floor() as i32;
        let spans: Vec<(i32, i32)> = (-rows..=rows)
            .map(|dy| {
                // The shape's row -dy, mirrored: the taps (dx, dy) with (-dx, -dy) inside.
                let (first, last) = shape_row(shape, -dy, r, rows);
                (-last, -first)
            })
            .collect();
        let area = spans
            .iter()
            .map(|&(first, last)| (last - first + 1).max(0) as u32)
            .sum();
        Kernel {
            radius,
            spans,
            area,
        }
    }

    /// Rows above (and below) the centre row.
    pub fn rows(&self) -> u32 {
        (self.spans.len() as u32 - 1) / 2
    }

    /// The spans of the rows `dy = -rows ..= rows`, each packed as `first + 32768` in the low
    /// 16 bits and `last + 32768` in the high ones (the shaders' `lists`).
    pub fn packed_spans(&self) -> impl Iterator<Item = u32> + '_ {
        self.spans
            .iter()
            .map(|&(first, last)| (first + 32768) as u32 | ((last + 32768) as u32) << 16)
    }
}

/// First and last `x` of row `y` inside `shape` of radius `r` (`(1, 0)` if none), with
/// `|x| <= reach`. The shape is convex, so its row is one run: the disc's from the circle,
/// the polygon's from the edges' half-planes, each end then checked point by point.
fn shape_row(shape: Shape, y: i32, r: f64, reach: i32) -> (i32, i32) {
    let yf = f64::from(y);
    let (mut lo, mut hi) = match shape {
        Shape::Disc => {
            let rest = r * r - yf * yf;
            if rest < 0.0 {
                return (1, 0);
            }
            let w = rest.sqrt().floor() as i32;
            (-w, w)
        }
        Shape::Blades { blades, rotation } => {
            let n = f64::from(blades);
            let apothem = r * (std::f64::consts::PI / n).cos();
            let (mut lo, mut hi) = (-f64::from(reach), f64::from(reach));
            for k in 0..blades {
                let b = f64::from(rotation).to_radians()
                    + (2 * k + 1) as f64 * std::f64::consts::PI / n;
                let (sin, cos) = b.sin_cos();
                // x sin <= apothem + y cos
                let bound = apothem + yf * cos;
                if sin > 1e-12 {
                    hi = hi.min(bound / sin);
                } else if sin < -1e-12 {
                    lo = lo.max(bound / sin);
                } else if bound < -1e-9 {
                    return (1, 0);
                }
            }
            if lo > hi + 1.0 {
                return (1, 0);
            }
            (lo.round() as i32, hi.round() as i32)
        }
    };
    lo = lo.clamp(-reach - 1, reach + 1);
    hi = hi.clamp(-reach - 1, reach + 1);
    // Integer fix-up: rounding must not add or drop a tap.
    let inside = |x: i32| x.abs() <= reach && shape.contains(f64::from(x), yf, r);
    while lo <= hi && !inside(lo) {
        lo += 1;
    }
    while inside(lo - 1) {
        lo -= 1;
    }
    while hi >= lo && !inside(hi) {
        hi -= 1;
    }
    while inside(hi + 1) {
        hi += 1;
    }
    if lo > hi { (1, 0) } else { (lo, hi) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn planes_step_by_inverse_aperture_and_include_max() {
        let params = Params {
            aperture: 0.25,
            min_disparity: 0.0,
            max_disparity: 80.0,
            ..Default::default()
        };
        let planes = params.planes();
        assert_eq!(planes.len(), 21);
        assert_eq!(planes[0].disparity, 0.0);
        assert_eq!(planes[20].disparity, 80.0);
        let params = Params {
            aperture: 0.3,
            min_disparity: 2.0,
            max_disparity: 12.0,
            ..Default::default()
        };
        let planes = params.planes();
        // d_k = 2 + k/0.3 <= 12 for k = 0..=3.
        assert_eq!(planes.len(), 4);
    }

    #[test]
    fn disc_counts_grid_points_inside_the_circle() {
        assert_eq!(Kernel::new(0.0, Shape::Disc).area, 1);
        assert_eq!(Kernel::new(0.49, Shape::Disc).area, 1);
        assert_eq!(Kernel::new(1.0, Shape::Disc).area, 5);
        assert_eq!(Kernel::new(1.5, Shape::Disc).area, 9);
        assert_eq!(Kernel::new(2.0, Shape::Disc).area, 13);
        for r in [3.0f32, 5.5, 7.25, 20.0] {
            let mut count = 0;
            let n = r.ceil() as i32;
            for y in -n..=n {
                for x in -n..=n {
                    if ((x * x + y * y) as f64) <= f64::from(r) * f64::from(r) {
                        count += 1;
                    }
                }
            }
            assert_eq!(Kernel::new(r, Shape::Disc).area, count, "r = {r}");
        }
    }

    #[test]
    fn polygon_kernels_are_the_shape_turned_half_a_turn() {
        for blades in [3u32, 5, 6, 8, 16] {
            for rotation in [0.0f32, 17.0, 45.0] {
                let shape = Shape::Blades { blades, rotation };
                for r in [0.7f32, 1.0, 2.5, 6.0, 13.3, 40.0] {
                    let kernel = Kernel::new(r, shape);
                    let rows = kernel.rows() as i32;
                    assert_eq!(rows, r.floor() as i32);
                    let mut count = 0;
                    for dy in -rows..=rows {
                        let (first, last) = kernel.spans[(dy + rows) as usize];
                        for dx in -rows - 1..=rows + 1 {
                            // Gathering (dx, dy) is scattering the point at (-dx, -dy).
                            let inside =
                                shape.contains(-f64::from(dx), -f64::from(dy), f64::from(r));
                            assert_eq!(
                                (first..=last).contains(&dx),
                                inside,
                                "{shape:?} r={r} ({dx}, {dy}): row {first}..={last}"
                            );
                            count += u32::from(inside);
                        }
                    }
                    assert_eq!(kernel.area, count, "{shape:?} r={r}");
                }
            }
        }
        // A triangle with a vertex up spreads a point up; its kernel gathers from below.
        let triangle = Kernel::new(
            10.0,
            Shape::Blades {
                blades: 3,
                rotation: 0.0,
            },
        );
        let width = |dy: i32| {
            let (first, last) = triangle.spans[(dy + 10) as usize];
            (last - first + 1).max(0)
        };
        assert!(width(9) <= 1 && width(-5) > 10, "{:?}", triangle.spans);
        // Its area is the triangle's, 3 sqrt(3)/4 r^2 = 130 at r = 10, within a row's taps.
        assert!(
            (triangle.area as f64 - 129.9).abs() < 12.0,
            "{}",
            triangle.area
        );
    }

    #[test]
    fn large_blur_is_downsampled_to_the_kernel_cap() {
        let params = Params {
            aperture: 0.5,
            focus_disparity: 0.0,
            max_disparity: 40.0,
            max_kernel: 11,
            ..Default::default()
        };
        let planes = params.planes();
        let last = planes.last().unwrap();
        // r = 20: (2r + 1) / kmax = 41 / 11 = 3.7, so gamma = 4 and the kernel radius is 5.
        assert_eq!(last.scale(), 4);
        assert_eq!(last.kernel.radius, 5.0);
        for plane in &planes {
            let size = 2 * plane.kernel.rows() + 1;
            assert!(size <= 11, "{plane:?}");
            // Never coarser than needed: one level finer would exceed kmax.
            if plane.level > 0 {
                assert!(
                    2.0 * plane.radius / (plane.scale() / 2) as f32 + 1.0 > 11.0,
                    "{plane:?}"
                );
            }
        }
        let exact = Params {
            max_kernel: 0,
            ..params
        }
        .planes();
        assert!(exact.iter().all(|p| p.level == 0));
    }

    #[test]
    fn validation_names_the_bad_value() {
        let bad = Params {
            min_disparity: 50.0,
            max_disparity: 10.0,
            ..Default::default()
        };
        let message = bad.validate().unwrap_err().to_string();
        assert!(message.contains("min-disparity"), "{message}");
        assert!(
            Params {
                aperture: 0.0,
                ..Default::default()
            }
            .validate()
            .is_err()
        );
        assert!(Params::default().validate().is_ok());
    }
}
