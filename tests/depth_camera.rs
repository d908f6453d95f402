//! `refocus` fed by a depth camera: GRAY16_LE depth in millimetres with the camera's focal
//! length and baseline (or a scale) gives what the equivalent disparity gives; zero depth
//! is the nearest valid background; the focus as a distance; the errors for depth with no
//! scale. A synthetic depth video stands in for the camera. Every run under a timeout.

#[path = "common/pipeline.rs"]
mod pipeline;

use std::time::Duration;

use gst::prelude::*;
use pipeline::{feed, init};

const WIDTH: usize = 48;
const HEIGHT: usize = 32;
/// f = 500 px, B = 0.1 m: the box at 2.5 m is 20 px of disparity, the wall at 6.25 m 8 px.
const FOCAL: f64 = 500.0;
const BASELINE: f64 = 0.1;

fn caps(format: gst_video::VideoFormat) -> gst::Caps {
    gst_video::VideoCapsBuilder::new()
        .format(format)
        .width(WIDTH as i32)
        .height(HEIGHT as i32)
        .framerate(gst::Fraction::new(25, 1))
        .build()
}

fn buffer(data: Vec<u8>) -> gst::Buffer {
    let mut buffer = gst::Buffer::from_mut_slice(data);
    let b = buffer.get_mut().expect("new buffer");
    b.set_pts(gst::ClockTime::ZERO);
    b.set_duration(gst::ClockTime::from_mseconds(40));
    buffer
}

fn in_box(x: usize, y: usize) -> bool {
    (14..30).contains(&x) && (8..24).contains(&y)
}

fn colour() -> Vec<u8> {
    (0..WIDTH * HEIGHT)
        .flat_map(|p| {
            [
                (p * 7 % 256) as u8,
                (p * 13 % 256) as u8,
                (p % 97) as u8,
                255,
            ]
        })
        .collect()
}

/// GRAY16_LE rows (96 bytes: already a multiple of 4) of `value(x, y)`.
fn gray16(value: impl Fn(usize, usize) -> u16) -> Vec<u8> {
    (0..HEIGHT)
        .flat_map(|y| (0..WIDTH).map(move |x| (x, y)))
        .flat_map(|(x, y)| value(x, y).to_le_bytes())
        .collect()
}

fn refocus(properties: &[(&str, &str)], depth: Vec<u8>) -> Result<Vec<u8>, String> {
    let element = gst::ElementFactory::make("refocus")
        .property("aperture", 0.5f32)
        .property("max-disparity", 32.0f32)
        .property("max-kernel", 0u32)
        .build()
        .expect("refocus element");
    for (name, value) in properties {
        element.set_property_from_str(name, value);
    }
    element.set_bus(Some(&gst::Bus::new()));
    let mut colour_in = gst_check::Harness::with_element(&element, Some("sink"), Some("src"));
    let mut depth_in = gst_check::Harness::with_element(&element, Some("sink_disparity"), None);
    colour_in.set_live(false);
    depth_in.set_live(false);
    colour_in.set_src_caps(caps(gst_video::VideoFormat::Rgba));
    depth_in.set_src_caps(caps(gst_video::VideoFormat::Gray16Le));
    let depth_thread = feed(depth_in, vec![buffer(depth)]);
    let result = match colour_in.push(buffer(colour())) {
        Ok(_) => colour_in
            .pull()
            .map(|b| b.map_readable().expect("readable").to_vec())
            .map_err(|e| format!("{e:?}")),
        Err(e) => Err(format!("{e:?}")),
    };
    colour_in.push_event(gst::event::Eos::new());
    drop(depth_thread.join());
    let bus = element.bus().expect("bus");
    let errors: Vec<String> = std::iter::from_fn(|| bus.pop())
        .filter_map(|m| match m.view() {
            gst::MessageView::Error(e) => Some(e.error().message().to_string()),
            _ => None,
        })
        .collect();
    if errors.is_empty() {
        result
    } else {
        Err(errors.join("; "))
    }
}

/// Disparity x 256 of the scene: the box at 20 px on a wall at 8 px.
fn disparity_input() -> Vec<u8> {
    gray16(|x, y| if in_box(x, y) { 20 * 256 } else { 8 * 256 })
}

/// The same scene as a depth camera sees it, in millimetres, with holes (0) beside the box
/// where a second camera would not see: they are background.
fn depth_input(holes: bool) -> Vec<u8> {
    gray16(|x, y| {
        if in_box(x, y) {
            2500
        } else if holes && (30..34).contains(&x) && (8..24).contains(&y) {
            0
        } else {
            6250
        }
    })
}

#[test]
fn depth_in_millimetres_refocuses_like_the_equivalent_disparity() {
    init();
    let camera = [
        ("depth-input", "depth"),
        ("focal-length", "500"),
        ("baseline", "0.1"),
    ];
    let expected =
        refocus(&[("focus-disparity", "20")], disparity_input()).expect("disparity input");
    type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, Vec<u8>);
    let cases: [Case; 4] = [
        (
            "focal length and baseline",
            [&camera[..], &[("focus-disparity", "20")]].concat(),
            depth_input(false),
        ),
        (
            "zero depth beside the box",
            [&camera[..], &[("focus-disparity", "20")]].concat(),
            depth_input(true),
        ),
        (
            "a disparity-scale instead of the camera",
            vec![
                ("depth-input", "depth"),
                ("disparity-scale", "50000"),
                ("focus-disparity", "20"),
            ],
            depth_input(false),
        ),
        (
            "the focus as a distance (2.5 m)",
            [&camera[..], &[("focus-distance", "2.5")]].concat(),
            depth_input(false),
        ),
    ];
    for (what, properties, depth) in cases {
        let out = refocus(&properties, depth).unwrap_or_else(|e| panic!("{what}: {e}"));
        assert!(out == expected, "{what}: differs from the disparity input");
    }
    // and the picture is refocused: focus on the wall instead (6.25 m) changes it
    let wall = [&camera[..], &[("focus-distance", "6.25")]].concat();
    assert!(refocus(&wall, depth_input(false)).expect("focus on the wall") != expected);
    // the focus as a distance with a disparity input, from focal-length and baseline
    let on_disparity = [
        ("focal-length", "500"),
        ("baseline", "0.1"),
        ("focus-distance", "2.5"),
    ];
    assert!(refocus(&on_disparity, disparity_input()).expect("disparity input") == expected);
}

fn launch(properties: &str) -> gst::Element {
    gst::parse::launch(&format!(
        "refocus name=r {properties} ! video/x-raw,format=RGBA ! fakesink name=sink \
         videotestsrc num-buffers=5 pattern=ball ! video/x-raw,format=RGBA,width=64,height=48 ! r.sink \
         videotestsrc num-buffers=5 pattern=gradient ! video/x-raw,format=GRAY16_LE,width=64,height=48 ! r.sink_disparity"
    ))
    .expect("pipeline")
}

#[test]
fn depth_with_no_scale_is_a_clear_error() {
    init();
    let error = pipeline::error_message(&launch("depth-input=depth"), Duration::from_secs(30));
    assert!(
        error.contains("depth input needs the camera's focal-length (pixels) and baseline (metres), or a disparity-scale"),
        "{error}"
    );
    let error = pipeline::error_message(&launch("focus-distance=2"), Duration::from_secs(30));
    assert!(
        error.contains("focus-distance") && error.contains("focal-length"),
        "{error}"
    );
}

/// A depth camera pipeline as README shows it, with test sources standing in for the camera:
/// a GRAY16_LE depth video in millimetres and a colour video.
#[test]
fn a_depth_camera_pipeline_runs() {
    init();
    let pipeline = launch(&format!(
        "depth-input=depth focal-length={FOCAL} baseline={BASELINE} focus-distance=2.5"
    ));
    let count = pipeline::count_buffers(&pipeline, "sink");
    pipeline::run(&pipeline, Duration::from_secs(60)).expect("runs to EOS");
    assert_eq!(count.load(std::sync::atomic::Ordering::SeqCst), 5);
}
