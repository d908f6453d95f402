//! Foreground defocus: what near objects hide, filled (beyond the paper; issue 15).
//!
//! Algorithm 1 composites each plane over the planes behind it, but a near object's pixels
//! are in no plane behind it: where the object is out of focus, its blurred edge lets the
//! accumulator show through, and behind the edge there is nothing (the object's own colour
//! after normalising, a halo inward). A lens shows the background there. The hidden layer is
//! that background: for each pixel `p` of visible disparity `D(p)`, a second colour and
//! disparity `B(p)` behind it, which the planes blur and composite like the visible layer
//! (mask `min(M(B), 1 - M(D))`, see [`super::reference`]).
//!
//! - `B(p)`: the farthest disparity within `R` pixels (a square window), `R` the largest
//!   blur radius of the sweep, `a max(|dmax - df|, |dmin - df|)`; `p` has a hidden layer
//!   only where `D(p) - B(p) >= 2/a`, so that the two layers are in no common plane of the
//!   hard mask.
//! - Its colour, first from the right view: the background at `B` shows at `x - B` in the
//!   right view unless something nearer than `B + 1/a` covers it there (the left view's
//!   pixels forward-warped into the right view say what does; the strip a near object hides
//!   on its right side is in full view of the right camera).
//! - Elsewhere (the object's left side, and everything without a right view, as in
//!   `refocus`), from the surrounding background: the nearest pixel no nearer than `B + 1/a`
//!   in each of the four directions along the row and column (within `2R + 1`), averaged with
//!   weights `1 / distance`. A pixel with none keeps no hidden layer.
//!
//! Computed on the CPU from the clamped disparity, once per frame, O(pixels x R) at worst.

use super::Params;

/// Hidden disparity of a pixel without a hidden layer: far outside every plane's band, so
/// that the hard and the smooth mask are both 0 there.
pub const NONE: f32 = 1.0e30;

/// The layer behind the visible one: colour (4 bytes per pixel like the image, byte 3 255)
/// and disparity ([`NONE`] where there is none), one per pixel.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Hidden {
    pub colour: Vec<[u8; 4]>,
    pub disparity: Vec<f32>,
}

impl Hidden {
    /// Pixels with a hidden layer.
    pub fn count(&self) -> usize {
        self.disparity.iter().filter(|&&d| d != NONE).count()
    }
}

/// The window half-size `R`: the largest blur radius of the sweep, at least 1.
pub fn reach(params: &Params) -> usize {
    let (df, a) = (params.focus_disparity, params.aperture);
    let radius = a
        * (params.max_disparity - df)
            .abs()
            .max((params.min_disparity - df).abs());
    (radius.ceil() as usize).clamp(1, 1 << 12)
}

/// The hidden layer of a frame: `image` (4 bytes per pixel, bytes 0..3 colour), its
/// `disparity` clamped into the sweep range, and the right view (same layout) if there is
/// one.
pub fn hidden_layer(
    image: &[u8],
    right: Option<&[u8]>,
    disparity: &[f32],
    width: usize,
    height: usize,
    params: &Params,
) -> Hidden {
    let pixels = width * height;
    assert_eq!(
        image.len(),
        pixels * 4,
        "image must be width * height * 4 bytes"
    );
    assert_eq!(disparity.len(), pixels, "one disparity per pixel");
    if let Some(right) = right {
        assert_eq!(
            right.len(),
            pixels * 4,
            "the right view must match the image"
        );
    }
    let reach = reach(params);
    let band = 1.0 / params.aperture;
    let behind = window_min(disparity, width, height, reach);
    let covered = right.map(|_| forward_warp(disparity, width, height));
    let mut hidden = Hidden {
        colour: vec![[0, 0, 0, 255]; pixels],
        disparity: vec![NONE; pixels],
    };
    for y in 0..height {
        for x in 0..width {
            let p = y * width + x;
            let b = behind[p];
            if disparity[p] - b < 2.0 * band {
                continue;
            }
            let seen = right.zip(covered.as_ref()).and_then(|(right, covered)| {
                let q = (x as f32 - b).round();
                let q = (q >= 0.0 && q < width as f32).then_some(y * width + q as usize)?;
                (covered[q] <= b + band).then(|| pixel(right, q))
            });
            let colour = seen.or_else(|| {
                surrounding(
                    image,
                    disparity,
                    width,
                    height,
                    (x, y),
                    b + band,
                    2 * reach + 1,
                )
            });
            if let Some(colour) = colour {
                hidden.colour[p] = colour;
                hidden.disparity[p] = b;
            }
        }
    }
    hidden
}

fn pixel(image: &[u8], p: usize) -> [u8; 4] {
    [image[p * 4], image[p * 4 + 1], image[p * 4 + 2], 255]
}

/// The mean, weighted by `1 / distance`, of the nearest pixel whose disparity is at most
/// `limit` in each direction from `(x, y)` along its row and column, within `span` pixels.
fn surrounding(
    image: &[u8],
    disparity: &[f32],
    width: usize,
    height: usize,
    (x, y): (usize, usize),
    limit: f32,
    span: usize,
) -> Option<[u8; 4]> {
    let (x, y) = (x as i64, y as i64);
    let mut sum = [0.0f32; 3];
    let mut weights = 0.0f32;
    for (dx, dy) in [(-1i64, 0i64), (1, 0), (0, -1), (0, 1)] {
        for step in 1..=span as i64 {
            let (u, v) = (x + dx * step, y + dy * step);
            if u < 0 || v < 0 || u >= width as i64 || v >= height as i64 {
                break;
            }
            let q = v as usize * width + u as usize;
            if disparity[q] <= limit {
                let w = 1.0 / step as f32;
                for (s, c) in sum.iter_mut().zip(&image[q * 4..q * 4 + 3]) {
                    *s += w * f32::from(*c);
                }
                weights += w;
                break;
            }
        }
    }
    (weights > 0.0).then(|| {
        let c = sum.map(|s| (s / weights).round().clamp(0.0, 255.0) as u8);
        [c[0], c[1], c[2], 255]
    })
}

/// Per pixel of the right view, the largest disparity of the left pixels that land on it
/// (each covers the two pixels around `x - D`), `-inf` where none does: what the right camera
/// sees there is nearer than that or, where none lands, seen by the right camera only.
fn forward_warp(disparity: &[f32], width: usize, height: usize) -> Vec<f32> {
    let mut covered = vec![f32::NEG_INFINITY; width * height];
    for y in 0..height {
        let row = &disparity[y * width..(y + 1) * width];
        let out = &mut covered[y * width..(y + 1) * width];
        for (x, &d) in row.iter().enumerate() {
            let q = (x as f32 - d).floor();
            for q in [q, q + 1.0] {
                if q >= 0.0 && q < width as f32 {
                    let cell = &mut out[q as usize];
                    *cell = cell.max(d);
                }
            }
        }
    }
    covered
}

/// The minimum of `values` over the square of half-size `reach` around each pixel (clipped
/// to the frame), by rows then columns, each a running minimum in O(1) per pixel.
fn window_min(values: &[f32], width: usize, height: usize, reach: usize) -> Vec<f32> {
    let mut rows = vec![0.0f32; width * height];
    for (line, out) in values.chunks_exact(width).zip(rows.chunks_exact_mut(width)) {
        running_min(line, reach, out);
    }
    let mut column = vec![0.0f32; height];
    let mut column_min = vec![0.0f32; height];
    let mut result = vec![0.0f32; width * height];
    for x in 0..width {
        for (y, c) in column.iter_mut().enumerate() {
            *c = rows[y * width + x];
        }
        running_min(&column, reach, &mut column_min);
        for (y, m) in column_min.iter().enumerate() {
            result[y * width + x] = *m;
        }
    }
    result
}

/// `out[i] = min(line[i - reach..=i + reach])` (clipped), with a queue of the indices whose
/// values increase.
fn running_min(line: &[f32], reach: usize, out: &mut [f32]) {
    let mut queue = std::collections::VecDeque::with_capacity(2 * reach + 2);
    let n = line.len();
    let mut next = 0;
    for (i, out) in out.iter_mut().enumerate() {
        while next < n && next <= i + reach {
            while queue.back().is_some_and(|&j: &usize| line[j] >= line[next]) {
                queue.pop_back();
            }
            queue.push_back(next);
            next += 1;
        }
        while queue.front().is_some_and(|&j| j + reach < i) {
            queue.pop_front();
        }
        *out = line[*queue.front().expect("the window holds index i")];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> Params {
        Params {
            aperture: 0.25,
            focus_disparity: 6.0,
            min_disparity: 0.0,
            max_disparity: 48.0,
            ..Params::default()
        }
    }

    /// A far layer (disparity 6) whose colour says where it is, `far(x) = [x, 100, 0]`, and a
    /// near square (disparity 40, grey 200) over columns 40..80 of rows 10..30; the right view
    /// is the same scene seen from the right camera.
    fn scene(width: usize, height: usize) -> (Vec<u8>, Vec<u8>, Vec<f32>) {
        let inside = |x: usize, y: usize| (40..80).contains(&x) && (10..30).contains(&y);
        let far = |x: i64| [x.clamp(0, 255) as u8, 100, 0, 255];
        let (mut left, mut right) = (Vec::new(), Vec::new());
        let mut disparity = Vec::new();
        for y in 0..height {
            for x in 0..width {
                let near = inside(x, y);
                left.extend(if near {
                    [200, 200, 200, 255]
                } else {
                    far(x as i64)
                });
                disparity.push(if near { 40.0 } else { 6.0 });
                // The right pixel x shows the near layer at left x + 40, else the far at x + 6.
                let near_right = inside(x + 40, y);
                right.extend(if near_right {
                    [200, 200, 200, 255]
                } else {
                    far(x as i64 + 6)
                });
            }
        }
        (left, right, disparity)
    }

    #[test]
    fn running_min_is_the_window_minimum() {
        let line: Vec<f32> = [5, 3, 8, 1, 9, 9, 2, 7, 7, 6].map(|v| v as f32).to_vec();
        for reach in 0..12 {
            let mut out = vec![0.0; line.len()];
            running_min(&line, reach, &mut out);
            for (i, &o) in out.iter().enumerate() {
                let window = &line[i.saturating_sub(reach)..(i + reach + 1).min(line.len())];
                let expected = window.iter().copied().fold(f32::INFINITY, f32::min);
                assert_eq!(o, expected, "reach {reach} at {i}");
            }
        }
    }

    #[test]
    fn the_right_view_gives_the_background_behind_the_objects_right_side() {
        let (width, height) = (128, 40);
        let (left, right, disparity) = scene(width, height);
        let params = params();
        let hidden = hidden_layer(&left, Some(&right), &disparity, width, height, &params);
        let reach = reach(&params) as i64;
        let mut near_edges = 0;
        for y in 10..30 {
            for x in 40..80usize {
                let p = y * width + x;
                let near_edge = (x as i64 - 40).min(79 - x as i64) < reach
                    || (y as i64 - 10).min(29 - y as i64) < reach;
                near_edges += usize::from(near_edge);
                assert_eq!(hidden.disparity[p] != NONE, near_edge, "({x}, {y})");
                // The right camera sees the far layer behind columns 47..80 (column 46's
                // is next to the object's edge, which each left pixel marks two pixels wide).
                if near_edge && x >= 47 {
                    assert_eq!(hidden.colour[p], [x as u8, 100, 0, 255], "({x}, {y})");
                }
                if near_edge {
                    assert_eq!(hidden.disparity[p], 6.0);
                    assert_eq!(
                        hidden.colour[p][1], 100,
                        "never the object's grey ({x}, {y})"
                    );
                }
            }
        }
        // The far layer has nothing behind it.
        assert_eq!(hidden.count(), near_edges);
    }

    #[test]
    fn without_a_right_view_the_surrounding_background_fills() {
        let (width, height) = (128, 40);
        let (left, _, disparity) = scene(width, height);
        let hidden = hidden_layer(&left, None, &disparity, width, height, &params());
        // Row 20, column 42: 3 px from the far layer on the left (colour 39), 38 on the right
        // (beyond 2R + 1 = 23), 11 above and 10 below (colour 42).
        let c = hidden.colour[20 * width + 42];
        assert_eq!(c[1], 100, "{c:?}");
        assert!((39..=42).contains(&c[0]), "{c:?}");
        assert_eq!(hidden.disparity[20 * width + 42], 6.0);
    }

    #[test]
    fn flat_scenes_and_tiny_frames_have_no_hidden_layer() {
        let params = params();
        let flat = hidden_layer(&[9; 64 * 4], None, &[20.0; 64], 8, 8, &params);
        assert_eq!(flat.count(), 0);
        let one = hidden_layer(&[9; 4], Some(&[7; 4]), &[48.0], 1, 1, &params);
        assert_eq!(one.count(), 0);
        // A step smaller than two bands (8 px at a = 0.25) is one layer.
        let mut disparity = vec![10.0; 64];
        disparity[27] = 17.0;
        assert_eq!(
            hidden_layer(&[9; 256], None, &disparity, 8, 8, &params).count(),
            0
        );
        disparity[27] = 18.0;
        assert_eq!(
            hidden_layer(&[9; 256], None, &disparity, 8, 8, &params).count(),
            1
        );
    }
}
