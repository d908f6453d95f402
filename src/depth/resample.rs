//! Pre- and post-processing around the network, in plain Rust: packed 8-bit pixels to
//! planar float RGB, area downscaling to the working resolution, edge padding to the
//! network's stride, and bilinear upsampling of the disparity back to the input size.
//!
//! Resampling is separable and driven by precomputed tap tables (built once per frame size,
//! reused for every frame). Both filters use pixel centres at `i + 0.5`, as OpenCV's
//! `INTER_AREA` (downscale) and `INTER_LINEAR` (upscale) do.

/// Byte order of a 4-byte pixel. Only the colour bytes are read; alpha or padding is ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelOrder {
    /// Bytes R, G, B, A.
    Rgba,
    /// Bytes B, G, R, A.
    Bgra,
    /// Bytes R, G, B, x (padding).
    Rgbx,
    /// Bytes B, G, R, x (padding).
    Bgrx,
    /// Bytes A, R, G, B.
    Argb,
    /// Bytes A, B, G, R.
    Abgr,
    /// Bytes x, R, G, B.
    Xrgb,
    /// Bytes x, B, G, R.
    Xbgr,
}

impl ChannelOrder {
    /// Byte offsets of red, green and blue inside a pixel.
    pub fn rgb_offsets(self) -> [usize; 3] {
        match self {
            ChannelOrder::Rgba | ChannelOrder::Rgbx => [0, 1, 2],
            ChannelOrder::Bgra | ChannelOrder::Bgrx => [2, 1, 0],
            ChannelOrder::Argb | ChannelOrder::Xrgb => [1, 2, 3],
            ChannelOrder::Abgr | ChannelOrder::Xbgr => [3, 2, 1],
        }
    }
}

/// A 1-D resampling filter as a table of taps: output `i` is
/// `sum_k weights[k] * input[first[i] + k - offsets[i]]` for `k` in `offsets[i]..offsets[i + 1]`.
#[derive(Debug, Clone)]
pub struct Taps {
    first: Vec<usize>,
    offsets: Vec<usize>,
    weights: Vec<f32>,
}

impl Taps {
    /// Area averaging (box filter with fractional coverage) from `source` samples down to
    /// `target <= source` samples: each output is the mean of the input over its footprint.
    pub fn area(source: usize, target: usize) -> Taps {
        let ratio = source as f64 / target as f64;
        let mut taps = Taps::with_capacity(target, target * (ratio.ceil() as usize + 1));
        for i in 0..target {
            let start = i as f64 * ratio;
            let end = ((i + 1) as f64 * ratio).min(source as f64);
            let first = start.floor() as usize;
            let last = (end.ceil() as usize).min(source);
            taps.first.push(first);
            for j in first..last {
                let overlap = (end.min((j + 1) as f64) - start.max(j as f64)).max(0.0);
                taps.weights.push((overlap / (end - start)) as f32);
            }
            taps.offsets.push(taps.weights.len());
        }
        taps
    }

    /// Linear interpolation from `source` samples to `target` samples, pixel centres
    /// aligned (`x_source = (x + 0.5) * source / target - 0.5`, clamped at the borders).
    pub fn linear(source: usize, target: usize) -> Taps {
        let ratio = source as f64 / target as f64;
        let mut taps = Taps::with_capacity(target, 2 * target);
        let last = source.saturating_sub(1);
        for i in 0..target {
            let x = ((i as f64 + 0.5) * ratio - 0.5).clamp(0.0, last as f64);
            let left = (x.floor() as usize).min(last);
            let right = (left + 1).min(last);
            let t = (x - left as f64) as f32;
            taps.first.push(left);
            if right == left {
                taps.weights.push(1.0);
            } else {
                taps.weights.extend_from_slice(&[1.0 - t, t]);
            }
            taps.offsets.push(taps.weights.len());
        }
        taps
    }

    fn with_capacity(target: usize, weights: usize) -> Taps {
        let mut offsets = Vec::with_capacity(target + 1);
        offsets.push(0);
        Taps {
            first: Vec::with_capacity(target),
            offsets,
            weights: Vec::with_capacity(weights),
        }
    }

    /// Number of output samples.
    pub fn len(&self) -> usize {
        self.first.len()
    }

    /// Whether there are no output samples.
    pub fn is_empty(&self) -> bool {
        self.first.is_empty()
    }

    #[inline]
    fn taps(&self, i: usize) -> (usize, &[f32]) {
        (
            self.first[i],
            &self.weights[self.offsets[i]..self.offsets[i + 1]],
        )
    }
}

/// Resamples one plane with separable filters: `horizontal` maps the source width to the
/// target width, `vertical` the source height to the target height. The source has rows of
/// `source_stride` floats, the target rows of `target_stride`; `scratch` is reused.
#[allow(clippy::too_many_arguments)]
pub fn resample_plane(
    source: &[f32],
    source_stride: usize,
    source_height: usize,
    horizontal: &Taps,
    vertical: &Taps,
    target: &mut [f32],
    target_stride: usize,
    factor: f32,
    scratch: &mut Vec<f32>,
) {
    let target_width = horizontal.len();
    scratch.resize(source_height * target_width, 0.0);
    for y in 0..source_height {
        let row = &source[y * source_stride..];
        let out = &mut scratch[y * target_width..(y + 1) * target_width];
        for (x, value) in out.iter_mut().enumerate() {
            let (first, weights) = horizontal.taps(x);
            *value = weights
                .iter()
                .zip(&row[first..first + weights.len()])
                .map(|(w, v)| w * v)
                .sum();
        }
    }
    for y in 0..vertical.len() {
        let (first, weights) = vertical.taps(y);
        let out = &mut target[y * target_stride..y * target_stride + target_width];
        out.fill(0.0);
        for (k, &weight) in weights.iter().enumerate() {
            let row = &scratch[(first + k) * target_width..(first + k + 1) * target_width];
            for (o, v) in out.iter_mut().zip(row) {
                *o += weight * v;
            }
        }
        if factor != 1.0 {
            out.iter_mut().for_each(|o| *o *= factor);
        }
    }
}

/// A view of packed 4-byte pixels.
#[derive(Debug, Clone, Copy)]
pub struct PackedPixels<'a> {
    pub data: &'a [u8],
    pub width: usize,
    pub height: usize,
    /// Bytes from one row to the next (at least `4 * width`).
    pub stride: usize,
    pub order: ChannelOrder,
}

/// Writes the three colour planes of `pixels`, scaled to [0, 1], into `planes`
/// (3 planes of `plane_size` floats, rows of `row_stride` floats).
pub fn unpack_rgb(pixels: &PackedPixels, planes: &mut [f32], plane_size: usize, row_stride: usize) {
    let offsets = pixels.order.rgb_offsets();
    for (c, &offset) in offsets.iter().enumerate() {
        let plane = &mut planes[c * plane_size..(c + 1) * plane_size];
        for y in 0..pixels.height {
            let row = &pixels.data[y * pixels.stride..y * pixels.stride + 4 * pixels.width];
            let out = &mut plane[y * row_stride..y * row_stride + pixels.width];
            for (o, pixel) in out.iter_mut().zip(row.chunks_exact(4)) {
                // a division, not a multiplication by 1/255: exact for every byte value
                *o = f32::from(pixel[offset]) / 255.0;
            }
        }
    }
}

/// Fills a plane of `padded_width x padded_height` (row stride `padded_width`) whose top-left
/// `width x height` is set, by replicating the last column to the right and the last row down.
pub fn pad_replicate(
    plane: &mut [f32],
    width: usize,
    height: usize,
    padded_width: usize,
    padded_height: usize,
) {
    if width < padded_width {
        for y in 0..height {
            let row = &mut plane[y * padded_width..(y + 1) * padded_width];
            let edge = row[width - 1];
            row[width..].fill(edge);
        }
    }
    for y in height..padded_height {
        plane.copy_within(
            (height - 1) * padded_width..height * padded_width,
            y * padded_width,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Straightforward area average: integrate the piecewise-constant input over each
    /// output footprint with fine sub-sampling.
    fn area_reference(input: &[f32], target: usize) -> Vec<f32> {
        let n = input.len() as f64;
        let ratio = n / target as f64;
        (0..target)
            .map(|i| {
                let samples = 10_000;
                let sum: f64 = (0..samples)
                    .map(|s| {
                        let x = (i as f64 + (s as f64 + 0.5) / samples as f64) * ratio;
                        f64::from(input[(x as usize).min(input.len() - 1)])
                    })
                    .sum();
                (sum / samples as f64) as f32
            })
            .collect()
    }

    fn apply(taps: &Taps, input: &[f32]) -> Vec<f32> {
        (0..taps.len())
            .map(|i| {
                let (first, weights) = taps.taps(i);
                weights
                    .iter()
                    .enumerate()
                    .map(|(k, w)| w * input[first + k])
                    .sum()
            })
            .collect()
    }

    #[test]
    fn area_matches_integration_for_fractional_ratios() {
        let input: Vec<f32> = (0..37).map(|i| ((i * 7919) % 13) as f32).collect();
        for target in [1, 5, 12, 18, 36, 37] {
            let got = apply(&Taps::area(input.len(), target), &input);
            let want = area_reference(&input, target);
            for (g, w) in got.iter().zip(&want) {
                // the reference's sub-sampling is exact to about 1e-3 of a step
                assert!((g - w).abs() < 2e-2, "target {target}: {got:?} vs {want:?}");
            }
        }
    }

    #[test]
    fn area_halving_is_the_pair_mean_and_weights_sum_to_one() {
        let input = [1.0, 3.0, 5.0, 7.0];
        assert_eq!(apply(&Taps::area(4, 2), &input), vec![2.0, 6.0]);
        let taps = Taps::area(1242, 311);
        for i in 0..taps.len() {
            let sum: f32 = taps.taps(i).1.iter().sum();
            assert!((sum - 1.0).abs() < 1e-5);
        }
    }

    #[test]
    fn linear_upsampling_keeps_ramps_and_clamps_borders() {
        // a ramp sampled at pixel centres stays a ramp, except within half a source pixel
        // of the borders where the value is clamped
        let input: Vec<f32> = (0..8).map(|i| i as f32 + 0.5).collect();
        let out = apply(&Taps::linear(8, 32), &input);
        for (i, v) in out.iter().enumerate() {
            let want = ((i as f32 + 0.5) / 4.0).clamp(0.5, 7.5);
            assert!((v - want).abs() < 1e-5, "{i}: {v} vs {want}");
        }
        assert_eq!(
            apply(&Taps::linear(3, 3), &[4.0, 5.0, 6.0]),
            vec![4.0, 5.0, 6.0]
        );
    }

    #[test]
    fn padding_replicates_the_right_column_and_bottom_row() {
        let mut plane = vec![0.0; 4 * 3];
        plane[0] = 1.0;
        plane[1] = 2.0;
        plane[4] = 3.0;
        plane[5] = 4.0;
        pad_replicate(&mut plane, 2, 2, 4, 3);
        assert_eq!(
            plane,
            vec![1.0, 2.0, 2.0, 2.0, 3.0, 4.0, 4.0, 4.0, 3.0, 4.0, 4.0, 4.0]
        );
    }

    #[test]
    fn unpack_reads_each_channel_order() {
        let pixel = [10u8, 20, 30, 40];
        for (order, want) in [
            (ChannelOrder::Rgba, [10, 20, 30]),
            (ChannelOrder::Bgrx, [30, 20, 10]),
            (ChannelOrder::Argb, [20, 30, 40]),
            (ChannelOrder::Xbgr, [40, 30, 20]),
        ] {
            let pixels = PackedPixels {
                data: &pixel,
                width: 1,
                height: 1,
                stride: 4,
                order,
            };
            let mut planes = [0.0; 3];
            unpack_rgb(&pixels, &mut planes, 1, 1);
            let want = want.map(|v: u8| f32::from(v) / 255.0);
            assert_eq!(planes, want, "{order:?}");
        }
    }

    #[test]
    fn separable_resample_of_a_constant_is_constant_times_factor() {
        let source = vec![0.25; 10 * 7];
        let mut target = vec![0.0; 20 * 14];
        let mut scratch = Vec::new();
        resample_plane(
            &source,
            10,
            7,
            &Taps::linear(10, 20),
            &Taps::linear(7, 14),
            &mut target,
            20,
            2.0,
            &mut scratch,
        );
        assert!(target.iter().all(|v| (v - 0.5).abs() < 1e-6));
    }
}
