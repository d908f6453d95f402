//! `sterefo` on one stream that packs both views (side by side, top-bottom; from multiview
//! caps or the `stereo-layout` property): the same output as the two views as two streams,
//! at one view's size, and clear errors for frames it cannot split. Every pipeline under a
//! timeout.

#[path = "common/pipeline.rs"]
mod pipeline;

#[path = "common/stereo_scene.rs"]
mod stereo_scene;

use std::time::Duration;

use gst::prelude::*;
use gst_video::{VideoMultiviewFlags, VideoMultiviewMode};
use pipeline::{feed, init, run};
use stereo_scene::Layer;

const WIDTH: usize = 160;
const HEIGHT: usize = 96;
const BOX: Layer = stereo_scene::TEST_BOX;

fn caps(
    width: usize,
    height: usize,
    mode: VideoMultiviewMode,
    flags: VideoMultiviewFlags,
) -> gst::Caps {
    gst_video::VideoInfo::builder(gst_video::VideoFormat::Rgba, width as u32, height as u32)
        .fps(gst::Fraction::new(25, 1))
        .multiview_mode(mode)
        .multiview_flags(flags)
        .build()
        .expect("video info")
        .to_caps()
        .expect("caps")
}

fn frame(data: Vec<u8>) -> gst::Buffer {
    let mut buffer = gst::Buffer::from_mut_slice(data);
    let b = buffer.get_mut().expect("new buffer");
    b.set_pts(gst::ClockTime::ZERO);
    b.set_duration(gst::ClockTime::from_mseconds(40));
    buffer
}

fn element(output: &str, layout: &str) -> gst::Element {
    let element = gst::ElementFactory::make("sterefo")
        .property("focus-smoothing", 0.0f64)
        .property("max-disparity", 48.0f32)
        .property("focus-disparity", 20.0f32)
        .property("max-kernel", 0u32)
        .build()
        .expect("sterefo element");
    element.set_property_from_str("focus-mode", "disparity");
    element.set_property_from_str("output", output);
    element.set_property_from_str("stereo-layout", layout);
    element.set_bus(Some(&gst::Bus::new()));
    element
}

fn side_by_side(left: &[u8], right: &[u8]) -> Vec<u8> {
    left.chunks_exact(WIDTH * 4)
        .zip(right.chunks_exact(WIDTH * 4))
        .flat_map(|(l, r)| l.iter().chain(r).copied())
        .collect()
}

/// The output frame and its caps for the views as two streams.
fn two_streams(output: &str, left: &[u8], right: &[u8]) -> (Vec<u8>, gst_video::VideoInfo) {
    let sterefo = element(output, "auto");
    let mono = || {
        caps(
            WIDTH,
            HEIGHT,
            VideoMultiviewMode::Mono,
            VideoMultiviewFlags::empty(),
        )
    };
    let mut left_harness =
        gst_check::Harness::with_element(&sterefo, Some("sink_left"), Some("src"));
    let mut right_harness = gst_check::Harness::with_element(&sterefo, Some("sink_right"), None);
    left_harness.set_live(false);
    right_harness.set_live(false);
    left_harness.set_src_caps(mono());
    right_harness.set_src_caps(mono());
    let right_thread = feed(right_harness, vec![frame(right.to_vec())]);
    left_harness.push(frame(left.to_vec())).expect("push left");
    let out = pull(&mut left_harness, &sterefo);
    left_harness.push_event(gst::event::Eos::new());
    drop(right_thread.join());
    out
}

/// The output frame and its caps for one packed frame on sink_left alone.
fn packed(
    output: &str,
    layout: &str,
    data: Vec<u8>,
    caps: gst::Caps,
) -> (Vec<u8>, gst_video::VideoInfo) {
    let sterefo = element(output, layout);
    let mut harness = gst_check::Harness::with_element(&sterefo, Some("sink_left"), Some("src"));
    harness.set_live(false);
    harness.set_src_caps(caps);
    harness.push(frame(data)).expect("push the packed frame");
    let out = pull(&mut harness, &sterefo);
    harness.push_event(gst::event::Eos::new());
    out
}

fn pull(
    harness: &mut gst_check::Harness,
    element: &gst::Element,
) -> (Vec<u8>, gst_video::VideoInfo) {
    let buffer = harness.pull().unwrap_or_else(|_| {
        let bus = element.bus().expect("bus");
        let errors: Vec<_> = std::iter::from_fn(|| bus.pop())
            .map(|m| format!("{m:?}"))
            .collect();
        panic!("no output frame; messages {errors:?}")
    });
    let caps = harness
        .sinkpad()
        .and_then(|p| p.current_caps())
        .expect("output caps");
    let info = gst_video::VideoInfo::from_caps(&caps).expect("video caps");
    (buffer.map_readable().expect("readable").to_vec(), info)
}

#[test]
fn packed_frames_give_what_two_streams_of_the_same_views_give() {
    init();
    let (left, right, _) = stereo_scene::render(WIDTH, HEIGHT, 8.0, &[BOX]);
    let none = VideoMultiviewFlags::empty();
    for output in ["refocused", "disparity"] {
        let (expected, expected_info) = two_streams(output, &left, &right);
        let cases = [
            (
                "side-by-side caps",
                "auto",
                side_by_side(&left, &right),
                caps(2 * WIDTH, HEIGHT, VideoMultiviewMode::SideBySide, none),
            ),
            (
                "side-by-side caps, right view first",
                "auto",
                side_by_side(&right, &left),
                caps(
                    2 * WIDTH,
                    HEIGHT,
                    VideoMultiviewMode::SideBySide,
                    VideoMultiviewFlags::RIGHT_VIEW_FIRST,
                ),
            ),
            (
                "top-bottom caps",
                "auto",
                [left.as_slice(), right.as_slice()].concat(),
                caps(WIDTH, 2 * HEIGHT, VideoMultiviewMode::TopBottom, none),
            ),
            (
                "stereo-layout=top-bottom, plain caps",
                "top-bottom",
                [left.as_slice(), right.as_slice()].concat(),
                caps(WIDTH, 2 * HEIGHT, VideoMultiviewMode::None, none),
            ),
            (
                "stereo-layout=side-by-side, plain caps",
                "side-by-side",
                side_by_side(&left, &right),
                caps(2 * WIDTH, HEIGHT, VideoMultiviewMode::Mono, none),
            ),
        ];
        for (what, layout, data, caps) in cases {
            let (out, info) = packed(output, layout, data, caps);
            assert_eq!(
                (info.width() as usize, info.height() as usize, info.format()),
                (WIDTH, HEIGHT, expected_info.format()),
                "{output}, {what}: one view's size"
            );
            assert_eq!(info.par(), gst::Fraction::new(1, 1), "{output}, {what}");
            assert!(
                out == expected,
                "{output}, {what}: differs from two streams"
            );
        }
    }
}

#[test]
fn half_aspect_views_come_out_with_the_pixel_aspect_ratio_that_stretches_them_back() {
    init();
    let (left, right, _) = stereo_scene::render(WIDTH, HEIGHT, 8.0, &[BOX]);
    let half = VideoMultiviewFlags::HALF_ASPECT;
    let (_, info) = packed(
        "refocused",
        "auto",
        side_by_side(&left, &right),
        caps(2 * WIDTH, HEIGHT, VideoMultiviewMode::SideBySide, half),
    );
    assert_eq!(
        (info.width() as usize, info.par()),
        (WIDTH, gst::Fraction::new(2, 1))
    );
    let (_, info) = packed(
        "disparity",
        "auto",
        [left.as_slice(), right.as_slice()].concat(),
        caps(WIDTH, 2 * HEIGHT, VideoMultiviewMode::TopBottom, half),
    );
    assert_eq!(
        (info.height() as usize, info.par()),
        (HEIGHT, gst::Fraction::new(1, 2))
    );
    assert_eq!(
        info.multiview_mode(),
        VideoMultiviewMode::None,
        "the output is one view"
    );
}

/// The `gst-launch-1.0` line README shows for a packed source, on test patterns.
#[test]
fn one_source_packing_both_views_runs_in_a_launch_line() {
    init();
    let pipeline = gst::parse::launch(
        "videotestsrc num-buffers=3 pattern=ball ! video/x-raw,format=RGBA,width=320,height=96 \
         ! sterefo stereo-layout=side-by-side ! video/x-raw,width=160,height=96 ! fakesink name=sink",
    )
    .expect("pipeline");
    let count = pipeline::count_buffers(&pipeline, "sink");
    run(&pipeline, Duration::from_secs(60)).expect("runs to EOS");
    assert_eq!(count.load(std::sync::atomic::Ordering::SeqCst), 3);
}

#[test]
fn frames_it_cannot_unpack_are_clear_errors_not_hangs() {
    init();
    let cases = [
        (
            "videotestsrc num-buffers=3 ! video/x-raw,format=RGBA,width=321,height=96 \
             ! sterefo stereo-layout=side-by-side ! fakesink",
            "a side-by-side frame of 321x96 does not split into two views of one size (it needs an even width)",
        ),
        (
            "videotestsrc num-buffers=3 ! video/x-raw,format=RGBA,width=320,height=97 \
             ! sterefo stereo-layout=top-bottom ! fakesink",
            "needs an even height",
        ),
        (
            "videotestsrc num-buffers=3 ! video/x-raw,format=RGBA,width=320,height=96 \
             ! capssetter caps=video/x-raw,multiview-mode=checkerboard ! sterefo ! fakesink",
            "multiview-mode=checkerboard is not a packing sterefo takes",
        ),
        (
            "videotestsrc num-buffers=3 ! video/x-raw,format=RGBA,width=320,height=96 \
             ! capssetter caps=video/x-raw,multiview-mode=frame-by-frame ! sterefo ! fakesink",
            "multiview-mode=frame-by-frame is not a packing sterefo takes",
        ),
        (
            "sterefo name=s stereo-layout=side-by-side ! fakesink \
             videotestsrc num-buffers=3 ! video/x-raw,format=RGBA,width=320,height=96 ! s.sink_left \
             videotestsrc num-buffers=3 ! video/x-raw,format=RGBA,width=320,height=96 ! s.sink_right",
            "sink_left carries both views in one frame, and sink_right is linked too",
        ),
    ];
    for (launch, expected) in cases {
        let pipeline = gst::parse::launch(launch).expect("pipeline");
        let error = pipeline::error_message(&pipeline, Duration::from_secs(30));
        assert!(error.contains(expected), "{launch}:\n{error}");
    }
}

/// README's line for a USB stereo camera's side-by-side MJPEG, with test frames: 4:2:0 and
/// 4:2:2 JPEGs decoded straight into `sterefo`, no converter.
#[test]
fn side_by_side_mjpeg_runs_without_a_converter() {
    init();
    for format in ["I420", "Y42B"] {
        let pipeline = gst::parse::launch(&format!(
            "videotestsrc num-buffers=3 pattern=ball ! video/x-raw,format={format},width=320,height=96 \
             ! jpegenc ! jpegdec ! sterefo stereo-layout=side-by-side \
             ! video/x-raw,width=160,height=96 ! fakesink name=sink"
        ))
        .expect("pipeline");
        let count = pipeline::count_buffers(&pipeline, "sink");
        run(&pipeline, Duration::from_secs(60)).unwrap_or_else(|e| panic!("{format}: {e}"));
        assert_eq!(
            count.load(std::sync::atomic::Ordering::SeqCst),
            3,
            "{format}"
        );
    }
}

/// A decoder's output straight into `sterefo`: H.264 side-by-side frames decoded by
/// openh264 (I420), no converter between (README's line for a compressed stereo stream).
#[test]
fn a_decoded_side_by_side_stream_runs_without_a_converter() {
    init();
    let pipeline = gst::parse::launch(
        "videotestsrc num-buffers=5 pattern=ball ! video/x-raw,format=I420,width=320,height=96,framerate=25/1 \
         ! openh264enc ! h264parse ! openh264dec ! sterefo stereo-layout=side-by-side \
         ! video/x-raw,width=160,height=96 ! fakesink name=sink",
    )
    .expect("pipeline");
    let count = pipeline::count_buffers(&pipeline, "sink");
    run(&pipeline, Duration::from_secs(60)).expect("runs to EOS");
    assert_eq!(count.load(std::sync::atomic::Ordering::SeqCst), 5);
}
