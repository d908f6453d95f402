//! The CPU oracle: Algorithm 1 written out plainly at full resolution, in f64, from the
//! formula in DESIGN.md alone.
//!
//! It shares no code with the renderer: not the plane schedule, the mask or the disc of
//! [`super::Params`] and [`super::Kernel`], so an error there shows up as a difference. Only
//! the documented conventions are the same: planes `d_k = dmin + k/a` while `d_k <= dmax`
//! (exact in real numbers, so a plane that rounding puts a hair above `dmax` counts), the
//! hard mask compared in f32 as the renderers compute it (so band edges agree), a disc of
//! the integer offsets with `x^2 + y^2 <= r^2` (or in the iris's regular polygon inscribed in
//! that circle, tested here from its vertices), `r < 0.5` the identity, zero padding, and in
//! linear light the standards' transfer functions ([`super::Transfer`]) and the highlight
//! boost of [`super::light`], written out here.
//!
//! It ignores `max_kernel` (it is always the exact mode) and is meant for tests, not for
//! speed; each disc row is summed from a row prefix sum, the same sum as the direct double
//! loop, in O(r) per pixel.

use super::light::LUMINANCE;
use super::{Light, Mask, Params, Shape};

/// Refocuses `image` (tightly packed, 4 bytes per pixel: bytes 0..3 colour, byte 3 passed
/// through) with `disparity` (pixels, one per pixel). Returns the refocused image, same layout.
pub fn refocus(
    image: &[u8],
    disparity: &[f32],
    width: usize,
    height: usize,
    params: &Params,
) -> Vec<u8> {
    refocus_views(image, None, disparity, width, height, params)
}

/// [`refocus`] with the right view, which the foreground fill (`params.fill_hidden`) takes
/// the hidden layer from where the right camera saw it. The hidden layer is
/// [`super::fill::hidden_layer`]'s (it has its own tests); how the planes blur it is written
/// out here: plane `k` blurs `M(D) I + min(M(B), 1 - M(D)) H` and `M(D) + min(M(B), 1 - M(D))`.
pub fn refocus_views(
    image: &[u8],
    right: Option<&[u8]>,
    disparity: &[f32],
    width: usize,
    height: usize,
    params: &Params,
) -> Vec<u8> {
    let values = refocus_values(image, right, disparity, width, height, params);
    let mut out = vec![0u8; values.len() / 3 * 4];
    for (o, (v, i)) in out
        .chunks_exact_mut(4)
        .zip(values.chunks_exact(3).zip(image.chunks_exact(4)))
    {
        for c in 0..3 {
            o[c] = to_byte(v[c]);
        }
        o[3] = i[3];
    }
    out
}

/// [`refocus_views`] before it rounds to bytes: the refocused colour of each pixel, three
/// values per pixel in [0, 1] for 8-bit input (`Is / Ms`, encoded as `params.light` says;
/// the pixel's own colour where `Ms` is 0). What `models/train/layered_dof.py`, the
/// differentiable version, is checked against.
pub fn refocus_values(
    image: &[u8],
    right: Option<&[u8]>,
    disparity: &[f32],
    width: usize,
    height: usize,
    params: &Params,
) -> Vec<f64> {
    let pixels = width * height;
    assert_eq!(
        image.len(),
        pixels * 4,
        "image must be width * height * 4 bytes"
    );
    assert_eq!(
        disparity.len(),
        pixels,
        "disparity must have width * height values"
    );
    let a = f64::from(params.aperture);
    let (dmin, dmax) = (
        f64::from(params.min_disparity),
        f64::from(params.max_disparity),
    );
    let df = f64::from(params.focus_disparity);
    // D clamped into [dmin, dmax].
    let d: Vec<f32> = disparity
        .iter()
        .map(|v| v.max(params.min_disparity).min(params.max_disparity))
        .collect();
    let hidden = params
        .fill_hidden
        .then(|| super::fill::hidden_layer(image, right, &d, width, height, params));

    // Accumulators Is (rgb) and Ms.
    let mut accum = vec![[0.0f64; 4]; pixels];
    let mut masked = vec![[0.0f64; 4]; pixels];
    let mut k = 0u32;
    loop {
        let plane = dmin + f64::from(k) / a;
        if plane > dmax * (1.0 + 1e-12) + 1e-12 {
            break;
        }
        k += 1;
        // r_k = a |d_k - df|, as the f32 the renderers blur with
        let radius = (a * (plane - df).abs()) as f32;
        let mut any = false;
        for (p, dp) in d.iter().enumerate() {
            let m = mask(params.mask, *dp, plane, a);
            let c = blurred_colour(&image[p * 4..p * 4 + 3], params.light, radius);
            masked[p] = [m * c[0], m * c[1], m * c[2], m];
            if let Some(hidden) = &hidden {
                let mh = mask(params.mask, hidden.disparity[p], plane, a).min(1.0 - m);
                let c = blurred_colour(&hidden.colour[p], params.light, radius);
                for (v, c) in masked[p].iter_mut().zip([c[0], c[1], c[2], 1.0]) {
                    *v += mh * c;
                }
            }
            any |= masked[p][3] != 0.0;
        }
        if !any {
            continue; // Mb = 0 everywhere: compositing is the identity.
        }
        let radius = f64::from(radius);
        let blurred = blur(&masked, width, height, radius, params.shape);
        for (acc, b) in accum.iter_mut().zip(&blurred) {
            let keep = 1.0 - b[3];
            for c in 0..4 {
                acc[c] = acc[c] * keep + b[c];
            }
        }
    }

    let mut out = Vec::with_capacity(pixels * 3);
    for p in 0..pixels {
        let acc = accum[p];
        for c in 0..3 {
            out.push(if acc[3] > 1e-6 {
                encoded(acc[c] / acc[3], params.light)
            } else {
                f64::from(image[p * 4 + c]) / 255.0
            });
        }
    }
    out
}

/// The value a plane of circle of confusion `radius` blurs for colour bytes `c`: `c / 255`,
/// or in linear light `T^-1(c / 255)` with its highlights boosted (see [`super::light`]).
fn blurred_colour(c: &[u8], light: Light, radius: f32) -> [f64; 3] {
    let v = [0, 1, 2].map(|i| f64::from(c[i]) / 255.0);
    let Light::Linear {
        transfer,
        highlights,
    } = light
    else {
        return v;
    };
    let l = v.map(|v| transfer.decode(v));
    let y: f64 = l.iter().zip(LUMINANCE).map(|(l, w)| l * w).sum();
    let threshold = f64::from(highlights.threshold);
    let boost = if highlights.gain > 0.0 {
        let w = (f64::from(radius) - 0.5).clamp(0.0, 1.0);
        1.0 + f64::from(highlights.gain) * w * (y - threshold).max(0.0) / (1.0 - threshold)
    } else {
        1.0
    };
    l.map(|l| l * boost)
}

/// Output value of the normalised `Is / Ms`: as is, or in linear light `T` of it clipped to
/// [0, 1].
fn encoded(value: f64, light: Light) -> f64 {
    match light {
        Light::Encoded => value,
        Light::Linear { transfer, .. } => transfer.encode(value.clamp(0.0, 1.0)),
    }
}

/// Plane membership of disparity `d` in the plane at `plane`: the hard mask
/// `|D - d_k| < 1/a` (in f32, as the renderers compare), or the smooth one of eq. 3.
fn mask(mask: Mask, d: f32, plane: f64, a: f64) -> f64 {
    match mask {
        Mask::Hard => {
            let half_band = (1.0 / a) as f32;
            if (d - plane as f32).abs() < half_band {
                1.0
            } else {
                0.0
            }
        }
        Mask::Smooth { alpha } => {
            let distance = (f64::from(d) - plane).abs();
            0.5 + 0.5 * (f64::from(alpha) * (1.0 / a - distance)).tanh()
        }
    }
}

/// The taps of `K(r)` as gathered, row by row: for each `dy` in `-reach..=reach`, the `dx`
/// whose point `(-dx, -dy)` lies in the aperture (a point spreads into the shape), found by
/// testing every point of the square; a single tap when r < 0.5.
fn kernel_rows(shape: Shape, radius: f64) -> Vec<Vec<i64>> {
    if radius.is_nan() || radius < 0.5 {
        return vec![vec![0]];
    }
    let reach = radius.ceil() as i64;
    (-reach..=reach)
        .map(|dy| {
            (-reach..=reach)
                .filter(|&dx| inside(shape, -dx as f64, -dy as f64, radius))
                .collect()
        })
        .collect()
}

/// Whether `(x, y)` (y down) is in the aperture of radius `r`: the disc `x^2 + y^2 <= r^2`,
/// or the regular polygon inscribed in that circle with a vertex at `rotation` degrees
/// clockwise from up, tested edge by edge: the point is on the centre's side of each edge's
/// line (or on it).
fn inside(shape: Shape, x: f64, y: f64, r: f64) -> bool {
    match shape {
        Shape::Disc => x * x + y * y <= r * r,
        Shape::Blades { blades, rotation } => {
            let vertex = |k: u32| {
                let angle = f64::from(rotation).to_radians()
                    + 2.0 * std::f64::consts::PI * f64::from(k) / f64::from(blades);
                (r * angle.sin(), -r * angle.cos())
            };
            (0..blades).all(|k| {
                let (a, b) = (vertex(k), vertex((k + 1) % blades));
                let side = |px: f64, py: f64| (b.0 - a.0) * (py - a.1) - (b.1 - a.1) * (px - a.0);
                let centre = side(0.0, 0.0);
                let point = side(x, y);
                point * centre.signum() >= -1e-7 * r
            })
        }
    }
}

/// `x * K(r)` with zero padding, normalised by the kernel's number of taps.
fn blur(
    input: &[[f64; 4]],
    width: usize,
    height: usize,
    radius: f64,
    shape: Shape,
) -> Vec<[f64; 4]> {
    let rows = kernel_rows(shape, radius);
    let taps: usize = rows.iter().map(Vec::len).sum();
    let norm = 1.0 / taps as f64;
    // prefix[y][x + 1] = sum of input[y][0..=x].
    let mut prefix = vec![[0.0f64; 4]; (width + 1) * height];
    for y in 0..height {
        for x in 0..width {
            let v = input[y * width + x];
            let before = prefix[y * (width + 1) + x];
            prefix[y * (width + 1) + x + 1] = [
                before[0] + v[0],
                before[1] + v[1],
                before[2] + v[2],
                before[3] + v[3],
            ];
        }
    }
    let reach = (rows.len() as i64 - 1) / 2;
    let mut out = vec![[0.0f64; 4]; width * height];
    for y in 0..height as i64 {
        for x in 0..width as i64 {
            let mut sum = [0.0f64; 4];
            for dy in -reach..=reach {
                let row = y + dy;
                let taps = &rows[(dy + reach) as usize];
                let (Some(first), Some(last)) = (taps.first(), taps.last()) else {
                    continue;
                };
                if row < 0 || row >= height as i64 {
                    continue;
                }
                // The shape is convex: a row's taps are one run.
                debug_assert_eq!(taps.len() as i64, last - first + 1);
                let left = (x + first).max(0) as usize;
                let right = (x + last).min(width as i64 - 1);
                if right < left as i64 {
                    continue;
                }
                let base = row as usize * (width + 1);
                let (hi, lo) = (prefix[base + right as usize + 1], prefix[base + left]);
                for c in 0..4 {
                    sum[c] += hi[c] - lo[c];
                }
            }
            out[y as usize * width + x as usize] = sum.map(|s| s * norm);
        }
    }
    out
}

fn to_byte(v: f64) -> u8 {
    (v.clamp(0.0, 1.0) * 255.0 + 0.5).floor() as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gray(width: usize, height: usize, f: impl Fn(usize, usize) -> u8) -> Vec<u8> {
        let mut image = Vec::with_capacity(width * height * 4);
        for y in 0..height {
            for x in 0..width {
                let v = f(x, y);
                image.extend_from_slice(&[v, v, v, 255]);
            }
        }
        image
    }

    #[test]
    fn in_focus_scene_is_unchanged() {
        let (w, h) = (9, 7);
        let image = gray(w, h, |x, y| (x * 20 + y * 3) as u8);
        let disparity = vec![10.0; w * h];
        let params = Params {
            focus_disparity: 10.0,
            ..Default::default()
        };
        assert_eq!(refocus(&image, &disparity, w, h, &params), image);
    }

    #[test]
    fn flat_defocused_plane_is_a_normalised_disc_blur() {
        // One plane 8 px from focus at a = 0.25: r = 2, a 13-tap disc. Zero padding plus
        // normalisation by Ms means a constant image stays constant, borders included.
        let (w, h) = (11, 8);
        let image = gray(w, h, |_, _| 200);
        let disparity = vec![8.0; w * h];
        let params = Params {
            focus_disparity: 0.0,
            max_disparity: 8.0,
            ..Default::default()
        };
        assert_eq!(refocus(&image, &disparity, w, h, &params), image);
        // An impulse spreads over the disc: 255 / 13 = 19.6.
        let image = gray(w, h, |x, y| if (x, y) == (5, 4) { 255 } else { 0 });
        let out = refocus(&image, &disparity, w, h, &params);
        let at = |x: usize, y: usize| out[(y * w + x) * 4];
        assert_eq!(at(5, 4), 20);
        assert_eq!(at(7, 4), 20);
        assert_eq!(at(6, 5), 20);
        assert_eq!(at(7, 5), 0);
    }

    #[test]
    fn near_blur_covers_the_far_plane_not_the_other_way() {
        // Left half far (d = 0, in focus), right half near (d = 16, r = 4): the near plane is
        // composited last, so its blur spreads over the sharp far pixels next to the edge.
        let (w, h) = (24, 4);
        let image = gray(w, h, |x, _| if x < 12 { 0 } else { 255 });
        let disparity: Vec<f32> = (0..w * h)
            .map(|p| if p % w < 12 { 0.0 } else { 16.0 })
            .collect();
        let params = Params {
            focus_disparity: 0.0,
            max_disparity: 16.0,
            ..Default::default()
        };
        let out = refocus(&image, &disparity, w, h, &params);
        assert!(out[(w + 10) * 4] > 0, "near blur must spill over the edge");
        assert_eq!(out[(w + 5) * 4], 0, "far pixels out of reach stay sharp");
    }

    #[test]
    fn smooth_mask_with_sharp_alpha_matches_hard_mask() {
        let (w, h) = (13, 9);
        let image = gray(w, h, |x, y| ((x * 37 + y * 11) % 256) as u8);
        // Half-integer disparities stay 0.5 px away from every band edge (multiples of 4).
        let disparity: Vec<f32> = (0..w * h).map(|p| (p % 17) as f32 + 0.5).collect();
        let hard = Params {
            focus_disparity: 5.0,
            max_disparity: 24.0,
            ..Default::default()
        };
        let smooth = Params {
            mask: Mask::Smooth { alpha: 1000.0 },
            ..hard
        };
        let a = refocus(&image, &disparity, w, h, &hard);
        let b = refocus(&image, &disparity, w, h, &smooth);
        let worst = a.iter().zip(&b).map(|(x, y)| x.abs_diff(*y)).max().unwrap();
        assert!(worst <= 1, "worst difference {worst}");
    }
}
