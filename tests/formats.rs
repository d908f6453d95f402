//! Every colour format on both elements against the RGBA path: `refocus` and `sterefo` fed
//! NV12, I420, YUY2, GRAY8, RGB, BGR (and a 4-byte format) with no converter, their output
//! in that format, compared after GStreamer's `videoconvert` to RGBA with the RGBA path
//! fed the same pictures (the input through that format and back) and its output through
//! that format and back. Raw frames go in and out through files (`rawvideoparse`,
//! `filesink`); every pipeline under a timeout.

#[path = "common/pipeline.rs"]
mod pipeline;

#[path = "common/stereo_scene.rs"]
mod stereo_scene;

use std::path::{Path, PathBuf};
use std::time::Duration;

use pipeline::{init, run};

const WIDTH: usize = 160;
const HEIGHT: usize = 96;
const FORMATS: [&str; 9] = [
    "NV12", "I420", "Y42B", "Y444", "YUY2", "GRAY8", "RGB", "BGR", "BGRx",
];

fn scratch(name: &str) -> PathBuf {
    let dir =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("formats-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch folder");
    dir.join(name)
}

/// A raw frame file as a source of `format` caps.
fn raw_source(path: &Path, format: &str) -> String {
    format!(
        "filesrc location={} ! rawvideoparse format={format} width={WIDTH} height={HEIGHT} framerate=25/1",
        path.display()
    )
}

/// GStreamer's conversion to `format`, through 16-bit RGBA: its direct 8-bit paths between
/// YUV and RGB are a few levels off (NV12 to RGBA turns (40, 120, 200) into (38, 116, 196)
/// after a round trip; through RGBA64 it stays within a level).
fn convert(format: &str) -> String {
    format!(
        "videoconvert ! video/x-raw,format=RGBA64_LE ! videoconvert ! video/x-raw,format={format}"
    )
}

/// To `format` then back to RGBA: what the pictures become in that format.
fn through(format: &str) -> String {
    format!("{} ! {}", convert(format), convert("RGBA"))
}

fn run_pipeline(launch: &str, out: &Path) -> Vec<u8> {
    let _ = std::fs::remove_file(out);
    let pipeline = gst::parse::launch(launch).unwrap_or_else(|e| panic!("{launch}: {e}"));
    run(&pipeline, Duration::from_secs(120)).unwrap_or_else(|e| panic!("{launch}:\n{e}"));
    let bytes = std::fs::read(out).expect("output file");
    assert_eq!(bytes.len(), WIDTH * HEIGHT * 4, "{launch}: one RGBA frame");
    bytes
}

/// How far two RGBA pictures are apart in their colour channels, levels of 255.
#[derive(Clone, Copy, Debug)]
struct Difference {
    mean: f64,
    /// 99th percentile
    p99: u8,
    worst: u8,
}

impl std::fmt::Display for Difference {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(
            f,
            "mean {:.3}, 99th percentile {}, worst {} levels",
            self.mean, self.p99, self.worst
        )
    }
}

fn differences(a: &[u8], b: &[u8]) -> Difference {
    let mut diffs: Vec<u8> = a
        .chunks_exact(4)
        .zip(b.chunks_exact(4))
        .flat_map(|(p, q)| (0..3).map(move |c| p[c].abs_diff(q[c])))
        .collect();
    diffs.sort_unstable();
    let mean = diffs.iter().map(|&d| f64::from(d)).sum::<f64>() / diffs.len().max(1) as f64;
    let p99 = (0.99 * (diffs.len() as f64 - 1.0)).round() as usize;
    Difference {
        mean,
        p99: diffs.get(p99).copied().unwrap_or(0),
        worst: diffs.last().copied().unwrap_or(0),
    }
}

/// Bounds on the differences (mean, 99th percentile, worst; levels of 255) per format,
/// checked after all are printed. GStreamer's own conversions differ by about a level:
/// through 16 bits it widens 8-bit values by x257 (Y' 106 becomes 106.41, chroma 174
/// becomes 174.68), which moves R and B by about +1.1 and +1.3 levels against the exact
/// BT.601 decoding used here.
fn check(what: &str, results: &[(&str, Difference)]) {
    let bound = |format: &str| -> (f64, u8, u8) {
        match (what, format) {
            (_, "RGB" | "BGR" | "BGRx") => (0.05, 1, 1),
            // The network, fed pictures a level apart, moves the disparity by a fraction of
            // a pixel; along the box's edges that moves where its blurred border falls, so
            // a few pixels there differ by tens of levels (17 with version 3 of the shipped
            // network, 37 with version 4, whose last step refines by the census score to a
            // fraction of a pixel; 26 with another checkpoint of its training): the bound
            // is on the 99th percentile (3 levels), the worst only catches a picture gone
            // wrong (a wrong colour or plane is off by a hundred levels and more).
            ("sterefo", _) => (1.5, 4, 48),
            _ => (1.5, 4, 4),
        }
    };
    let failed: Vec<_> = results
        .iter()
        .filter(|(format, d)| {
            let (mean, p99, worst) = bound(format);
            d.mean > mean || d.p99 > p99 || d.worst > worst
        })
        .collect();
    assert!(
        failed.is_empty(),
        "{what}: out of bounds {failed:?} (all: {results:?})"
    );
}

/// A smooth colourful picture with a sharp-edged box (the depth edge).
fn picture() -> Vec<u8> {
    (0..HEIGHT)
        .flat_map(|y| (0..WIDTH).map(move |x| (x, y)))
        .flat_map(|(x, y)| {
            let inside = (56..112).contains(&x) && (28..68).contains(&y);
            let (r, g, b) = if inside {
                (220.0, 60.0 + y as f32, 40.0)
            } else {
                (
                    40.0 + x as f32,
                    120.0 + 0.5 * y as f32,
                    200.0 - 0.6 * x as f32,
                )
            };
            [r as u8, g as u8, b as u8, 255]
        })
        .collect()
}

fn gray16_disparity() -> Vec<u8> {
    (0..HEIGHT)
        .flat_map(|y| (0..WIDTH).map(move |x| (x, y)))
        .flat_map(|(x, y)| {
            let d: u16 = if (56..112).contains(&x) && (28..68).contains(&y) {
                20
            } else {
                8
            };
            (d * 256).to_le_bytes()
        })
        .collect()
}

/// Each format natively against the RGBA path: `pipeline(to_element, from_element)` is
/// the element's launch line with the conversion of its colour inputs and of its output;
/// natively, the pictures in the format go in and the output (in the format) is converted
/// to RGBA; the RGBA path gets the same pictures through the format and back, and its
/// output goes through the format and back too.
fn compare_with_rgba(what: &str, pipeline: impl Fn(&str, &str) -> String) {
    let out = scratch(&format!("{what}-out.rgba"));
    let mut results = Vec::new();
    for format in FORMATS {
        let launch = |to_element: String, from_element: String| {
            format!(
                "{} ! filesink location={}",
                pipeline(&to_element, &from_element),
                out.display()
            )
        };
        let native = run_pipeline(
            &launch(
                convert(format),
                format!("video/x-raw,format={format} ! {}", convert("RGBA")),
            ),
            &out,
        );
        let via_rgba = run_pipeline(&launch(through(format), through(format)), &out);
        let difference = differences(&native, &via_rgba);
        println!("{what} {format}: {difference}");
        results.push((format, difference));
    }
    check(what, &results);
}

#[test]
fn refocus_takes_every_format_like_rgba() {
    init();
    let (image, disparity) = (scratch("refocus.rgba"), scratch("refocus.gray16"));
    std::fs::write(&image, picture()).expect("write");
    std::fs::write(&disparity, gray16_disparity()).expect("write");
    let refocus = "refocus name=r aperture=0.4 focus-disparity=20 max-disparity=32 max-kernel=0";
    let depth = format!("{} ! r.sink_disparity", raw_source(&disparity, "gray16-le"));
    let source = raw_source(&image, "rgba");
    compare_with_rgba("refocus", |to_element, from_element| {
        format!("{source} ! {to_element} ! r.sink {depth} {refocus} ! {from_element}")
    });
}

#[test]
fn sterefo_takes_every_format_like_rgba() {
    init();
    let (left, right, _) = stereo_scene::render(WIDTH, HEIGHT, 8.0, &[stereo_scene::TEST_BOX]);
    let (left_file, right_file) = (scratch("left.rgba"), scratch("right.rgba"));
    std::fs::write(&left_file, left).expect("write");
    std::fs::write(&right_file, right).expect("write");
    let sterefo = "sterefo name=s aperture=0.4 focus-mode=disparity focus-disparity=20 max-disparity=32 max-kernel=0";
    let (left, right) = (
        raw_source(&left_file, "rgba"),
        raw_source(&right_file, "rgba"),
    );
    compare_with_rgba("sterefo", |to_element, from_element| {
        format!(
            "{left} ! {to_element} ! s.sink_left {right} ! {to_element} ! s.sink_right \
             {sterefo} ! {from_element}"
        )
    });
}

/// The element's reading of each format against `videoconvert`'s (its writing is in the
/// element tests above, read back by `videoconvert`), on the smooth picture.
#[test]
fn conversions_match_videoconvert() {
    init();
    let image = scratch("convert.rgba");
    std::fs::write(&image, picture()).expect("write");
    let mut results = Vec::new();
    for format in FORMATS {
        let raw = scratch(&format!("convert.{format}"));
        let out = scratch("convert-out.rgba");
        let pipeline = gst::parse::launch(&format!(
            "{} ! {} ! filesink location={}",
            raw_source(&image, "rgba"),
            convert(format),
            raw.display()
        ))
        .expect("pipeline");
        run(&pipeline, Duration::from_secs(30)).expect("to the format");
        let expected = run_pipeline(
            &format!(
                "{} ! {} ! filesink location={}",
                raw_source(&raw, &format.to_lowercase()),
                convert("RGBA"),
                out.display()
            ),
            &out,
        );
        let caps: gst::Caps =
            format!("video/x-raw,format={format},width={WIDTH},height={HEIGHT},framerate=25/1")
                .parse()
                .expect("caps");
        let info = gst_video::VideoInfo::from_caps(&caps).expect("info");
        let buffer = gst::Buffer::from_mut_slice(std::fs::read(&raw).expect("raw frame"));
        let frame = gst_video::VideoFrameRef::from_buffer_ref_readable(buffer.as_ref(), &info)
            .expect("map");
        let mut read = Vec::new();
        gststerefo::formats::read(&frame, &mut read).expect("read");
        if gststerefo::formats::is_packed4(info.format()) {
            // 4-byte formats are taken as they are, in their own byte order
            assert!(
                read == std::fs::read(&raw).expect("raw frame"),
                "{format}: not the frame's bytes"
            );
            continue;
        }
        let difference = differences(&read, &expected);
        println!("read {format} ({:?}): {difference}", info.colorimetry());
        results.push((format, difference));
    }
    check("read", &results);
}

/// Planes with padded rows at their own offsets (as a decoder's `GstVideoMeta` describes
/// them) give what tight planes give.
#[test]
fn padded_planes_of_a_video_meta_are_honoured() {
    init();
    let image = scratch("padded.rgba");
    std::fs::write(&image, picture()).expect("write");
    let raw = scratch("padded.nv12");
    let pipeline = gst::parse::launch(&format!(
        "{} ! {} ! filesink location={}",
        raw_source(&image, "rgba"),
        convert("NV12"),
        raw.display()
    ))
    .expect("pipeline");
    run(&pipeline, Duration::from_secs(30)).expect("to NV12");
    let tight = std::fs::read(&raw).expect("NV12 frame");
    let (luma, chroma) = tight.split_at(WIDTH * HEIGHT);
    let stride = WIDTH + 40;
    let mut padded = vec![0x5Au8; 64 + stride * HEIGHT + stride * HEIGHT / 2 + 16];
    let chroma_offset = 64 + stride * HEIGHT + 16;
    for y in 0..HEIGHT {
        padded[64 + y * stride..64 + y * stride + WIDTH]
            .copy_from_slice(&luma[y * WIDTH..(y + 1) * WIDTH]);
    }
    for y in 0..HEIGHT / 2 {
        padded[chroma_offset + y * stride..chroma_offset + y * stride + WIDTH]
            .copy_from_slice(&chroma[y * WIDTH..(y + 1) * WIDTH]);
    }
    let mut padded = gst::Buffer::from_mut_slice(padded);
    gst_video::VideoMeta::add_full(
        padded.get_mut().expect("new buffer"),
        gst_video::VideoFrameFlags::empty(),
        gst_video::VideoFormat::Nv12,
        WIDTH as u32,
        HEIGHT as u32,
        &[64, chroma_offset],
        &[stride as i32, stride as i32],
    )
    .expect("video meta");
    let refocused = |frame: gst::Buffer| {
        let element = gst::ElementFactory::make("refocus")
            .property("aperture", 0.4f32)
            .property("focus-disparity", 20.0f32)
            .property("max-disparity", 32.0f32)
            .build()
            .expect("refocus");
        let mut colour = gst_check::Harness::with_element(&element, Some("sink"), Some("src"));
        let mut depth = gst_check::Harness::with_element(&element, Some("sink_disparity"), None);
        let caps = |format: &str| -> gst::Caps {
            format!("video/x-raw,format={format},width={WIDTH},height={HEIGHT},framerate=25/1")
                .parse()
                .expect("caps")
        };
        colour.set_src_caps(caps("NV12"));
        depth.set_src_caps(caps("GRAY16_LE"));
        let timed = |mut buffer: gst::Buffer| {
            let b = buffer.get_mut().expect("writable");
            b.set_pts(gst::ClockTime::ZERO);
            b.set_duration(gst::ClockTime::from_mseconds(40));
            buffer
        };
        let depth_thread = pipeline::feed(
            depth,
            vec![timed(gst::Buffer::from_mut_slice(gray16_disparity()))],
        );
        colour.push(timed(frame)).expect("push");
        let out = colour
            .pull()
            .expect("a frame")
            .map_readable()
            .expect("readable")
            .to_vec();
        colour.push_event(gst::event::Eos::new());
        drop(depth_thread.join());
        out
    };
    let from_tight = refocused(gst::Buffer::from_mut_slice(tight.clone()));
    let from_padded = refocused(padded);
    assert_eq!(
        from_tight.len(),
        WIDTH * HEIGHT * 3 / 2,
        "an NV12 frame out"
    );
    assert!(
        from_tight == from_padded,
        "padded planes refocus differently from tight ones"
    );
}

/// The two inputs of `sterefo` in different formats: each is read in its own, the output
/// has the left one's.
#[test]
fn sterefo_inputs_may_differ_in_format() {
    init();
    let (left, right, _) = stereo_scene::render(WIDTH, HEIGHT, 8.0, &[stereo_scene::TEST_BOX]);
    let (left_file, right_file) = (scratch("mixed_left.rgba"), scratch("mixed_right.rgba"));
    std::fs::write(&left_file, &left).expect("write");
    std::fs::write(&right_file, &right).expect("write");
    let out = scratch("mixed-out.rgba");
    let sterefo = "sterefo name=s focus-mode=disparity focus-disparity=20 max-disparity=32";
    let run_with = |right_convert: &str| {
        run_pipeline(
            &format!(
                "{sterefo} ! video/x-raw,format=RGBA ! filesink location={o} {l} ! s.sink_left {r} ! {right_convert} ! s.sink_right",
                o = out.display(),
                l = raw_source(&left_file, "rgba"),
                r = raw_source(&right_file, "rgba"),
            ),
            &out,
        )
    };
    // the right view as I420, against the same pictures (through I420 and back) as RGBA
    let same = run_with(&through("I420"));
    let mixed = run_with(&convert("I420"));
    let difference = differences(&same, &mixed);
    println!("RGBA + I420 against RGBA + RGBA: {difference}");
    assert!(difference.mean <= 1.0, "{difference}");
}
