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
//! Computed on the CPU from the clamped disparity, once per frame: O(pixels) but for the
//! searches along rows and columns, O(pixels log R).

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
    // Per pixel still to fill from the surroundings: the farthest disparity its background
    // may have (else -inf).
    let mut limits = vec![f32::NEG_INFINITY; pixels];
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
            match seen {
                Some(colour) => {
                    hidden.colour[p] = colour;
                    hidden.disparity[p] = b;
                }
                None => limits[p] = b + band,
            }
        }
    }
    let sums = surrounding(image, disparity, &limits, width, height, 2 * reach + 1);
    for (p, sum) in sums.iter().enumerate() {
        if sum[3] > 0.0 {
            let c = [0, 1, 2].map(|c| (sum[c] / sum[3]).round().clamp(0.0, 255.0) as u8);
            hidden.colour[p] = [c[0], c[1], c[2], 255];
            hidden.disparity[p] = behind[p];
        }
    }
    hidden
}

fn pixel(image: &[u8], p: usize) -> [u8; 4] {
    [image[p * 4], image[p * 4 + 1], image[p * 4 + 2], 255]
}

/// For each pixel with a finite `limits[p]`: the sum, weighted by `1 / distance`, of the
/// colour of the nearest pixel whose disparity is at most that limit in each direction
/// along its row and column within `span` pixels, and the sum of the weights (`[3]`).
fn surrounding(
    image: &[u8],
    disparity: &[f32],
    limits: &[f32],
    width: usize,
    height: usize,
    span: usize,
) -> Vec<[f32; 4]> {
    let mut sums = vec![[0.0f32; 4]; width * height];
    let mut search = Search {
        span,
        stack: Vec::with_capacity(width.max(height)),
    };
    let mut add = |p: usize, q: usize, distance: usize| {
        let w = 1.0 / distance as f32;
        let sum = &mut sums[p];
        for (s, c) in sum.iter_mut().zip(&image[q * 4..q * 4 + 3]) {
            *s += w * f32::from(*c);
        }
        sum[3] += w;
    };
    for y in 0..height {
        let row = y * width..(y + 1) * width;
        let (d, l) = (&disparity[row.clone()], &limits[row]);
        if l.iter().all(|&l| l == f32::NEG_INFINITY) {
            continue;
        }
        search.forward(d, l, |i, j| add(y * width + i, y * width + j, i - j));
        search.backward(d, l, |i, j| add(y * width + i, y * width + j, j - i));
    }
    // Columns, gathered into lines of their own.
    let (mut d, mut l) = (vec![0.0f32; height], vec![0.0f32; height]);
    for x in 0..width {
        for y in 0..height {
            (d[y], l[y]) = (disparity[y * width + x], limits[y * width + x]);
        }
        if l.iter().all(|&l| l == f32::NEG_INFINITY) {
            continue;
        }
        search.forward(&d, &l, |i, j| add(i * width + x, j * width + x, i - j));
        search.backward(&d, &l, |i, j| add(i * width + x, j * width + x, j - i));
    }
    sums
}

/// The nearest pixel along a line whose disparity is at most a pixel's limit. `stack` holds
/// the candidates met so far, disparities increasing (a pixel passed over by a later one
/// no farther is never the nearest again), so the nearest under a limit is the last
/// candidate within it: a binary search.
struct Search {
    span: usize,
    stack: Vec<(usize, f32)>,
}

impl Search {
    /// Calls `found(i, j)` for each `i` with a finite `limits[i]` and its nearest `j < i`
    /// within the span with `disparity[j] <= limits[i]`.
    fn forward(&mut self, disparity: &[f32], limits: &[f32], found: impl FnMut(usize, usize)) {
        self.scan(disparity.iter().zip(limits).enumerate(), found);
    }

    /// The same with `j > i`.
    fn backward(&mut self, disparity: &[f32], limits: &[f32], found: impl FnMut(usize, usize)) {
        self.scan(disparity.iter().zip(limits).enumerate().rev(), found);
    }

    fn scan<'a>(
        &mut self,
        line: impl Iterator<Item = (usize, (&'a f32, &'a f32))>,
        mut found: impl FnMut(usize, usize),
    ) {
        self.stack.clear();
        for (i, (&d, &limit)) in line {
            if limit > f32::NEG_INFINITY {
                let n = self.stack.partition_point(|&(_, dj)| dj <= limit);
                if let Some(&(j, _)) = self.stack[..n]
                    .last()
                    .filter(|(j, _)| i.abs_diff(*j) <= self.span)
                {
                    found(i, j);
                }
            }
            while self.stack.last().is_some_and(|&(_, dj)| dj >= d) {
                self.stack.pop();
            }
            self.stack.push((i, d));
        }
    }
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
    let mut scratch = Scratch::default();
    let mut rows = vec![0.0f32; width * height];
    for (line, out) in values.chunks_exact(width).zip(rows.chunks_exact_mut(width)) {
        running_min(line, reach, out, &mut scratch);
    }
    let mut column = vec![0.0f32; height];
    let mut column_min = vec![0.0f32; height];
    let mut result = vec![0.0f32; width * height];
    for x in 0..width {
        for (y, c) in column.iter_mut().enumerate() {
            *c = rows[y * width + x];
        }
        running_min(&column, reach, &mut column_min, &mut scratch);
        for (y, m) in column_min.iter().enumerate() {
            result[y * width + x] = *m;
        }
    }
    result
}

/// [`running_min`]'s buffers, reused from line to line.
#[derive(Default)]
struct Scratch {
    padded: Vec<f32>,
    prefix: Vec<f32>,
    suffix: Vec<f32>,
}

/// `out[i] = min(line[i - reach..=i + reach])` (clipped), van Herk's way: the line padded
/// with `reach` infinities a side is cut into blocks of the window's length `w`; within each,
/// minima from the block's start (`prefix`) and to its end (`suffix`); any window of `w`
/// spans at most two blocks, so its minimum is `min(suffix[a], prefix[a + w - 1])`.
fn running_min(line: &[f32], reach: usize, out: &mut [f32], scratch: &mut Scratch) {
    let w = 2 * reach + 1;
    let Scratch {
        padded,
        prefix,
        suffix,
    } = scratch;
    padded.clear();
    padded.resize(reach, f32::INFINITY);
    padded.extend_from_slice(line);
    padded.resize(line.len() + 2 * reach, f32::INFINITY);
    let n = padded.len();
    prefix.clear();
    prefix.extend_from_slice(padded);
    suffix.clear();
    suffix.extend_from_slice(padded);
    for start in (0..n).step_by(w) {
        let end = (start + w).min(n);
        for i in start + 1..end {
            prefix[i] = prefix[i].min(prefix[i - 1]);
        }
        for i in (start..end - 1).rev() {
            suffix[i] = suffix[i].min(suffix[i + 1]);
        }
    }
    for (a, out) in out.iter_mut().enumerate() {
        *out = suffix[a].min(prefix[a + w - 1]);
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
            running_min(&line, reach, &mut out, &mut Scratch::default());
            for (i, &o) in out.iter().enumerate() {
                let window = &line[i.saturating_sub(reach)..(i + reach + 1).min(line.len())];
                let expected = window.iter().copied().fold(f32::INFINITY, f32::min);
                assert_eq!(o, expected, "reach {reach} at {i}");
            }
        }
    }

    #[test]
    fn the_searches_find_what_a_brute_force_search_finds() {
        let (width, height, span) = (23, 17, 6);
        let mut seed = 0x9e37_79b9u32;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            seed
        };
        let image: Vec<u8> = (0..width * height * 4).map(|_| next() as u8).collect();
        let disparity: Vec<f32> = (0..width * height).map(|_| (next() % 40) as f32).collect();
        let limits: Vec<f32> = (0..width * height)
            .map(|_| match next() % 3 {
                0 => f32::NEG_INFINITY,
                _ => (next() % 20) as f32,
            })
            .collect();
        let sums = surrounding(&image, &disparity, &limits, width, height, span);
        for y in 0..height as i64 {
            for x in 0..width as i64 {
                let p = y as usize * width + x as usize;
                let mut expected = [0.0f32; 4];
                if limits[p] > f32::NEG_INFINITY {
                    for (dx, dy) in [(-1i64, 0i64), (1, 0), (0, -1), (0, 1)] {
                        let found = (1..=span as i64).find_map(|step| {
                            let (u, v) = (x + dx * step, y + dy * step);
                            let inside =
                                (0..width as i64).contains(&u) && (0..height as i64).contains(&v);
                            let q = (v * width as i64 + u) as usize;
                            (inside && disparity[q] <= limits[p]).then_some((step, q))
                        });
                        if let Some((step, q)) = found {
                            let w = 1.0 / step as f32;
                            for c in 0..3 {
                                expected[c] += w * f32::from(image[q * 4 + c]);
                            }
                            expected[3] += w;
                        }
                    }
                }
                for c in 0..4 {
                    assert!((sums[p][c] - expected[c]).abs() < 1e-3, "({x}, {y})");
                }
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
