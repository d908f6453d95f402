//! The GPU renderer against the CPU oracle (`dof::reference`).
//!
//! Exact mode (`max_kernel = 0`) must agree within 1/255 per channel: both evaluate the same
//! formula, the GPU in f32 with prefix sums, the oracle in f64, so only the final rounding
//! of a value that lands next to a .5 boundary can differ. The downsampled mode is an
//! approximation (paper 3.2); its bound is stated below with the measurement behind it.

use std::sync::Arc;

use gststerefo::dof::gpu::Renderer;
use gststerefo::dof::{Highlights, Light, Mask, Params, Shape, Transfer, reference};
use gststerefo::gpu::GpuContext;

/// Small deterministic generator (xorshift), so failures reproduce.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn unit(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 24) as f32
    }
}

fn renderer() -> Renderer {
    Renderer::new(GpuContext::shared().expect("a wgpu adapter (lavapipe in CI)")).expect("renderer")
}

/// A scene of random rectangles at random depths over a slanted background, with a noisy
/// texture: depth edges, slants and flat areas all present.
fn scene(rng: &mut Rng, width: usize, height: usize, max_disparity: f32) -> (Vec<u8>, Vec<f32>) {
    let mut disparity: Vec<f32> = (0..width * height)
        .map(|p| max_disparity * 0.3 * (p / width) as f32 / height.max(1) as f32)
        .collect();
    for _ in 0..6 {
        let (x0, y0) = (
            (rng.unit() * width as f32) as usize,
            (rng.unit() * height as f32) as usize,
        );
        let (w, h) = (
            1 + (rng.unit() * width as f32 * 0.5) as usize,
            1 + (rng.unit() * height as f32 * 0.5) as usize,
        );
        let d = rng.unit() * max_disparity * 1.1; // some beyond the range, to test clamping
        for y in y0..(y0 + h).min(height) {
            for x in x0..(x0 + w).min(width) {
                disparity[y * width + x] = d;
            }
        }
    }
    let image = (0..width * height * 4)
        .map(|_| (rng.next() >> 56) as u8)
        .collect();
    (image, disparity)
}

fn compare(
    renderer: &mut Renderer,
    image: &[u8],
    disparity: &[f32],
    width: usize,
    height: usize,
    params: &Params,
) -> (u8, f64, f64) {
    compare_views(renderer, image, None, disparity, width, height, params)
}

/// [`compare`] with a right view (the foreground fill's).
fn compare_views(
    renderer: &mut Renderer,
    image: &[u8],
    right: Option<&[u8]>,
    disparity: &[f32],
    width: usize,
    height: usize,
    params: &Params,
) -> (u8, f64, f64) {
    let expected = reference::refocus_views(image, right, disparity, width, height, params);
    let mut actual = vec![0u8; width * height * 4];
    renderer
        .render_views(
            image,
            right,
            disparity,
            width as u32,
            height as u32,
            params,
            &mut actual,
        )
        .expect("render");
    if std::env::var("DEBUG_DIFF").is_ok() {
        for (i, (a, b)) in expected.iter().zip(&actual).enumerate() {
            if a.abs_diff(*b) > 1 {
                let p = i / 4;
                eprintln!(
                    "x={} y={} c={} oracle={a} gpu={b} d={}",
                    p % width,
                    p / width,
                    i % 4,
                    disparity[p]
                );
            }
        }
    }
    let worst = expected
        .iter()
        .zip(&actual)
        .map(|(a, b)| a.abs_diff(*b))
        .max()
        .unwrap_or(0);
    let mean = expected
        .iter()
        .zip(&actual)
        .map(|(a, b)| f64::from(a.abs_diff(*b)))
        .sum::<f64>()
        / expected.len() as f64;
    (
        worst,
        mean,
        worst_block_mean(&expected, &actual, width, height),
    )
}

/// The largest mean absolute difference (levels of 255) over the 8x8 blocks of the frame:
/// a region where the renderer goes wrong shows here even when the frame's mean is small.
fn worst_block_mean(expected: &[u8], actual: &[u8], width: usize, height: usize) -> f64 {
    let mut worst = 0.0f64;
    for by in (0..height).step_by(8) {
        for bx in (0..width).step_by(8) {
            let (mut sum, mut n) = (0u64, 0u64);
            for y in by..(by + 8).min(height) {
                for x in bx..(bx + 8).min(width) {
                    for c in 0..3 {
                        let i = 4 * (y * width + x) + c;
                        sum += u64::from(expected[i].abs_diff(actual[i]));
                        n += 1;
                    }
                }
            }
            worst = worst.max(sum as f64 / n as f64);
        }
    }
    worst
}

#[test]
fn exact_mode_matches_the_oracle_on_random_scenes() {
    let mut renderer = renderer();
    let mut rng = Rng(0x5eed);
    for &(width, height) in &[(1, 1), (7, 5), (33, 17), (64, 48), (101, 67), (257, 31)] {
        for &aperture in &[0.1f32, 0.25, 0.8] {
            let (image, disparity) = scene(&mut rng, width, height, 40.0);
            let params = Params {
                aperture,
                focus_disparity: rng.unit() * 40.0,
                min_disparity: 0.0,
                max_disparity: 40.0,
                max_kernel: 0,
                mask: Mask::Hard,
                light: Light::Encoded,
                shape: Shape::Disc,
                fill_hidden: false,
            };
            let (worst, mean, _) =
                compare(&mut renderer, &image, &disparity, width, height, &params);
            assert!(
                worst <= 1,
                "{width}x{height} a={aperture}: worst {worst}, mean {mean}"
            );
        }
    }
}

/// The fast path at full resolution (every kernel within kmax): hard masks make a plane's
/// taps the exact input bytes, so only the accumulator's 16-bit fixed point (two pixels per
/// element, which odd widths split at the row's end) separates it from the oracle.
#[test]
fn fast_mode_at_full_resolution_matches_the_oracle_on_odd_sizes() {
    let mut renderer = renderer();
    let mut rng = Rng(0xfa57);
    for &(width, height) in &[(1, 1), (7, 5), (33, 17), (101, 67), (257, 31)] {
        for &aperture in &[0.1f32, 0.25] {
            let (image, disparity) = scene(&mut rng, width, height, 40.0);
            let params = Params {
                aperture,
                focus_disparity: 20.0,
                min_disparity: 0.0,
                max_disparity: 40.0,
                max_kernel: 15,
                mask: Mask::Hard,
                light: Light::Encoded,
                shape: Shape::Disc,
                fill_hidden: false,
            };
            let (worst, mean, _) =
                compare(&mut renderer, &image, &disparity, width, height, &params);
            assert!(
                worst <= 1,
                "{width}x{height} a={aperture}: worst {worst}, mean {mean}"
            );
        }
    }
}

#[test]
fn exact_mode_matches_the_oracle_with_the_smooth_mask() {
    let mut renderer = renderer();
    let mut rng = Rng(77);
    let (width, height) = (45, 38);
    for alpha in [1000.0f32, 100.0, 10.0, 4.0, 2.0] {
        let (image, disparity) = scene(&mut rng, width, height, 30.0);
        let params = Params {
            aperture: 0.3,
            focus_disparity: 12.0,
            min_disparity: 2.0,
            max_disparity: 30.0,
            max_kernel: 0,
            mask: Mask::Smooth { alpha },
            light: Light::Encoded,
            shape: Shape::Disc,
            fill_hidden: false,
        };
        let (worst, mean, _) = compare(&mut renderer, &image, &disparity, width, height, &params);
        assert!(worst <= 1, "alpha {alpha}: worst {worst}, mean {mean}");
    }
}

#[test]
fn downsampled_mode_stays_close_to_exact() {
    let mut renderer = renderer();
    let mut rng = Rng(99);
    let (width, height) = (160, 96);
    for &aperture in &[0.25f32, 0.8] {
        let (image, disparity) = scene(&mut rng, width, height, 60.0);
        let params = Params {
            aperture,
            focus_disparity: 10.0,
            max_disparity: 60.0,
            max_kernel: 11,
            ..Default::default()
        };
        let (worst, mean, block) =
            compare(&mut renderer, &image, &disparity, width, height, &params);
        eprintln!("a={aperture}: worst {worst}, mean {mean:.3}, worst 8x8 block mean {block:.3}");
        // Measured: mean 0.96 (a=0.25) and 1.34 (a=0.8) levels of 255, worst 30 and 27 on
        // pixel noise, the hardest texture for a downsampled blur (cells of level 2 and up
        // sample their footprint 2 x 2). The bound leaves about 2x room.
        assert!(mean < 2.5, "a={aperture}: mean abs error {mean:.3} levels");
        // No region far off either: the worst 8x8 block measured 14.4 (a=0.25) and 8.2
        // (a=0.8) levels on this noise; a tile left out or blurred with the wrong disc is
        // tens of levels off over the whole block.
        assert!(
            block < 25.0,
            "a={aperture}: worst 8x8 block mean error {block:.3} levels"
        );
    }
}

#[test]
fn renderer_is_reusable_across_sizes() {
    let context = GpuContext::shared().expect("adapter");
    let mut renderer = Renderer::new(Arc::clone(&context)).expect("renderer");
    let mut rng = Rng(3);
    for &(w, h) in &[(20, 10), (9, 31), (20, 10)] {
        let (image, disparity) = scene(&mut rng, w, h, 20.0);
        let params = Params {
            max_disparity: 20.0,
            focus_disparity: 5.0,
            max_kernel: 0,
            ..Default::default()
        };
        let (worst, _, _) = compare(&mut renderer, &image, &disparity, w, h, &params);
        assert!(worst <= 1);
    }
}

/// Linear light (`dof::light`) on the exact path, every transfer, with and without the
/// highlights boost: the same formula as the oracle's, the GPU decoding by table and encoding
/// in f32.
#[test]
fn linear_light_matches_the_oracle() {
    let mut renderer = renderer();
    let mut rng = Rng(0x119e);
    let boosted = Highlights {
        threshold: 0.6,
        gain: 16.0,
    };
    for transfer in [Transfer::Srgb, Transfer::Bt709, Transfer::Gamma(2.2)] {
        for highlights in [Highlights::NONE, boosted] {
            for (mask, (width, height)) in [
                (Mask::Hard, (61, 37)),
                (Mask::Smooth { alpha: 4.0 }, (61, 37)),
                (Mask::Hard, (1, 1)),
            ] {
                let (image, disparity) = scene(&mut rng, width, height, 30.0);
                let params = Params {
                    aperture: 0.4,
                    focus_disparity: 9.0,
                    max_disparity: 30.0,
                    max_kernel: 0,
                    mask,
                    light: Light::Linear {
                        transfer,
                        highlights,
                    },
                    ..Default::default()
                };
                let (worst, mean, _) =
                    compare(&mut renderer, &image, &disparity, width, height, &params);
                assert!(
                    worst <= 1,
                    "{width}x{height} {transfer:?} {highlights:?} {mask:?}: worst {worst}, mean {mean}"
                );
            }
        }
    }
}

/// Linear light with `max-kernel` on: it leaves the byte-cell fast path for the exact one's
/// fixed point (downsampled where kernels are wide), as close to the oracle as the
/// downsampled mode is in encoded values.
#[test]
fn linear_light_downsampled_stays_close_to_exact() {
    let mut renderer = renderer();
    let mut rng = Rng(0x11e);
    let (width, height) = (160, 96);
    let (image, disparity) = scene(&mut rng, width, height, 60.0);
    for max_kernel in [11, 15] {
        let params = Params {
            aperture: 0.5,
            focus_disparity: 10.0,
            max_disparity: 60.0,
            max_kernel,
            light: Light::Linear {
                transfer: Transfer::Srgb,
                highlights: Highlights::NONE,
            },
            ..Default::default()
        };
        let (worst, mean, block) =
            compare(&mut renderer, &image, &disparity, width, height, &params);
        eprintln!("kmax {max_kernel}: worst {worst}, mean {mean:.3}, block {block:.3}");
        // Measured: mean 1.07 (kmax 11) and 0.52 (kmax 15) levels, worst 8x8 block 12.3 and
        // 4.3, against 0.96 and 14.4 for encoded values at kmax 11 (the test above).
        assert!(
            mean < 2.5,
            "kmax {max_kernel}: mean abs error {mean:.3} levels"
        );
        assert!(
            block < 25.0,
            "kmax {max_kernel}: worst block {block:.3} levels"
        );
    }
}

/// Irises of blades: every polygon (odd ones are not symmetric, so a kernel applied the wrong
/// way round shows), rotated, on the exact path, the fast path at full resolution (hard masks:
/// exact bytes) and, downsampled, as close as the disc is.
#[test]
fn blades_match_the_oracle() {
    let mut renderer = renderer();
    let mut rng = Rng(0xb1ade);
    let (width, height) = (57, 41);
    for (blades, rotation) in [
        (3u32, 0.0f32),
        (5, 0.0),
        (5, 36.0),
        (6, 10.0),
        (8, 22.5),
        (16, 0.0),
    ] {
        let shape = Shape::Blades { blades, rotation };
        for max_kernel in [0u32, 15] {
            let (image, disparity) = scene(&mut rng, width, height, 30.0);
            let params = Params {
                aperture: 0.45,
                focus_disparity: 14.0,
                max_disparity: 30.0,
                max_kernel,
                shape,
                ..Default::default()
            };
            let (worst, mean, _) =
                compare(&mut renderer, &image, &disparity, width, height, &params);
            assert!(
                worst <= 1,
                "{blades} blades at {rotation} deg, kmax {max_kernel}: worst {worst}, mean {mean}"
            );
        }
    }
    let (width, height) = (160, 96);
    let (image, disparity) = scene(&mut rng, width, height, 60.0);
    for shape in [
        Shape::Disc,
        Shape::Blades {
            blades: 5,
            rotation: 0.0,
        },
        Shape::Blades {
            blades: 6,
            rotation: 30.0,
        },
    ] {
        let params = Params {
            aperture: 0.5,
            focus_disparity: 10.0,
            max_disparity: 60.0,
            max_kernel: 11,
            shape,
            ..Default::default()
        };
        let (worst, mean, block) =
            compare(&mut renderer, &image, &disparity, width, height, &params);
        eprintln!("{shape:?} kmax 11: worst {worst}, mean {mean:.3}, block {block:.3}");
        assert!(mean < 2.5, "{shape:?}: mean abs error {mean:.3} levels");
        assert!(block < 25.0, "{shape:?}: worst block {block:.3} levels");
    }
}

/// The foreground fill: the planes blur the hidden layer as the oracle does, with and
/// without a right view, both masks, in linear light, exact and downsampled; and it changes
/// the frame (a renderer that ignored the hidden layer fails here).
#[test]
fn foreground_fill_matches_the_oracle() {
    let mut renderer = renderer();
    let mut rng = Rng(0xf111);
    let (width, height) = (96, 64);
    let linear = Light::Linear {
        transfer: Transfer::Srgb,
        highlights: Highlights {
            threshold: 0.8,
            gain: 4.0,
        },
    };
    for (max_kernel, mask, light, with_right) in [
        (0u32, Mask::Hard, Light::Encoded, true),
        (0, Mask::Hard, Light::Encoded, false),
        (255, Mask::Smooth { alpha: 2.0 }, Light::Encoded, true),
        (0, Mask::Hard, linear, true),
        (0, Mask::Smooth { alpha: 1000.0 }, linear, false),
    ] {
        let (image, disparity) = scene(&mut rng, width, height, 40.0);
        let (right, _) = scene(&mut rng, width, height, 40.0);
        let right = with_right.then_some(right.as_slice());
        let params = Params {
            aperture: 0.5,
            focus_disparity: 4.0,
            max_disparity: 40.0,
            max_kernel,
            mask,
            light,
            fill_hidden: true,
            ..Default::default()
        };
        let (worst, mean, _) = compare_views(
            &mut renderer,
            &image,
            right,
            &disparity,
            width,
            height,
            &params,
        );
        let what = format!("kmax {max_kernel} {mask:?} {light:?} right {with_right}");
        assert!(worst <= 1, "{what}: worst {worst}, mean {mean:.3}");
        // The fill is not a no-op on these scenes.
        let plain = Params {
            fill_hidden: false,
            ..params
        };
        let filled = reference::refocus_views(&image, right, &disparity, width, height, &params);
        let unfilled = reference::refocus(&image, &disparity, width, height, &plain);
        let changed = filled.iter().zip(&unfilled).filter(|(a, b)| a != b).count();
        assert!(
            changed > filled.len() / 50,
            "{what}: the fill changed {changed} values"
        );
    }
    // The fast path at full resolution (every disc within kmax 15): exact.
    for (width, height) in [(96, 64), (33, 17)] {
        let (image, disparity) = scene(&mut rng, width, height, 40.0);
        let (right, _) = scene(&mut rng, width, height, 40.0);
        let params = Params {
            aperture: 0.15,
            focus_disparity: 4.0,
            max_disparity: 40.0,
            max_kernel: 15,
            fill_hidden: true,
            ..Default::default()
        };
        let (worst, mean, _) = compare_views(
            &mut renderer,
            &image,
            Some(&right),
            &disparity,
            width,
            height,
            &params,
        );
        assert!(
            worst <= 1,
            "{width}x{height} kmax 15: worst {worst}, mean {mean:.3}"
        );
    }
    // Downsampled (kmax 11): as close to the filled oracle as plain is to its own.
    let (image, disparity) = scene(&mut rng, 160, 96, 60.0);
    let (right, _) = scene(&mut rng, 160, 96, 60.0);
    let params = Params {
        aperture: 0.25,
        focus_disparity: 10.0,
        max_disparity: 60.0,
        fill_hidden: true,
        ..Default::default()
    };
    let (_, mean, block) = compare_views(
        &mut renderer,
        &image,
        Some(&right),
        &disparity,
        160,
        96,
        &params,
    );
    assert!(
        mean < 2.5 && block < 25.0,
        "kmax 11: mean {mean:.3}, worst block {block:.3}"
    );
}

/// Every option together with the kernel caps, both masks, and frames of one pixel and of a
/// few rows: each frame renders, exactly where kernels are not capped, and where they are
/// no further from the oracle than half as much again as plain Algorithm 1 at that cap.
#[test]
fn options_combine_with_every_max_kernel() {
    let mut renderer = renderer();
    let mut rng = Rng(0xc0b1);
    let linear = Light::Linear {
        transfer: Transfer::Bt709,
        highlights: Highlights {
            threshold: 0.7,
            gain: 6.0,
        },
    };
    let pentagon = Shape::Blades {
        blades: 5,
        rotation: 12.0,
    };
    for (width, height) in [(1, 1), (45, 3)] {
        let (image, disparity) = scene(&mut rng, width, height, 40.0);
        for max_kernel in [0u32, 1, 3, 15, 16, 255] {
            // The plain downsampled mode's error at this cap, the options' yardstick.
            let mut plain_mean = None;
            for (light, shape, mask, fill_hidden) in [
                (Light::Encoded, Shape::Disc, Mask::Hard, false),
                (Light::Encoded, pentagon, Mask::Smooth { alpha: 3.0 }, false),
                (linear, Shape::Disc, Mask::Hard, false),
                (linear, pentagon, Mask::Smooth { alpha: 3.0 }, false),
                (Light::Encoded, Shape::Disc, Mask::Hard, true),
                (linear, pentagon, Mask::Smooth { alpha: 3.0 }, true),
            ] {
                let params = Params {
                    aperture: 0.7,
                    focus_disparity: 5.0,
                    max_disparity: 40.0,
                    max_kernel,
                    mask,
                    light,
                    shape,
                    fill_hidden,
                    ..Default::default()
                };
                let (worst, mean, _) =
                    compare(&mut renderer, &image, &disparity, width, height, &params);
                let exact = max_kernel == 0 || max_kernel == 255;
                let plain = *plain_mean.get_or_insert(mean);
                // Measured at 45x3 (a frame too short for the levels kmax 1 and 3 ask for, so
                // even plain is tens of levels off): options 16.3-29.4 against plain's
                // 16.9-21.1; kmax 15, 1.9-2.3 against 1.7.
                assert!(
                    if exact {
                        worst <= 1
                    } else {
                        mean <= 1.5 * plain + 1.0
                    },
                    "{width}x{height} kmax {max_kernel} {light:?} {shape:?} {mask:?} fill {fill_hidden}: worst {worst}, mean {mean:.2} (plain {plain:.2})"
                );
            }
        }
    }
}
