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
                    kernel: Disc::new(radius / scale),
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
    pub kernel: Disc,
    /// Pyramid level `L`: the plane is blurred on a grid downsampled by `gamma = 2^L`.
    pub level: u32,
}

impl Plane {
    /// Downsampling factor `gamma = 2^L` (1 = full resolution).
    pub fn scale(&self) -> u32 {
        1 << self.level
    }

    /// The same plane on level `max` if its own is coarser (a frame too small for it).
    pub fn at_most(self, max: u32) -> Plane {
        if self.level <= max {
            return self;
        }
        Plane {
            kernel: Disc::new(self.radius / (1u32 << max) as f32),
            level: max,
            ..self
        }
    }
}

/// The disc kernel `K(r)`: `{x^2 + y^2 <= r^2}` on the integer grid, normalised to sum 1.
///
/// Stored as row half-widths: row `dy` (for `|dy| <= rows`) covers `dx` in
/// `-spans[|dy|] ..= spans[|dy|]`. `r < 0.5` is the identity (one tap).
#[derive(Debug, Clone, PartialEq)]
pub struct Disc {
    /// `r`, pixels of the grid it is applied on.
    pub radius: f32,
    /// Half-width of each row, index `|dy|`.
    pub spans: Vec<u32>,
    /// Number of taps: the normalisation.
    pub area: u32,
}

impl Disc {
    pub fn new(radius: f32) -> Self {
        // NaN radii (never produced by `Params`) count as the identity too.
        if radius.is_nan() || radius < 0.5 {
            return Disc {
                radius,
                spans: vec![0],
                area: 1,
            };
        }
        let r2 = f64::from(radius) * f64::from(radius);
        let rows = radius.floor() as i64;
        let spans: Vec<u32> = (0..=rows)
            .map(|dy| {
                let rest = r2 - (dy * dy) as f64;
                let mut w = rest.sqrt().floor() as i64;
                // Integer fix-up: sqrt rounding must not add or drop a tap.
                while ((w + 1) * (w + 1)) as f64 <= rest {
                    w += 1;
                }
                while w > 0 && (w * w) as f64 > rest {
                    w -= 1;
                }
                w as u32
            })
            .collect();
        let area = spans[0] * 2 + 1 + spans[1..].iter().map(|w| 2 * (2 * w + 1)).sum::<u32>();
        Disc {
            radius,
            spans,
            area,
        }
    }

    /// Rows above (and below) the centre row.
    pub fn rows(&self) -> u32 {
        self.spans.len() as u32 - 1
    }
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
        assert_eq!(Disc::new(0.0).area, 1);
        assert_eq!(Disc::new(0.49).area, 1);
        assert_eq!(Disc::new(1.0).area, 5);
        assert_eq!(Disc::new(1.5).area, 9);
        assert_eq!(Disc::new(2.0).area, 13);
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
            assert_eq!(Disc::new(r).area, count, "r = {r}");
        }
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
