//! Rectification against OpenCV: `scripts/rectify_reference.py` makes a distorted, slightly
//! rotated stereo camera, its calibration in OpenCV's `stereo_calib` files and as ROS
//! `camera_info` files, an unrectified pair, and OpenCV's `initUndistortRectifyMap` +
//! `remap` of it. The maps (`src/rectify`) and the GPU remap are compared with OpenCV's, then
//! `sterefo` with the calibration against `sterefo` on OpenCV's rectified pair; and the
//! errors for a calibration that does not fit. Every pipeline under a timeout.

#[path = "common/pipeline.rs"]
mod pipeline;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use gststerefo::depth::{ChannelOrder, StereoImage};
use gststerefo::rectify::Calibration;
use pipeline::{init, run};

const WIDTH: u32 = 320;
const HEIGHT: u32 = 240;
/// Pixels at the frame's edges left out of the comparisons (black borders of the remap).
const BORDER: u32 = 8;

fn crate_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The reference files, made once per test binary run.
fn reference() -> PathBuf {
    static MADE: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    MADE.get_or_init(|| {
        let dir =
            Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("rectify-{}", std::process::id()));
        let python = std::env::var_os("STEREFO_PYTHON")
            .map(PathBuf::from)
            .unwrap_or_else(|| crate_root().join(".venv/bin/python"));
        let output = Command::new(&python)
            .arg(crate_root().join("scripts/rectify_reference.py"))
            .arg(&dir)
            .args([WIDTH.to_string(), HEIGHT.to_string()])
            .output()
            .unwrap_or_else(|e| {
                panic!("cannot run {}: {e}; run scripts/setup.sh", python.display())
            });
        assert!(
            output.status.success(),
            "rectify_reference.py: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        dir
    })
    .clone()
}

fn read_f32(path: &Path) -> Vec<f32> {
    std::fs::read(path)
        .expect("reference file")
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

fn interior(index: usize) -> bool {
    let (x, y) = (index as u32 % WIDTH, index as u32 / WIDTH);
    (BORDER..WIDTH - BORDER).contains(&x) && (BORDER..HEIGHT - BORDER).contains(&y)
}

/// Mean and largest difference of the colour channels of two RGBA frames, `BORDER` px
/// from the edges, levels.
fn interior_difference(a: &[u8], b: &[u8]) -> (f64, u8) {
    let diffs: Vec<u8> = a
        .chunks_exact(4)
        .zip(b.chunks_exact(4))
        .enumerate()
        .filter(|(i, _)| interior(*i))
        .flat_map(|(_, (p, q))| (0..3).map(move |c| p[c].abs_diff(q[c])))
        .collect();
    let mean = diffs.iter().map(|&d| f64::from(d)).sum::<f64>() / diffs.len() as f64;
    (mean, diffs.iter().copied().max().unwrap_or(0))
}

#[test]
fn maps_from_both_file_formats_match_opencv() {
    let dir = reference();
    let opencv = Calibration::load(&dir.join("intrinsics.yml"), &dir.join("extrinsics.yml"))
        .expect("OpenCV files");
    // either order
    let swapped = Calibration::load(&dir.join("extrinsics.yml"), &dir.join("intrinsics.yml"))
        .expect("either order");
    assert_eq!(opencv.left, swapped.left);
    let ros =
        Calibration::load(&dir.join("left.yaml"), &dir.join("right.yaml")).expect("ROS files");
    assert_eq!(ros.size, Some((WIDTH, HEIGHT)));
    for calibration in [&opencv, &ros] {
        calibration
            .check_size(WIDTH, HEIGHT)
            .expect("the calibrated size");
        let maps = calibration.maps(WIDTH, HEIGHT);
        for (map, name) in maps.iter().zip(["left", "right"]) {
            let expected = read_f32(&dir.join(format!("map_{name}.f32")));
            let worst = map
                .iter()
                .flatten()
                .zip(&expected)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0f32, f32::max);
            println!("{name} map: worst difference from OpenCV's {worst:.2e} px");
            assert!(worst < 1e-3, "{name}: {worst} px from OpenCV's map");
        }
    }
}

#[test]
fn the_gpu_remap_matches_opencv_remap() {
    let dir = reference();
    let calibration =
        Calibration::load(&dir.join("left.yaml"), &dir.join("right.yaml")).expect("ROS files");
    let context = gststerefo::gpu::GpuContext::shared().expect("a GPU (lavapipe here)");
    let mut remapper = gststerefo::rectify::gpu::Remapper::new(context);
    remapper.set_maps(WIDTH, HEIGHT, || calibration.maps(WIDTH, HEIGHT));
    let inputs = ["left", "right"]
        .map(|name| std::fs::read(dir.join(format!("{name}.rgba"))).expect("input"));
    let images = inputs
        .each_ref()
        .map(|data| StereoImage::packed(data, WIDTH as usize, HEIGHT as usize, ChannelOrder::Rgba));
    let (mut left, mut right) = (Vec::new(), Vec::new());
    remapper
        .remap([&images[0], &images[1]], [&mut left, &mut right])
        .expect("remap");
    for (ours, name) in [(&left, "left"), (&right, "right")] {
        let expected =
            std::fs::read(dir.join(format!("rect_{name}.rgba"))).expect("OpenCV's remap");
        let (mean, worst) = interior_difference(ours, &expected);
        println!("{name}: mean {mean:.3}, worst {worst} levels from OpenCV's remap");
        assert!(
            mean <= 1.0,
            "{name}: mean {mean} levels from OpenCV's remap"
        );
    }
}

fn raw_source(path: &Path, pad: &str) -> String {
    format!(
        "filesrc location={} ! rawvideoparse format=rgba width={WIDTH} height={HEIGHT} framerate=25/1 ! s.{pad}",
        path.display()
    )
}

fn sterefo_output(properties: &str, left: &Path, right: &Path, out: &Path) -> Vec<u8> {
    let launch = format!(
        "sterefo name=s focus-mode=disparity focus-disparity=20 max-disparity=48 aperture=0.3 {properties} \
         ! video/x-raw,format=RGBA ! filesink location={} {} {}",
        out.display(),
        raw_source(left, "sink_left"),
        raw_source(right, "sink_right")
    );
    let pipeline = gst::parse::launch(&launch).expect("pipeline");
    run(&pipeline, Duration::from_secs(120)).unwrap_or_else(|e| panic!("{launch}:\n{e}"));
    std::fs::read(out).expect("output")
}

/// `sterefo` rectifying an unrectified pair itself gives what it gives on OpenCV's
/// rectification of the same pair.
#[test]
fn sterefo_rectifies_an_unrectified_pair_like_opencv() {
    init();
    let dir = reference();
    let out = dir.join("out.rgba");
    let on_opencv = sterefo_output(
        "",
        &dir.join("rect_left.rgba"),
        &dir.join("rect_right.rgba"),
        &out,
    );
    for files in [
        ["intrinsics.yml", "extrinsics.yml"],
        ["left.yaml", "right.yaml"],
    ] {
        let calibration = format!(
            "calibration={},{}",
            dir.join(files[0]).display(),
            dir.join(files[1]).display()
        );
        let ours = sterefo_output(
            &calibration,
            &dir.join("left.rgba"),
            &dir.join("right.rgba"),
            &out,
        );
        assert_eq!(ours.len(), on_opencv.len());
        let (mean, _) = interior_difference(&ours, &on_opencv);
        println!("{files:?}: mean {mean:.3} levels from sterefo on OpenCV's rectified pair");
        assert!(mean <= 1.0, "{files:?}: mean {mean} levels");
        // and not the unrectified picture refocused as it is
        let unrectified = sterefo_output("", &dir.join("left.rgba"), &dir.join("right.rgba"), &out);
        let moved = unrectified
            .iter()
            .zip(&ours)
            .filter(|(a, b)| a.abs_diff(**b) > 8)
            .count();
        assert!(
            moved > ours.len() / 10,
            "the calibration changed little ({moved} bytes)"
        );
    }
}

#[test]
fn a_calibration_that_does_not_fit_is_a_clear_error() {
    init();
    let dir = reference();
    let broken = dir.join("broken.yaml");
    std::fs::write(&broken, "image_width: 320\nimage_height: 240\ncamera_matrix:\n  rows: 3\n  cols: 3\n  data: [1, 2]\n").expect("write");
    let small = |name: &str| {
        // the stream at half the calibrated size
        let path = dir.join(format!("small_{name}.rgba"));
        std::fs::write(&path, vec![128u8; (WIDTH * HEIGHT) as usize]).expect("write");
        path
    };
    let cases = [
        (
            format!(
                "calibration={},{}",
                dir.join("left.yaml").display(),
                dir.join("right.yaml").display()
            ),
            true,
            "is for 320x240 images (image_width, image_height) but the stream is 160x120"
                .to_string(),
        ),
        (
            format!(
                "calibration={},{}",
                dir.join("intrinsics.yml").display(),
                dir.join("extrinsics.yml").display()
            ),
            true,
            "lies outside the 160x120 stream".to_string(),
        ),
        (
            format!(
                "calibration={},{}",
                broken.display(),
                dir.join("right.yaml").display()
            ),
            false,
            format!(
                "calibration file {}: `camera_matrix` says 3x3 but has 2 numbers",
                broken.display()
            ),
        ),
        (
            format!("calibration={}", dir.join("left.yaml").display()),
            false,
            "calibration needs two files".to_string(),
        ),
    ];
    for (properties, small_stream, expected) in cases {
        let (left, right, size) = if small_stream {
            (small("left"), small("right"), (WIDTH / 2, HEIGHT / 2))
        } else {
            (
                dir.join("left.rgba"),
                dir.join("right.rgba"),
                (WIDTH, HEIGHT),
            )
        };
        let source = |path: &Path, pad: &str| {
            format!(
                "filesrc location={} ! rawvideoparse format=rgba width={} height={} framerate=25/1 ! s.{pad}",
                path.display(),
                size.0,
                size.1
            )
        };
        let launch = format!(
            "sterefo name=s {properties} ! fakesink {} {}",
            source(&left, "sink_left"),
            source(&right, "sink_right")
        );
        let pipeline = gst::parse::launch(&launch).expect("pipeline");
        let error = pipeline::error_message(&pipeline, Duration::from_secs(60));
        assert!(error.contains(&expected), "{properties}:\n{error}");
    }
}
