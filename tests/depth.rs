//! The depth module (`gststerefo::depth`) through ONNX Runtime.
//!
//! - The shipped model on a synthetic pair with known disparity (an end-point-error bound).
//! - The Rust output equal to Python onnxruntime's on the same input
//!   (`scripts/depth_reference.py`, run with the project's venv).
//! - The pre- and post-processing geometry with a tiny model whose output is a known
//!   function of its input.
//! - Each bad input: a clear error, no panic; grey, differently exposed, flat and tiny
//!   frames: finite output.
//!
//! Needs what `scripts/setup.sh` installs: the ONNX Runtime library (`ORT_DYLIB_PATH`, which
//! `scripts/env.sh` sets to `.deps/onnxruntime`), `.venv/bin/python` with onnx, onnxruntime and OpenCV, and the shipped
//! model `models/stereonet.onnx` (`STEREFO_MODEL` overrides it). Missing pieces fail with a
//! message saying what is missing; nothing is skipped.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::LazyLock;

use gststerefo::depth::{
    BUILTIN_MODEL, ChannelOrder, DepthEstimator, DepthOptions, Model, Provider, Runtime,
    StereoImage,
};

fn crate_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A fresh folder for one test's files.
fn scratch(name: &str) -> PathBuf {
    let dir =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("depth-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create a scratch folder under target/");
    dir
}

fn python() -> PathBuf {
    let python = std::env::var_os("STEREFO_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate_root().join(".venv/bin/python"));
    assert!(
        python.is_file(),
        "Python not found at {}: run scripts/setup.sh (it makes .venv) or set STEREFO_PYTHON",
        python.display()
    );
    python
}

/// Runs `scripts/depth_reference.py` with these arguments.
fn reference(args: &[&str]) {
    let output = Command::new(python())
        .arg(crate_root().join("scripts/depth_reference.py"))
        .args(args)
        .output()
        .expect("run scripts/depth_reference.py");
    assert!(
        output.status.success(),
        "scripts/depth_reference.py {args:?} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The shipped model, or `STEREFO_MODEL`.
fn shipped_model() -> PathBuf {
    let model = std::env::var_os("STEREFO_MODEL")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate_root().join("models/stereonet.onnx"));
    assert!(
        model.is_file(),
        "the shipped depth model is missing: {} does not exist (it is made by models/train/export.py and \
         committed; STEREFO_MODEL=path overrides it)",
        model.display()
    );
    model
}

/// Small models for the layout and bad-input tests, made once by the reference script.
static TOY_MODELS: LazyLock<PathBuf> = LazyLock::new(|| {
    let dir = scratch("toy-models");
    reference(&["make-models", dir.to_str().expect("UTF-8 path")]);
    dir
});

fn toy(name: &str) -> PathBuf {
    TOY_MODELS.join(name)
}

fn cpu() -> DepthOptions {
    DepthOptions {
        provider: Provider::Cpu,
        ..DepthOptions::default()
    }
}

fn error_of<T>(result: anyhow::Result<T>) -> String {
    match result {
        Ok(_) => panic!("expected an error"),
        Err(error) => {
            let message = format!("{error:#}");
            println!("error: {message}");
            message
        }
    }
}

/// Deterministic value noise: a grid of random values every `cell` pixels, interpolated
/// bilinearly, so the texture has structure at several scales (what stereo matching needs).
fn value_noise(seed: u64, x: f32, y: f32, cell: f32) -> f32 {
    let hash = |i: i64, j: i64| {
        let mut h = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
            ^ (j as u64).wrapping_mul(0xC2B2_AE3D_27D4_EB4F)
            ^ seed;
        h ^= h >> 31;
        h = h.wrapping_mul(0xBF58_476D_1CE4_E5B9);
        h ^= h >> 29;
        (h >> 40) as f32 / (1u64 << 24) as f32
    };
    let (u, v) = (x / cell, y / cell);
    let (i, j) = (u.floor() as i64, v.floor() as i64);
    let (fu, fv) = (u - i as f32, v - j as f32);
    let top = hash(i, j) * (1.0 - fu) + hash(i + 1, j) * fu;
    let bottom = hash(i, j + 1) * (1.0 - fu) + hash(i + 1, j + 1) * fu;
    top * (1.0 - fv) + bottom * fv
}

/// A colour texture in [0, 255] at (x, y).
fn texture(seed: u64, x: f32, y: f32) -> [u8; 3] {
    let mut rgb = [0u8; 3];
    for (c, out) in rgb.iter_mut().enumerate() {
        let s = seed.wrapping_add(c as u64 * 1000);
        let v = 0.5 * value_noise(s, x, y, 9.0)
            + 0.3 * value_noise(s + 1, x, y, 4.0)
            + 0.2 * value_noise(s + 2, x, y, 2.0);
        *out = (v * 255.0).round().clamp(0.0, 255.0) as u8;
    }
    rgb
}

/// A rectified pair with exact disparity: a textured fronto-parallel background at
/// `background` px and a nearer textured rectangle at `foreground` px.
struct Scene {
    width: usize,
    height: usize,
    left: Vec<u8>,
    right: Vec<u8>,
    disparity: Vec<f32>,
    /// Pixels seen by both cameras and at least `margin` px from a depth edge or occlusion.
    valid: Vec<bool>,
    /// Pixels of the rectangle (left view).
    foreground: Vec<bool>,
}

fn scene(width: usize, height: usize, background: usize, foreground: usize) -> Scene {
    let (x0, x1) = (width * 3 / 10, width * 4 / 5);
    let (y0, y1) = (height / 5, height * 4 / 5);
    let inside = |x: i64, y: usize| x >= x0 as i64 && x < x1 as i64 && y >= y0 && y < y1;
    let mut left = vec![255u8; width * height * 4];
    let mut right = vec![255u8; width * height * 4];
    let mut disparity = vec![0.0; width * height];
    let mut valid = vec![false; width * height];
    let mut foreground_mask = vec![false; width * height];
    let margin = 3;
    for y in 0..height {
        for x in 0..width {
            let i = y * width + x;
            let (xi, yf) = (x as i64, y as f32);
            // left view: the rectangle, else the background
            let (rgb, d) = if inside(xi, y) {
                (texture(7, x as f32, yf), foreground)
            } else {
                (texture(3, x as f32, yf), background)
            };
            left[4 * i..4 * i + 3].copy_from_slice(&rgb);
            disparity[i] = d as f32;
            // right view: right pixel x shows the scene point at left coordinate x + d
            let rgb = if inside(xi + foreground as i64, y) {
                texture(7, (x + foreground) as f32, yf)
            } else {
                texture(3, (x + background) as f32, yf)
            };
            right[4 * i..4 * i + 3].copy_from_slice(&rgb);
            // valid: seen by the right camera, not occluded by the rectangle there, away from edges
            let seen = x >= d + margin;
            let near_edge = (-(margin as i64)..=margin as i64).any(|dx| {
                (-(margin as i64)..=margin as i64).any(|dy| {
                    let yy = (y as i64 + dy).clamp(0, height as i64 - 1) as usize;
                    inside(xi + dx, yy) != inside(xi, y)
                })
            });
            let occluded = !inside(xi, y)
                && (0..=(foreground - background + margin) as i64).any(|k| inside(xi + k, y));
            valid[i] = seen && !near_edge && !occluded;
            foreground_mask[i] = inside(xi, y);
        }
    }
    Scene {
        width,
        height,
        left,
        right,
        disparity,
        valid,
        foreground: foreground_mask,
    }
}

/// End-point errors on the valid pixels.
struct Errors {
    /// Mean over all valid pixels, pixels.
    mean: f32,
    /// Share of valid pixels off by more than 3 px.
    bad3: f32,
    /// Median on the valid background and on the valid rectangle, pixels.
    median_background: f32,
    median_foreground: f32,
}

fn end_point_error(scene: &Scene, estimate: &[f32]) -> Errors {
    let errors = |foreground: Option<bool>| {
        let mut errors: Vec<f32> = (0..scene.disparity.len())
            .filter(|&i| scene.valid[i] && foreground.is_none_or(|f| scene.foreground[i] == f))
            .map(|i| (estimate[i] - scene.disparity[i]).abs())
            .collect();
        assert!(
            errors.len() > scene.disparity.len() / 8,
            "too few valid pixels"
        );
        errors.sort_by(f32::total_cmp);
        errors
    };
    let all = errors(None);
    let median = |e: Vec<f32>| e[e.len() / 2];
    Errors {
        mean: all.iter().sum::<f32>() / all.len() as f32,
        bad3: all.iter().filter(|e| **e > 3.0).count() as f32 / all.len() as f32,
        median_background: median(errors(Some(false))),
        median_foreground: median(errors(Some(true))),
    }
}

impl std::fmt::Display for Errors {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(
            f,
            "mean EPE {:.3} px, bad-3 {:.1}%, median background {:.3} px, median rectangle {:.3} px",
            self.mean,
            self.bad3 * 100.0,
            self.median_background,
            self.median_foreground
        )
    }
}

fn estimate(estimator: &mut DepthEstimator, scene: &Scene) -> Vec<f32> {
    let mut disparity = Vec::new();
    estimator
        .estimate(
            &StereoImage::packed(&scene.left, scene.width, scene.height, ChannelOrder::Rgba),
            &StereoImage::packed(&scene.right, scene.width, scene.height, ChannelOrder::Rgba),
            &mut disparity,
        )
        .expect("estimate");
    assert_eq!(disparity.len(), scene.width * scene.height);
    disparity
}

/// The shipped model recovers a known two-layer scene (256 x 160, background at 8 px, a
/// rectangle at 20 px covering a third of the image).
///
/// Bounds, on pixels seen by both cameras and 3 px or more from a depth edge: the median
/// error on the background and on the rectangle each below 1.5 px, the mean below 2 px.
/// They are there to catch a broken model, not to grade a good one (the motorcycle
/// evaluation does that): no constant output passes the medians (the two true values are
/// 12 px apart, so one median is at least 6 px), an untrained network scores about 60 px,
/// and a network that loses the rectangle fails its median by about 12 px. They leave room
/// for the edge errors a cost volume at 1/8 resolution makes (a model halfway through
/// training measured medians 0.2 / 0.8 px, mean 0.9 px; `--nocapture` prints the numbers).
/// At half scale, where the rectangle is 10 working pixels away and edges are coarser:
/// medians and mean below 3 px (that model: 0.6 / 1.7 px, mean 1.3 px).
#[test]
fn shipped_model_recovers_a_synthetic_scene() {
    let model = shipped_model();
    let scene = scene(256, 160, 8, 20);
    let mut estimator = DepthEstimator::new(&model, &cpu()).expect("load the shipped model");
    for (scale, median_bound, mean_bound) in [(1.0, 1.5, 2.0), (0.5, 3.0, 3.0)] {
        estimator.set_scale(scale).expect("scale");
        let errors = end_point_error(&scene, &estimate(&mut estimator, &scene));
        println!("scale {scale}: {errors}");
        assert!(
            errors.median_background < median_bound
                && errors.median_foreground < median_bound
                && errors.mean < mean_bound,
            "scale {scale}: {errors}"
        );
    }
    // the bounds reject every constant
    for constant in [8.0, 14.0, 20.0] {
        let errors = end_point_error(&scene, &vec![constant; scene.width * scene.height]);
        assert!(
            errors.median_background.max(errors.median_foreground) >= 6.0,
            "{errors}"
        );
    }
}

/// Applies `f` to the RGB bytes of every pixel of a packed RGBA image.
fn map_rgb(image: &[u8], f: impl Fn([u8; 3]) -> [u8; 3]) -> Vec<u8> {
    let mut out = image.to_vec();
    for pixel in out.chunks_exact_mut(4) {
        let rgb = f([pixel[0], pixel[1], pixel[2]]);
        pixel[..3].copy_from_slice(&rgb);
    }
    out
}

fn grey([r, g, b]: [u8; 3]) -> [u8; 3] {
    let y = (0.299 * r as f32 + 0.587 * g as f32 + 0.114 * b as f32).round() as u8;
    [y, y, y]
}

/// What cameras deliver, on the two-layer scene: a grey pair (a mono stereo camera, the
/// channel replicated) and a right view with other exposure and white balance (x0.6,
/// warmer). The output is finite and the scene is still recovered, with bounds twice those
/// of the clean pair (the medians still reject every constant, see above).
#[test]
fn shipped_model_handles_grey_and_differently_exposed_pairs() {
    let mut estimator = DepthEstimator::new(&shipped_model(), &cpu()).expect("load");
    let clean = scene(256, 160, 8, 20);
    let grey_pair = Scene {
        left: map_rgb(&clean.left, grey),
        right: map_rgb(&clean.right, grey),
        ..scene(256, 160, 8, 20)
    };
    let darker_warmer = Scene {
        right: map_rgb(&clean.right, |[r, g, b]| {
            let scale = |v: u8, k: f32| (v as f32 * k).round().min(255.0) as u8;
            [scale(r, 0.66), scale(g, 0.6), scale(b, 0.45)]
        }),
        ..scene(256, 160, 8, 20)
    };
    for (name, pair) in [
        ("grey", &grey_pair),
        ("darker, warmer right", &darker_warmer),
    ] {
        let disparity = estimate(&mut estimator, pair);
        assert!(
            disparity.iter().all(|d| d.is_finite() && *d >= 0.0),
            "{name}: non-finite or negative output"
        );
        let errors = end_point_error(pair, &disparity);
        println!("{name}: {errors}");
        assert!(
            errors.median_background < 3.0 && errors.median_foreground < 3.0 && errors.mean < 4.0,
            "{name}: {errors}"
        );
    }
}

/// A frame with no texture at all (one flat colour, and black), and frames smaller than
/// the model's stride (down to 1x1): finite, non-negative output of the input's size, no
/// error. What the disparity of a flat frame is cannot be known; only that it is a number.
#[test]
fn shipped_model_gives_finite_output_on_flat_and_tiny_frames() {
    let mut estimator = DepthEstimator::new(&shipped_model(), &cpu()).expect("load");
    for (width, height, value) in [
        (96, 64, 128u8),
        (96, 64, 0),
        (20, 12, 200),
        (31, 33, 90),
        (1, 1, 50),
    ] {
        let flat = vec![value; width * height * 4];
        let image = StereoImage::packed(&flat, width, height, ChannelOrder::Rgba);
        let mut disparity = Vec::new();
        estimator
            .estimate(&image, &image, &mut disparity)
            .unwrap_or_else(|e| panic!("{width}x{height} flat {value}: {e:#}"));
        assert_eq!(disparity.len(), width * height);
        assert!(
            disparity.iter().all(|d| d.is_finite() && *d >= 0.0),
            "{width}x{height} flat {value}: non-finite or negative output"
        );
    }
    // a small textured pair, smaller than the stride in both directions
    let tiny = scene(24, 20, 2, 5);
    let disparity = estimate(&mut estimator, &tiny);
    assert!(disparity.iter().all(|d| d.is_finite() && *d >= 0.0));
}

fn write_f32(path: &Path, values: &[f32]) {
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(path, bytes).expect("write a float file");
}

fn read_f32(path: &Path) -> Vec<f32> {
    std::fs::read(path)
        .expect("read a float file written by the reference script")
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

fn max_difference(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// Rust and Python onnxruntime agree on the same input.
///
/// - Raw network output on the same padded tensors: within 1e-3 px. Same library, same
///   graph, same thread count; the only freedom is floating-point summation order inside
///   ONNX Runtime, which moves outputs by about 1e-5 px.
/// - Pre-processing (Rust's own against numpy `np.pad(mode="edge")` and OpenCV `INTER_AREA`):
///   network inputs within 1e-5 (float rounding of the averages; measured 1e-7), and the
///   whole pipeline including OpenCV `INTER_LINEAR` upsampling within 1e-3 px at scales 1
///   and 0.5 (measured 1e-5 px: input rounding differences barely move the network).
#[test]
fn rust_output_equals_python_onnxruntime() {
    let model = shipped_model();
    // 120 x 90: not a multiple of 32, so padding and cropping are exercised
    let scene = scene(120, 90, 6, 15);
    let dir = scratch("reference");
    std::fs::write(dir.join("left.rgba"), &scene.left).expect("write left");
    std::fs::write(dir.join("right.rgba"), &scene.right).expect("write right");
    let dir_str = dir.to_str().expect("UTF-8 path");
    let model_str = model.to_str().expect("UTF-8 path");
    let mut estimator = DepthEstimator::new(&model, &cpu()).expect("load the model");

    for scale in [1.0, 0.5] {
        estimator.set_scale(scale).expect("scale");
        let disparity = estimate(&mut estimator, &scene);
        let input = estimator.network_input().expect("inputs of the last frame");
        let (padded_width, padded_height) = (input.width, input.height);
        let (left_in, right_in) = (input.left.to_vec(), input.right.to_vec());

        // the raw network on the very same tensors
        write_f32(&dir.join("left.f32"), &left_in);
        write_f32(&dir.join("right.f32"), &right_in);
        let (w, h) = (padded_width.to_string(), padded_height.to_string());
        reference(&["raw", model_str, dir_str, &w, &h]);
        let python_raw = read_f32(&dir.join("raw_output.f32"));
        let mut rust_raw = Vec::new();
        estimator
            .run_network(
                &left_in,
                &right_in,
                padded_width,
                padded_height,
                &mut rust_raw,
            )
            .expect("run the bare network");
        let raw_difference = max_difference(&rust_raw, &python_raw);
        println!("scale {scale}: raw output max |rust - python| = {raw_difference:.2e} px");
        assert!(
            raw_difference < 1e-3,
            "raw network output differs by {raw_difference} px"
        );

        // Python's own pre- and post-processing
        let (w, h, s) = (
            scene.width.to_string(),
            scene.height.to_string(),
            scale.to_string(),
        );
        reference(&["pipeline", model_str, dir_str, &w, &h, &s]);
        let input_difference = max_difference(&left_in, &read_f32(&dir.join("py_left.f32"))).max(
            max_difference(&right_in, &read_f32(&dir.join("py_right.f32"))),
        );
        let output_difference =
            max_difference(&disparity, &read_f32(&dir.join("py_disparity.f32")));
        println!(
            "scale {scale}: network input max difference {input_difference:.2e}, \
             disparity max difference {output_difference:.2e} px"
        );
        assert!(
            input_difference < 1e-5,
            "pre-processing differs by {input_difference}"
        );
        assert!(
            output_difference < 1e-3,
            "disparity differs by {output_difference} px"
        );
    }
}

/// A red-channel ramp through a model computing `disparity = 8 x red`: checks channel order,
/// padding, cropping, the working scale and the disparity rescaling exactly.
#[test]
fn processing_geometry_with_a_known_model() {
    let (width, height) = (100, 50);
    // red = x + y (a ramp: linear filters reproduce it away from the borders), blue = 255 - red
    let mut rgba = vec![0u8; width * height * 4];
    for y in 0..height {
        for x in 0..width {
            let i = 4 * (y * width + x);
            let red = (x + y) as u8;
            rgba[i..i + 4].copy_from_slice(&[red, 17, 255 - red, 255]);
        }
    }
    let bgra: Vec<u8> = rgba
        .chunks_exact(4)
        .flat_map(|p| [p[2], p[1], p[0], p[3]])
        .collect();
    let mut estimator = DepthEstimator::new(&toy("red.onnx"), &cpu()).expect("load red.onnx");
    assert_eq!(estimator.stride(), 16, "stride from the metadata");
    assert_eq!(estimator.max_disparity(), Some(8.0));
    assert_eq!(estimator.network_size(width, height), (100, 50, 112, 64));

    let want = |x: usize, y: usize| 8.0 * (x + y) as f32 / 255.0;
    let mut disparity = Vec::new();
    for (data, order) in [(&rgba, ChannelOrder::Rgba), (&bgra, ChannelOrder::Bgrx)] {
        let image = StereoImage::packed(data, width, height, order);
        estimator
            .estimate(&image, &image, &mut disparity)
            .expect("estimate");
        for y in 0..height {
            for x in 0..width {
                let got = disparity[y * width + x];
                assert!(
                    (got - want(x, y)).abs() < 1e-5,
                    "{order:?} ({x}, {y}): {got} vs {}",
                    want(x, y)
                );
            }
        }
    }

    // a row stride larger than the row: same result
    let stride = 4 * width + 12;
    let mut strided = vec![0u8; stride * height];
    for y in 0..height {
        strided[y * stride..y * stride + 4 * width]
            .copy_from_slice(&rgba[y * 4 * width..(y + 1) * 4 * width]);
    }
    let image = StereoImage {
        data: &strided,
        width,
        height,
        stride,
        order: ChannelOrder::Rgbx,
    };
    let mut strided_disparity = Vec::new();
    estimator
        .estimate(&image, &image, &mut strided_disparity)
        .expect("estimate");
    assert_eq!(strided_disparity, disparity);

    // half scale: the network sees a 50 x 25 image whose disparity, in its pixels, is
    // 8 x red; in input pixels that is twice as much, and a ramp survives area averaging
    // and bilinear upsampling except within a pixel of the border
    estimator.set_scale(0.5).expect("scale");
    assert_eq!(estimator.network_size(width, height), (50, 25, 64, 32));
    assert_eq!(estimator.max_disparity(), Some(16.0));
    let image = StereoImage::packed(&rgba, width, height, ChannelOrder::Rgba);
    estimator
        .estimate(&image, &image, &mut disparity)
        .expect("estimate");
    for y in 2..height - 2 {
        for x in 2..width - 2 {
            let got = disparity[y * width + x];
            assert!(
                (got - 2.0 * want(x, y)).abs() < 1e-3,
                "({x}, {y}): {got} vs {}",
                2.0 * want(x, y)
            );
        }
    }
}

#[test]
fn missing_onnx_runtime_library_is_a_clear_error() {
    let options = DepthOptions {
        ort_library: Some("/nonexistent/libonnxruntime.so".into()),
        ..cpu()
    };
    let error = error_of(DepthEstimator::new(&toy("red.onnx"), &options));
    assert!(
        error.contains(
            "ONNX Runtime library not found; looked at: /nonexistent/libonnxruntime.so (the path given)"
        ),
        "{error}"
    );
    assert!(
        error.contains("Set the onnxruntime-library property or ORT_DYLIB_PATH"),
        "{error}"
    );
}

/// The model built into the plugin is the committed file, and runs like it.
#[test]
fn the_built_in_model_is_the_shipped_file() {
    let file = crate_root().join("models/stereonet.onnx");
    let bytes = std::fs::read(&file).expect("models/stereonet.onnx");
    assert!(
        BUILTIN_MODEL == bytes.as_slice(),
        "the built-in model differs from {}",
        file.display()
    );
    let (width, height) = (96, 64);
    let left: Vec<u8> = (0..width * height * 4)
        .map(|i| ((i * 7919) % 251) as u8)
        .collect();
    let image = StereoImage::packed(&left, width, height, ChannelOrder::Rgba);
    let mut from_builtin = Vec::new();
    let mut from_file = Vec::new();
    let mut builtin =
        DepthEstimator::new(&Model::Builtin, &cpu()).expect("load the built-in model");
    assert_eq!(builtin.model(), &Model::Builtin);
    builtin
        .estimate(&image, &image, &mut from_builtin)
        .expect("estimate");
    DepthEstimator::new(&file, &cpu())
        .expect("load the file")
        .estimate(&image, &image, &mut from_file)
        .expect("estimate");
    assert_eq!(from_builtin, from_file);
}

#[test]
fn a_second_different_library_is_refused() {
    Runtime::get(None).expect("the library from ORT_DYLIB_PATH or .deps (scripts/setup.sh)");
    // any other existing file: the loaded library cannot be swapped
    let error = error_of(Runtime::get(Some(&toy("red.onnx"))));
    assert!(
        error.contains("ONNX Runtime is already loaded in this process from"),
        "{error}"
    );
}

#[test]
fn missing_model_is_a_clear_error() {
    let error = error_of(DepthEstimator::new(
        Path::new("/nonexistent/stereo.onnx"),
        &cpu(),
    ));
    assert!(
        error.contains("depth model file /nonexistent/stereo.onnx not found"),
        "{error}"
    );
}

#[test]
fn corrupt_model_is_a_clear_error() {
    let path = scratch("corrupt").join("corrupt.onnx");
    let bytes: Vec<u8> = (0u32..4096)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(&path, bytes).expect("write");
    let error = error_of(DepthEstimator::new(&path, &cpu()));
    assert!(
        error.contains(&format!("cannot load depth model {}", path.display())),
        "{error}"
    );
    assert!(error.contains("is it an ONNX file?"), "{error}");
}

#[test]
fn model_with_wrong_inputs_is_a_clear_error() {
    let error = error_of(DepthEstimator::new(&toy("wrong_inputs.onnx"), &cpu()));
    assert!(
        error.contains("does not follow the depth model layout"),
        "{error}"
    );
    assert!(error.contains("found inputs `image`"), "{error}");
    assert!(error.contains("expected inputs `left`, `right`"), "{error}");

    let error = error_of(DepthEstimator::new(&toy("wrong_type.onnx"), &cpu()));
    assert!(
        error.contains("does not follow the depth model layout"),
        "{error}"
    );
    assert!(
        error.contains("input `left`") && error.contains("expected float32"),
        "{error}"
    );
}

#[test]
fn non_finite_model_output_is_an_error() {
    let mut estimator =
        DepthEstimator::new(&toy("nan.onnx"), &cpu()).expect("nan.onnx has the right layout");
    let pixels = vec![128u8; 64 * 32 * 4];
    let image = StereoImage::packed(&pixels, 64, 32, ChannelOrder::Rgba);
    let error = error_of(estimator.estimate(&image, &image, &mut Vec::new()));
    assert!(
        error.contains("model returned non-finite disparity"),
        "{error}"
    );
}

/// CUDA asked for explicitly on a machine without it fails and says so; where CUDA exists
/// (a GPU machine with the onnxruntime-gpu library) it must really be CUDA.
#[test]
fn cuda_where_there_is_none_is_an_error_and_auto_says_what_it_chose() {
    let options = DepthOptions {
        provider: Provider::Cuda,
        ..DepthOptions::default()
    };
    match DepthEstimator::new(&toy("red.onnx"), &options) {
        Ok(mut estimator) => {
            // CUDA is there: it must really run the model (disparity = 8 x red of `left`)
            assert_eq!(estimator.provider(), Provider::Cuda);
            let (width, height) = (40, 24);
            let image: Vec<u8> = (0..width * height)
                .flat_map(|p| [(p % 251) as u8, 7, 9, 255])
                .collect();
            let pair = StereoImage::packed(&image, width, height, ChannelOrder::Rgba);
            let mut disparity = Vec::new();
            estimator
                .estimate(&pair, &pair, &mut disparity)
                .expect("inference on CUDA");
            for (p, d) in disparity.iter().enumerate() {
                let expected = 8.0 * f32::from(image[4 * p]) / 255.0;
                assert!(
                    (d - expected).abs() < 1e-3,
                    "pixel {p}: {d} on CUDA, expected {expected}"
                );
            }
        }
        Err(error) => {
            let error = format!("{error:#}");
            println!("error: {error}");
            assert!(
                error.contains("provider cuda was asked for but CUDA is not available"),
                "{error}"
            );
            assert!(error.contains("onnxruntime-gpu"), "{error}");

            let auto =
                DepthEstimator::new(&toy("red.onnx"), &DepthOptions::default()).expect("auto");
            assert_eq!(auto.provider(), Provider::Cpu);
            println!("auto: {}", auto.provider_description());
            assert!(
                auto.provider_description().contains("CUDA unavailable"),
                "{}",
                auto.provider_description()
            );
        }
    }
}

#[test]
fn webgpu_without_its_library_is_an_error() {
    let options = DepthOptions {
        provider: Provider::WebGpu,
        webgpu_library: Some("/nonexistent/libonnxruntime_providers_webgpu.so".into()),
        ..DepthOptions::default()
    };
    let error = error_of(DepthEstimator::new(&toy("red.onnx"), &options));
    assert!(error.contains("provider webgpu was asked for"), "{error}");
    assert!(error.contains("onnxruntime-ep-webgpu"), "{error}");
}

/// With the plugin installed (scripts/setup.sh), WebGPU either really runs (a machine with a
/// GPU) or says there is no GPU to run on (this CPU-only machine: lavapipe is not offered).
#[test]
fn webgpu_runs_or_says_why_not() {
    let runtime = Runtime::get(None).expect("ONNX Runtime (scripts/setup.sh)");
    let library = gststerefo::depth::default_webgpu_library(&runtime.library);
    assert!(
        library.is_file(),
        "the WebGPU execution provider is missing at {}: run scripts/setup.sh",
        library.display()
    );
    let options = DepthOptions {
        provider: Provider::WebGpu,
        ..DepthOptions::default()
    };
    match DepthEstimator::new(&toy("red.onnx"), &options) {
        Ok(mut estimator) => {
            assert_eq!(estimator.provider(), Provider::WebGpu);
            println!("webgpu: {}", estimator.provider_description());
            let pixels = vec![51u8; 64 * 32 * 4];
            let image = StereoImage::packed(&pixels, 64, 32, ChannelOrder::Rgba);
            let mut disparity = Vec::new();
            estimator
                .estimate(&image, &image, &mut disparity)
                .expect("estimate on WebGPU");
            assert!(disparity.iter().all(|d| (d - 1.6).abs() < 1e-3));
        }
        Err(error) => {
            let error = format!("{error:#}");
            println!("error: {error}");
            assert!(
                error.contains("provider webgpu was asked for but"),
                "{error}"
            );
            assert!(error.contains("offers no device"), "{error}");
        }
    }
}

#[test]
fn bad_images_and_scales_are_errors() {
    let mut estimator = DepthEstimator::new(&toy("red.onnx"), &cpu()).expect("load");
    let big = vec![0u8; 64 * 32 * 4];
    let small = vec![0u8; 32 * 32 * 4];
    let left = StereoImage::packed(&big, 64, 32, ChannelOrder::Rgba);
    let right = StereoImage::packed(&small, 32, 32, ChannelOrder::Rgba);
    let error = error_of(estimator.estimate(&left, &right, &mut Vec::new()));
    assert!(
        error.contains("left and right images differ in size: 64x32 and 32x32"),
        "{error}"
    );
    let short = StereoImage::packed(&small, 64, 32, ChannelOrder::Rgba);
    let error = error_of(estimator.estimate(&left, &short, &mut Vec::new()));
    assert!(error.contains("right image has 4096 bytes"), "{error}");
    for scale in [0.0, -1.0, 1.5, f32::NAN] {
        let error = error_of(estimator.set_scale(scale));
        assert!(error.contains("working scale must be in (0, 1]"), "{error}");
    }
}
