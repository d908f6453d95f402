//! The `refocus` element: gst-check harness tests and whole pipelines, each under a timeout.

#[path = "common/pipeline.rs"]
mod pipeline;

use pipeline::{feed, init, run};

#[path = "common/png_io.rs"]
mod png_io;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use gst::prelude::*;
use gststerefo::dof::{Highlights, Light, Params, Shape, Transfer, reference};

fn rgba_caps(width: i32, height: i32) -> gst::Caps {
    gst_video::VideoCapsBuilder::new()
        .format(gst_video::VideoFormat::Rgba)
        .width(width)
        .height(height)
        .framerate(gst::Fraction::new(25, 1))
        .build()
}

fn gray16_caps(width: i32, height: i32) -> gst::Caps {
    gst_video::VideoCapsBuilder::new()
        .format(gst_video::VideoFormat::Gray16Le)
        .width(width)
        .height(height)
        .framerate(gst::Fraction::new(25, 1))
        .build()
}

fn timed(data: Vec<u8>, frame: u64) -> gst::Buffer {
    let mut buffer = gst::Buffer::from_mut_slice(data);
    {
        let buffer = buffer.get_mut().expect("new buffer");
        buffer.set_pts(gst::ClockTime::from_mseconds(40 * frame));
        buffer.set_duration(gst::ClockTime::from_mseconds(40));
    }
    buffer
}

/// GRAY16_LE rows of the scene's width, each padded to GStreamer's 4-byte row stride.
fn disparity_bytes(disparity: &[f32]) -> Vec<u8> {
    let (width, _, _, _) = scene();
    let stride = (width * 2).next_multiple_of(4);
    disparity
        .chunks(width)
        .flat_map(|row| {
            let mut bytes: Vec<u8> = row
                .iter()
                .flat_map(|d| ((d * 256.0).round() as u16).to_le_bytes())
                .collect();
            bytes.resize(stride, 0);
            bytes
        })
        .collect()
}

/// A 33x20 scene (odd width: row strides are padded to 4 bytes in GRAY16) with a near
/// square on a far background.
fn scene() -> (usize, usize, Vec<u8>, Vec<f32>) {
    let (w, h) = (33usize, 20usize);
    let image = (0..w * h)
        .flat_map(|p| {
            [
                (p * 7 % 256) as u8,
                (p * 13 % 256) as u8,
                (p % 97) as u8,
                255,
            ]
        })
        .collect();
    let disparity = (0..w * h)
        .map(|p| {
            if (8..20).contains(&(p % w)) && (5..15).contains(&(p / w)) {
                24.0
            } else {
                4.0
            }
        })
        .collect();
    (w, h, image, disparity)
}

/// The renderer's parameters of `element(0.5, focus, 0)`.
fn exact(focus: f32) -> Params {
    Params {
        aperture: 0.5,
        focus_disparity: focus,
        max_disparity: 32.0,
        max_kernel: 0,
        ..Default::default()
    }
}

fn element(aperture: f32, focus: f32, max_kernel: u32) -> gst::Element {
    gst::ElementFactory::make("refocus")
        .property("aperture", aperture)
        .property("focus-disparity", focus)
        .property("max-disparity", 32.0f32)
        .property("max-kernel", max_kernel)
        .build()
        .expect("refocus element")
}

/// Harnesses on the element's pads: `colour` feeds `sink` and reads `src`, `disparity`
/// feeds `sink_disparity`. Aggregator sink pads block in `push` until their frame is
/// consumed, so the disparity input is fed from its own thread (see [`feed`]).
fn harnesses(
    element: &gst::Element,
    width: usize,
    height: usize,
) -> (gst_check::Harness, gst_check::Harness) {
    element.set_bus(Some(&gst::Bus::new()));
    let mut colour = gst_check::Harness::with_element(element, Some("sink"), Some("src"));
    let mut disparity = gst_check::Harness::with_element(element, Some("sink_disparity"), None);
    // Non-live: the aggregator waits for both inputs instead of for the harness's test clock.
    colour.set_live(false);
    disparity.set_live(false);
    colour.set_src_caps(rgba_caps(width as i32, height as i32));
    disparity.set_src_caps(gray16_caps(width as i32, height as i32));
    (colour, disparity)
}

fn assert_matches_oracle(
    buffer: &gst::Buffer,
    image: &[u8],
    disparity: &[f32],
    w: usize,
    h: usize,
    params: &Params,
) {
    let expected = reference::refocus(image, disparity, w, h, params);
    let map = buffer.map_readable().expect("readable");
    let worst = pipeline::worst_difference(&map, &expected);
    assert!(worst <= 1, "{params:?}: worst difference {worst}");
    assert_ne!(&map[..], image, "a defocused scene must change");
}

/// Feeds the scene to `refocus` frame by frame, setting each frame's `properties` first
/// (a change while playing applies from the next frame on), and checks each output against
/// the oracle with that frame's parameters.
fn frames_match_the_oracle(
    refocus: &gst::Element,
    frames: Vec<(Vec<(&str, gst::glib::Value)>, Params)>,
) {
    let (w, h, image, disparity) = scene();
    let (mut colour, depth) = harnesses(refocus, w, h);
    let depth = feed(
        depth,
        (0..frames.len() as u64)
            .map(|f| timed(disparity_bytes(&disparity), f))
            .collect(),
    );
    for (frame, (properties, params)) in frames.into_iter().enumerate() {
        for (name, value) in properties {
            refocus.set_property_from_value(name, &value);
        }
        colour
            .push(timed(image.clone(), frame as u64))
            .expect("push colour");
        let output = colour.pull().expect("refocused frame");
        assert_eq!(
            output.pts(),
            Some(gst::ClockTime::from_mseconds(40 * frame as u64))
        );
        assert_matches_oracle(&output, &image, &disparity, w, h, &params);
    }
    colour.push_event(gst::event::Eos::new());
    depth.join().expect("feeder");
}

#[test]
fn harness_output_matches_the_oracle_frame_by_frame() {
    init();
    let frames =
        [24.0f32, 4.0].map(|focus| (vec![("focus-disparity", focus.to_value())], exact(focus)));
    frames_match_the_oracle(&element(0.5, 24.0, 0), frames.into());
}

/// `linear-light` and the highlights boost, switched while playing: each frame as the oracle
/// refocuses it in linear light of the caps' transfer (sRGB, RGB video's default).
#[test]
fn linear_light_matches_the_oracle() {
    init();
    let boosted = Highlights {
        threshold: 0.5,
        gain: 8.0,
    };
    let frames = [(Highlights::NONE, true), (boosted, true), (boosted, false)].map(
        |(highlights, linear)| {
            let properties = vec![
                ("linear-light", linear.to_value()),
                ("highlight-threshold", highlights.threshold.to_value()),
                ("highlight-gain", highlights.gain.to_value()),
            ];
            let light = if linear {
                Light::Linear {
                    transfer: Transfer::Srgb,
                    highlights,
                }
            } else {
                Light::Encoded
            };
            (
                properties,
                Params {
                    light,
                    ..exact(24.0)
                },
            )
        },
    );
    frames_match_the_oracle(&element(0.5, 24.0, 0), frames.into());
}

/// `blades` and `blade-rotation`, changed while playing: each frame as the oracle refocuses
/// it with that iris.
#[test]
fn blades_match_the_oracle() {
    init();
    let frames = [(5u32, 0.0f32), (6, 20.0), (0, 0.0)].map(|(blades, rotation)| {
        let properties = vec![
            ("blades", blades.to_value()),
            ("blade-rotation", rotation.to_value()),
        ];
        let shape = match blades {
            0 => Shape::Disc,
            blades => Shape::Blades { blades, rotation },
        };
        (
            properties,
            Params {
                shape,
                ..exact(24.0)
            },
        )
    });
    frames_match_the_oracle(&element(0.5, 24.0, 0), frames.into());
}

#[test]
fn harness_pairs_by_running_time_and_drops_unpartnered_frames() {
    init();
    let (w, h, image, disparity) = scene();
    let refocus = element(0.25, 4.0, 11);
    let (mut colour, depth) = harnesses(&refocus, w, h);
    // Disparity frame 1 is missing: colour frame 1 has no partner and must be dropped,
    // never paired with disparity frame 2 by arrival order.
    let depth = feed(
        depth,
        [0, 2]
            .into_iter()
            .map(|f| timed(disparity_bytes(&disparity), f))
            .collect(),
    );
    for frame in 0..3 {
        colour
            .push(timed(image.clone(), frame))
            .expect("push colour");
    }
    colour.push_event(gst::event::Eos::new());
    let first = colour.pull().expect("pair 0");
    let second = colour.pull().expect("pair 2");
    depth.join().expect("feeder");
    assert_eq!(first.pts(), Some(gst::ClockTime::ZERO));
    assert_eq!(second.pts(), Some(gst::ClockTime::from_mseconds(80)));
    assert_eq!(
        colour.buffers_in_queue(),
        0,
        "the unpartnered frame must not come out"
    );
}

#[test]
fn motorcycle_pipeline_matches_the_oracle() {
    init();
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/data/motorcycle");
    let image = png_io::read_rgba(format!("{dir}/left.png"))
        .expect("data/motorcycle missing: run scripts/setup.sh (or scripts/make_test_data.py)");
    let (_, _, disparity) =
        png_io::read_disparity(format!("{dir}/disparity_filled.png")).expect("disparity");
    let out = std::env::temp_dir().join(format!("sterefo-motorcycle-{}.rgba", std::process::id()));
    let pipeline = gst::parse::launch(&format!(
        "refocus name=r aperture=0.25 focus-disparity=45 max-disparity=64 max-kernel=0 \
           ! filesink location={out} \
         filesrc location={dir}/left.png ! pngdec ! videoconvert ! video/x-raw,format=RGBA ! r.sink \
         filesrc location={dir}/disparity_filled.png ! pngdec ! videoconvert ! video/x-raw,format=GRAY16_LE ! r.sink_disparity",
        out = out.display()
    ))
    .expect("pipeline");
    run(&pipeline, Duration::from_secs(120)).expect("pipeline runs to EOS");
    let actual = std::fs::read(&out).expect("output file");
    let _ = std::fs::remove_file(&out);
    let params = Params {
        aperture: 0.25,
        focus_disparity: 45.0,
        max_disparity: 64.0,
        max_kernel: 0,
        ..Default::default()
    };
    let expected = reference::refocus(&image.data, &disparity, image.width, image.height, &params);
    assert_eq!(actual.len(), expected.len());
    let worst = pipeline::worst_difference(&actual, &expected);
    assert!(worst <= 1, "worst difference {worst}");
}

fn videotestsrc_pipeline(colour: &str, disparity: &str, properties: &str) -> gst::Element {
    gst::parse::launch(&format!(
        "refocus name=r {properties} ! fakesink \
         videotestsrc num-buffers=3 ! {colour} ! r.sink \
         videotestsrc num-buffers=3 pattern=gradient ! {disparity} ! r.sink_disparity"
    ))
    .expect("pipeline")
}

#[test]
fn mismatched_sizes_are_a_clear_error() {
    init();
    let pipeline = videotestsrc_pipeline(
        "video/x-raw,format=RGBA,width=64,height=48",
        "video/x-raw,format=GRAY16_LE,width=32,height=48",
        "",
    );
    let error = run(&pipeline, Duration::from_secs(30)).expect_err("must fail");
    assert!(
        error.contains("64x48") && error.contains("32x48"),
        "{error}"
    );
}

#[test]
fn wrong_disparity_format_is_refused_at_link_time() {
    init();
    let error = gst::parse::launch(
        "refocus name=r ! fakesink videotestsrc ! video/x-raw,format=RGBA ! r.sink \
         videotestsrc ! video/x-raw,format=GRAY8 ! r.sink_disparity",
    )
    .expect_err("GRAY8 disparity must not link");
    // (GRAY8 is a colour format the sink pad takes: the parser's message names the caps)
    let error = error.to_string();
    assert!(
        error.contains("GRAY8") || error.contains("can't handle caps"),
        "{error}"
    );
}

#[test]
fn inverted_disparity_range_is_a_clear_error() {
    init();
    let pipeline = videotestsrc_pipeline(
        "video/x-raw,format=BGRx,width=64,height=48",
        "video/x-raw,format=GRAY16_LE,width=64,height=48",
        "min-disparity=50 max-disparity=10",
    );
    let error = run(&pipeline, Duration::from_secs(30)).expect_err("must fail");
    assert!(error.contains("min-disparity"), "{error}");
}

/// `foreground-fill`, switched while playing, focus behind the box and on it: each frame
/// as the oracle refocuses it with the hidden layer taken from the surrounding background
/// (`refocus` has no right view).
#[test]
fn foreground_fill_matches_the_oracle() {
    init();
    let frames = [(true, 4.0f32), (true, 24.0), (false, 4.0)].map(|(fill, focus)| {
        let properties = vec![
            ("foreground-fill", fill.to_value()),
            ("focus-disparity", focus.to_value()),
        ];
        let params = Params {
            fill_hidden: fill,
            ..exact(focus)
        };
        (properties, params)
    });
    // The fill changes these frames (else this test would not see it ignored).
    let (w, h, image, disparity) = scene();
    let filled = reference::refocus(&image, &disparity, w, h, &frames[0].1);
    let plain = reference::refocus(&image, &disparity, w, h, &frames[2].1);
    assert!(pipeline::worst_difference(&filled, &plain) > 8);
    frames_match_the_oracle(&element(0.5, 24.0, 0), frames.into());
}

#[test]
fn two_blades_are_a_clear_error() {
    init();
    let pipeline = videotestsrc_pipeline(
        "video/x-raw,format=BGRx,width=64,height=48",
        "video/x-raw,format=GRAY16_LE,width=64,height=48",
        "blades=2",
    );
    let error = run(&pipeline, Duration::from_secs(30)).expect_err("must fail");
    assert!(
        error.contains("blades 2") && error.contains("3..=16"),
        "{error}"
    );
}

#[test]
fn early_eos_on_one_input_ends_the_stream() {
    init();
    let pipeline = gst::parse::launch(
        "refocus name=r ! fakesink name=sink \
         videotestsrc num-buffers=10 ! video/x-raw,format=RGBx,width=32,height=24,framerate=25/1 ! r.sink \
         videotestsrc num-buffers=2 ! video/x-raw,format=GRAY16_LE,width=32,height=24,framerate=25/1 ! r.sink_disparity",
    )
    .expect("pipeline");
    let times = pipeline::timestamps_at(&pipeline, "sink");
    run(&pipeline, Duration::from_secs(30)).expect("EOS after the last pair");
    // the two complete pairs, and nothing after the disparity input ended
    assert_eq!(*times.lock().unwrap(), [Some(0), Some(40)]);
}

#[test]
fn an_unlinked_input_is_a_clear_error_not_a_hang() {
    init();
    let pipeline = gst::parse::launch(
        "videotestsrc num-buffers=500 ! video/x-raw,format=RGBA,width=64,height=32 ! r.sink \
         refocus name=r ! fakesink",
    )
    .expect("pipeline");
    let error = run(&pipeline, Duration::from_secs(30)).expect_err("must fail");
    assert!(error.contains("sink_disparity is not linked"), "{error}");
}

#[test]
fn padded_colour_rows_match_the_oracle() {
    init();
    let (w, h, image, disparity) = scene();
    let refocus = element(0.5, 24.0, 0);
    let (mut colour, depth) = harnesses(&refocus, w, h);
    let depth = feed(depth, vec![timed(disparity_bytes(&disparity), 0)]);
    // Rows 40 bytes longer than the pixels, described by a GstVideoMeta.
    let buffer = pipeline::padded_rgba(&image, w, h, 40, |bytes| timed(bytes, 0));
    colour.push(buffer).expect("push colour");
    let output = colour.pull().expect("refocused frame");
    assert_matches_oracle(&output, &image, &disparity, w, h, &exact(24.0));
    colour.push_event(gst::event::Eos::new());
    depth.join().expect("feeder");
}

/// Output timestamps are the inputs' running times in the output segment, as GStreamer's
/// aggregators give them: two 3-frame clips joined by `concat` (whose second segment
/// starts over at PTS 0 with a later base) come out at 0, 40, ... 200 ms, in order, not
/// 0, 40, 80, 0, 40, 80.
#[test]
fn output_timestamps_follow_running_time_across_concat() {
    init();
    let clip = |pattern: &str, format: &str| {
        format!(
            "videotestsrc num-buffers=3 pattern={pattern} ! video/x-raw,format={format},width=32,height=24,framerate=25/1"
        )
    };
    let pipeline = gst::parse::launch(&format!(
        "refocus name=r max-kernel=0 ! fakesink name=sink sync=false \
         concat name=colour ! r.sink  concat name=disparity ! r.sink_disparity \
         {a} ! colour.  {b} ! colour.  {c} ! disparity.  {d} ! disparity.",
        a = clip("ball", "RGBA"),
        b = clip("snow", "RGBA"),
        c = clip("black", "GRAY16_LE"),
        d = clip("black", "GRAY16_LE"),
    ))
    .expect("pipeline");
    let times = pipeline::timestamps_at(&pipeline, "sink");
    run(&pipeline, Duration::from_secs(60)).expect("runs to EOS");
    let times = times.lock().unwrap().clone();
    assert_eq!(times, [0, 40, 80, 120, 160, 200].map(Some));
}

/// The colour pad's caps query answers with what downstream takes, so that an upstream
/// `videoconvert` converts to the format a capsfilter after `refocus` asks for (BGRx here),
/// as it would into `compositor`: the pipeline runs, and the output is BGRx.
#[test]
fn an_upstream_converter_is_told_the_format_downstream_takes() {
    init();
    let pipeline = gst::parse::launch(
        "videotestsrc num-buffers=2 ! video/x-raw,width=32,height=24 ! videoconvert ! r.sink \
         videotestsrc num-buffers=2 pattern=black ! video/x-raw,format=GRAY16_LE,width=32,height=24 ! r.sink_disparity \
         refocus name=r ! video/x-raw,format=BGRx ! fakesink name=sink",
    )
    .expect("pipeline");
    let formats = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&formats);
    pipeline::sink_pad(&pipeline, "sink").add_probe(gst::PadProbeType::BUFFER, move |pad, _| {
        let caps = pad.current_caps().expect("caps before buffers");
        seen.lock().unwrap().push(
            gst_video::VideoInfo::from_caps(&caps)
                .expect("video caps")
                .format(),
        );
        gst::PadProbeReturn::Ok
    });
    run(&pipeline, Duration::from_secs(60)).expect("negotiates and runs to EOS");
    assert_eq!(*formats.lock().unwrap(), [gst_video::VideoFormat::Bgrx; 2]);
}

/// Live mode, on a test clock: when one input stalls, the frame waiting on the other is
/// dropped at its deadline (its running time plus the latency; the element's `next_time`)
/// instead of stalling the output for ever, and the next complete pair comes out. The
/// element reports itself live with its latency.
#[test]
fn live_a_stalled_input_drops_the_waiting_frame_at_the_deadline() {
    init();
    let (w, h, image, disparity) = scene();
    let refocus = element(0.5, 8.0, 0);
    refocus.set_bus(Some(&gst::Bus::new()));
    let mut colour = gst_check::Harness::with_element(&refocus, Some("sink"), Some("src"));
    let mut depth = gst_check::Harness::with_element(&refocus, Some("sink_disparity"), None);
    colour.use_testclock(); // both harnesses are live (their default)
    colour.set_src_caps(rgba_caps(w as i32, h as i32));
    depth.set_src_caps(gray16_caps(w as i32, h as i32));
    let clock = colour.testclock().expect("test clock");
    // frame 0 of the colour input; its disparity never comes
    colour.push(timed(image.clone(), 0)).expect("push colour 0");
    let waited = (0..1000).any(|_| {
        std::thread::sleep(Duration::from_millis(10));
        clock.peek_next_pending_id().is_some()
    });
    assert!(
        waited,
        "the element does not wait on the clock for a deadline (no next_time)"
    );
    clock.crank();
    // the next complete pair
    let depth = feed(depth, vec![timed(disparity_bytes(&disparity), 1)]);
    colour.push(timed(image.clone(), 1)).expect("push colour 1");
    let out = colour.pull().expect("the next pair comes out");
    assert_eq!(
        out.pts(),
        Some(gst::ClockTime::from_mseconds(40)),
        "frame 0 was not dropped"
    );
    let mut latency = gst::query::Latency::new();
    assert!(refocus.static_pad("src").expect("src").query(&mut latency));
    let (live, _, _) = latency.result();
    assert!(live, "not reported live");
    drop(colour);
    depth.join().expect("disparity feeder");
}

/// A gap event on one input (no frame at that time) makes no output frame and no error;
/// the next complete pair comes out.
#[test]
fn a_gap_on_one_input_skips_that_time() {
    init();
    let (w, h, image, disparity) = scene();
    let refocus = element(0.5, 8.0, 0);
    let (mut colour, mut depth) = harnesses(&refocus, w, h);
    depth.push_event(
        gst::event::Gap::builder(gst::ClockTime::ZERO)
            .duration(gst::ClockTime::from_mseconds(40))
            .build(),
    );
    let depth = feed(depth, vec![timed(disparity_bytes(&disparity), 1)]);
    colour.push(timed(image.clone(), 0)).expect("push colour 0");
    colour.push(timed(image.clone(), 1)).expect("push colour 1");
    colour.push_event(gst::event::Eos::new());
    let out = colour.pull().expect("the pair at 40 ms comes out");
    assert_eq!(out.pts(), Some(gst::ClockTime::from_mseconds(40)));
    depth.join().expect("disparity feeder");
    let errors: Vec<_> = std::iter::from_fn(|| refocus.bus().and_then(|b| b.pop()))
        .filter(|m| matches!(m.view(), gst::MessageView::Error(_)))
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
}
