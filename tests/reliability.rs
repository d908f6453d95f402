//! Reliability: state cycles, mid-stream renegotiation, extreme sizes, odd widths, property
//! changes from another thread, extreme and out-of-range values; each pipeline under a
//! timeout.

#[path = "common/pipeline.rs"]
mod pipeline;

use pipeline::{init, run};

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use gst::prelude::*;
use gst_video::prelude::*;

#[test]
fn a_hundred_null_playing_cycles() {
    init();
    for (element, cycles) in [("refocus", 100), ("sterefo", 100)] {
        let description = if element == "refocus" {
            "refocus name=e ! fakesink \
             videotestsrc num-buffers=2 ! video/x-raw,format=RGBA,width=32,height=24 ! e.sink \
             videotestsrc num-buffers=2 ! video/x-raw,format=GRAY16_LE,width=32,height=24 ! e.sink_disparity"
        } else {
            "sterefo name=e ! fakesink \
             videotestsrc num-buffers=2 ! video/x-raw,format=RGBA,width=32,height=24 ! e.sink_left \
             videotestsrc num-buffers=2 ! video/x-raw,format=RGBA,width=32,height=24 ! e.sink_right"
        };
        let pipeline = gst::parse::launch(description).expect("pipeline");
        for cycle in 0..cycles {
            run(&pipeline, Duration::from_secs(30))
                .unwrap_or_else(|e| panic!("{element} cycle {cycle}: {e}"));
        }
    }
}

#[test]
fn resolution_changes_mid_stream_are_followed() {
    init();
    // Both views come from one source through a tee, so they change size together.
    let pipeline = gst::parse::launch(
        "videotestsrc name=source num-buffers=12 pattern=ball ! videoscale ! capsfilter name=size \
           caps=video/x-raw,format=RGBA,width=64,height=48 ! tee name=t \
         t. ! queue ! s.sink_left  t. ! queue ! s.sink_right \
         sterefo name=s ! fakesink name=sink",
    )
    .expect("pipeline")
    .downcast::<gst::Pipeline>()
    .expect("a pipeline");
    let capsfilter = pipeline.by_name("size").expect("capsfilter");
    let sizes = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&sizes);
    let count = Arc::new(AtomicUsize::new(0));
    let frames = Arc::clone(&count);
    let source = pipeline.by_name("source").expect("source");
    // After 5 frames leave the source, switch it to a larger size.
    source
        .static_pad("src")
        .expect("src")
        .add_probe(gst::PadProbeType::BUFFER, move |_, _| {
            if frames.fetch_add(1, Ordering::SeqCst) == 5 {
                capsfilter.set_property(
                    "caps",
                    gst::Caps::builder("video/x-raw")
                        .field("format", "RGBA")
                        .field("width", 96)
                        .field("height", 64)
                        .build(),
                );
            }
            gst::PadProbeReturn::Ok
        });
    pipeline
        .by_name("sink")
        .expect("sink")
        .static_pad("sink")
        .expect("pad")
        .add_probe(gst::PadProbeType::BUFFER, move |pad, _| {
            if let Some(info) = pad
                .current_caps()
                .and_then(|c| gst_video::VideoInfo::from_caps(&c).ok())
            {
                seen.lock().unwrap().push((info.width(), info.height()));
            }
            gst::PadProbeReturn::Ok
        });
    run(pipeline.upcast_ref(), Duration::from_secs(60)).expect("runs to EOS through the change");
    let sizes = sizes.lock().unwrap();
    assert_eq!(sizes.len(), 12, "no frame lost: {sizes:?}");
    assert_eq!(sizes.first(), Some(&(64, 48)));
    assert_eq!(sizes.last(), Some(&(96, 64)));
}

#[test]
fn a_flushing_seek_restarts_both_inputs_and_ends_at_the_stop_position() {
    init();
    let pipeline = gst::parse::launch(
        "videotestsrc name=left ! video/x-raw,format=RGBA,width=48,height=32,framerate=25/1 ! s.sink_left \
         videotestsrc name=right pattern=ball ! video/x-raw,format=RGBA,width=48,height=32,framerate=25/1 ! s.sink_right \
         sterefo name=s focus-smoothing=0 ! fakesink name=sink sync=false",
    )
    .expect("pipeline");
    let times = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&times);
    let sink = pipeline
        .downcast_ref::<gst::Bin>()
        .unwrap()
        .by_name("sink")
        .expect("sink");
    sink.static_pad("sink")
        .expect("pad")
        .add_probe(gst::PadProbeType::BUFFER, move |_, info| {
            if let Some(pts) = info.buffer().and_then(|b| b.pts()) {
                seen.lock().unwrap().push(pts.mseconds());
            }
            gst::PadProbeReturn::Ok
        });
    pipeline.set_state(gst::State::Paused).expect("to PAUSED");
    let _ = pipeline.state(gst::ClockTime::from_seconds(30));
    // From 1 s to 1.4 s: ten frames at 25 fps, then EOS (the sources never end by themselves).
    // The flush drops whatever was prerolled before the seek.
    times.lock().unwrap().clear();
    pipeline
        .seek(
            1.0,
            gst::SeekFlags::FLUSH | gst::SeekFlags::ACCURATE,
            gst::SeekType::Set,
            gst::ClockTime::from_seconds(1),
            gst::SeekType::Set,
            gst::ClockTime::from_mseconds(1400),
        )
        .expect("seek");
    run(&pipeline, Duration::from_secs(60)).expect("EOS at the seek's stop position");
    let times = times.lock().unwrap();
    assert_eq!(times.first(), Some(&1000), "{times:?}");
    assert_eq!(times.len(), 10, "{times:?}");
}

/// Run in a child process by `no_gpu_adapter_is_a_clear_error` with wgpu limited to a
/// backend this machine does not have.
#[test]
#[ignore = "run by no_gpu_adapter_is_a_clear_error in a child process"]
fn child_refocus_without_an_adapter() {
    init();
    let pipeline = gst::parse::launch(
        "refocus name=r ! fakesink \
         videotestsrc num-buffers=2 ! video/x-raw,format=RGBA,width=32,height=24 ! r.sink \
         videotestsrc num-buffers=2 ! video/x-raw,format=GRAY16_LE,width=32,height=24 ! r.sink_disparity",
    )
    .expect("pipeline");
    let error = run(&pipeline, Duration::from_secs(30)).expect_err("must fail without an adapter");
    println!("ELEMENT ERROR: {error}");
}

#[test]
fn no_gpu_adapter_is_a_clear_error() {
    // wgpu reads WGPU_BACKEND once per process, so the check runs in a child process.
    let output = std::process::Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "--ignored",
            "--exact",
            "child_refocus_without_an_adapter",
            "--nocapture",
        ])
        .env("WGPU_BACKEND", "dx12")
        .output()
        .expect("child test");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "child failed: {stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("ELEMENT ERROR") && stdout.contains("no usable GPU adapter"),
        "{stdout}"
    );
}

#[test]
fn different_framerates_pair_by_time_and_end() {
    init();
    // 25 fps against 30 fps: only frames within half a frame (20 ms) of each other pair; the
    // rest are dropped, and the stream still ends. Colour frames come every 40 ms, disparity
    // frames every 33.3 ms: in each 200 ms the five colour frames pair with five of the six
    // disparity frames (the one 26.7 ms before a colour frame is dropped), so every colour
    // frame is refocused, at its own time.
    let pipeline = gst::parse::launch(
        "refocus name=r ! fakesink name=sink \
         videotestsrc num-buffers=25 ! video/x-raw,format=RGBA,width=32,height=24,framerate=25/1 ! r.sink \
         videotestsrc num-buffers=30 ! video/x-raw,format=GRAY16_LE,width=32,height=24,framerate=30/1 ! r.sink_disparity",
    )
    .expect("pipeline");
    let times = pipeline::timestamps_at(&pipeline, "sink");
    run(&pipeline, Duration::from_secs(60)).expect("EOS");
    let expected: Vec<_> = (0..25).map(|i| Some(40 * i)).collect();
    assert_eq!(*times.lock().unwrap(), expected);
}

/// Collects tight copies (no row padding) of the frames reaching the sink pad of `name`.
fn frames_at(pipeline: &gst::Element, name: &str) -> Arc<Mutex<Vec<Vec<u8>>>> {
    let frames = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&frames);
    pipeline::sink_pad(pipeline, name).add_probe(gst::PadProbeType::BUFFER, move |pad, probe| {
        let caps = pad.current_caps().expect("caps before buffers");
        let info = gst_video::VideoInfo::from_caps(&caps).expect("video caps");
        let buffer = probe.buffer().expect("a buffer");
        let frame = gst_video::VideoFrameRef::from_buffer_ref_readable(buffer, &info)
            .expect("map the frame");
        let row = info.width() as usize * info.comp_pstride(0) as usize;
        let stride = frame.plane_stride()[0] as usize;
        let data = frame.plane_data(0).expect("plane 0");
        let tight = (0..info.height() as usize)
            .flat_map(|y| &data[y * stride..y * stride + row])
            .copied()
            .collect();
        seen.lock().unwrap().push(tight);
        gst::PadProbeReturn::Ok
    });
    frames
}

/// `refocus` or `sterefo` on two `videotestsrc` inputs of one size and format.
fn two_input_pipeline(
    element: &str,
    properties: &str,
    width: u32,
    height: u32,
    frames: u32,
) -> gst::Element {
    let (first, second, second_format) = if element == "refocus" {
        ("sink", "sink_disparity", "GRAY16_LE")
    } else {
        ("sink_left", "sink_right", "RGBA")
    };
    gst::parse::launch(&format!(
        "{element} name=e {properties} ! fakesink name=sink \
         videotestsrc num-buffers={frames} ! video/x-raw,format=RGBA,width={width},height={height} ! e.{first} \
         videotestsrc num-buffers={frames} pattern=ball \
           ! video/x-raw,format={second_format},width={width},height={height} ! e.{second}"
    ))
    .expect("pipeline")
}

#[test]
fn one_pixel_and_very_long_frames_go_through_both_elements() {
    init();
    // Plain, and every option of the renderer at once.
    let options = [
        "",
        "foreground-fill=true linear-light=true highlight-gain=4 blades=5",
    ];
    for element in ["refocus", "sterefo"] {
        for (width, height) in [(1, 1), (16384, 16), (16, 16384)] {
            for properties in options {
                let pipeline = two_input_pipeline(element, properties, width, height, 2);
                let frames = pipeline::count_buffers(&pipeline, "sink");
                run(&pipeline, Duration::from_secs(60))
                    .unwrap_or_else(|e| panic!("{element} {properties} at {width}x{height}: {e}"));
                assert_eq!(
                    frames.load(Ordering::SeqCst),
                    2,
                    "{element} {properties} at {width}x{height}"
                );
            }
        }
    }
}

#[test]
fn a_frame_too_large_for_the_gpu_is_a_clear_error() {
    init();
    // 16384x2080: the colour image alone is 136 MB, more than the 128 MiB storage-buffer
    // binding of lavapipe, so no renderer can take it there. A GPU with larger bindings
    // may refocus it; either way no crash, hang or out-of-memory (about 1.5 GB here).
    let (width, height) = (16384u32, 2080u32);
    let limits = &gststerefo::gpu::GpuContext::shared()
        .expect("a wgpu adapter")
        .limits;
    let limit = limits
        .max_storage_buffer_binding_size
        .min(limits.max_buffer_size);
    let must_refuse = u64::from(width) * u64::from(height) * 4 > limit;
    // sterefo checks the size before running the network (working-scale keeps it cheap if not).
    for (element, properties) in [("refocus", ""), ("sterefo", "working-scale=0.1")] {
        let pipeline = two_input_pipeline(element, properties, width, height, 1);
        let sizes = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&sizes);
        pipeline::sink_pad(&pipeline, "sink").add_probe(
            gst::PadProbeType::BUFFER,
            move |pad, probe| {
                let info = pad
                    .current_caps()
                    .and_then(|c| gst_video::VideoInfo::from_caps(&c).ok());
                let size = probe.buffer().map(|b| b.size());
                seen.lock()
                    .unwrap()
                    .push((info.map(|i| (i.width(), i.height())), size));
                gst::PadProbeReturn::Ok
            },
        );
        match pipeline::run_until(&pipeline, Duration::from_secs(120)) {
            Ok(()) => {
                assert!(
                    !must_refuse,
                    "{element}: a frame larger than the GPU allows was accepted"
                );
                // where the GPU takes it: the one frame comes out whole
                assert_eq!(
                    *sizes.lock().unwrap(),
                    [(Some((width, height)), Some((width * height * 4) as usize))],
                    "{element}"
                );
            }
            Err(pipeline::Failure::Error { message, debug }) => {
                println!("{element}: {message} ({debug:?})");
                assert!(
                    message.contains("16384x2080") && message.contains("scale the video down"),
                    "{element}: {message}"
                );
            }
            Err(pipeline::Failure::Hung) => panic!("{element}: the pipeline hung"),
        }
    }
}

/// Odd widths: RGB rows (3 bytes a pixel) and GRAY16 rows are padded to 4 bytes in
/// GStreamer's buffers, so any stride mistake shears the image.
#[test]
fn odd_widths_through_refocus_match_the_oracle() {
    init();
    let height = 20;
    for width in [333usize, 1241] {
        let pipeline = gst::parse::launch(&format!(
            "videotestsrc num-buffers=1 pattern=snow ! video/x-raw,format=RGB,width={width},height={height} \
               ! videoconvert ! video/x-raw,format=RGBx ! tee name=colour \
             colour. ! queue ! r.sink  colour. ! queue ! fakesink name=colour_in \
             videotestsrc num-buffers=1 pattern=smpte ! video/x-raw,format=GRAY16_LE,width={width},height={height} \
               ! tee name=disparity \
             disparity. ! queue ! r.sink_disparity  disparity. ! queue ! fakesink name=disparity_in \
             refocus name=r aperture=0.05 focus-disparity=128 max-disparity=255.99 max-kernel=0 \
               ! fakesink name=out"
        ))
        .expect("pipeline");
        let colour = frames_at(&pipeline, "colour_in");
        let disparity = frames_at(&pipeline, "disparity_in");
        let output = frames_at(&pipeline, "out");
        run(&pipeline, Duration::from_secs(60)).expect("EOS");
        let (colour, disparity, output) = (
            &colour.lock().unwrap()[0],
            &disparity.lock().unwrap()[0],
            &output.lock().unwrap()[0],
        );
        let disparity: Vec<f32> = disparity
            .chunks_exact(2)
            .map(|b| f32::from(u16::from_le_bytes([b[0], b[1]])) / 256.0)
            .collect();
        let params = gststerefo::dof::Params {
            aperture: 0.05,
            focus_disparity: 128.0,
            min_disparity: 0.0,
            max_disparity: 255.99,
            max_kernel: 0,
            ..Default::default()
        };
        let expected =
            gststerefo::dof::reference::refocus(colour, &disparity, width, height, &params);
        assert_eq!(output.len(), expected.len(), "width {width}");
        // Exact mode: the oracle's tolerance (rounding of an f32 against an f64 sum).
        let worst = pipeline::worst_difference(output, &expected);
        assert!(worst <= 1, "width {width}: worst difference {worst}");
        assert_ne!(
            output, colour,
            "width {width}: a defocused frame must change"
        );
    }
}

/// sterefo at odd widths: a real stereo pair (one noise image cropped 8 px apart, so the
/// disparity is 8 px), through RGB -> RGBx; the disparity output (GRAY16, padded rows)
/// must equal the depth module's on the same frames, and the refocused output the oracle's
/// on that disparity.
#[test]
fn odd_widths_through_sterefo_match_the_depth_module_and_the_oracle() {
    init();
    let height = 48usize;
    let mut depth = gststerefo::depth::DepthEstimator::new(
        &gststerefo::depth::Model::Builtin,
        &gststerefo::depth::DepthOptions::default(),
    )
    .expect("the built-in model");
    for width in [333usize, 1241] {
        for output in ["disparity", "refocused"] {
            let pipeline = gst::parse::launch(&format!(
                "videotestsrc num-buffers=1 pattern=snow \
                   ! video/x-raw,format=RGB,width={source},height={height} ! tee name=t \
                 t. ! queue ! videocrop right=8 ! videoconvert ! video/x-raw,format=RGBx ! tee name=l \
                 l. ! queue ! s.sink_left  l. ! queue ! fakesink name=left_in \
                 t. ! queue ! videocrop left=8 ! videoconvert ! video/x-raw,format=RGBx ! tee name=r \
                 r. ! queue ! s.sink_right  r. ! queue ! fakesink name=right_in \
                 sterefo name=s output={output} focus-mode=disparity focus-disparity=8 \
                   aperture=0.5 max-disparity=32 max-kernel=0 ! fakesink name=out",
                source = width + 8
            ))
            .expect("pipeline");
            let left = frames_at(&pipeline, "left_in");
            let right = frames_at(&pipeline, "right_in");
            let out = frames_at(&pipeline, "out");
            run(&pipeline, Duration::from_secs(60)).expect("EOS");
            let (left, right, out) = (
                &left.lock().unwrap()[0],
                &right.lock().unwrap()[0],
                &out.lock().unwrap()[0],
            );
            let image = |data| {
                gststerefo::depth::StereoImage::packed(
                    data,
                    width,
                    height,
                    gststerefo::depth::ChannelOrder::Rgbx,
                )
            };
            let mut expected = Vec::new();
            depth
                .estimate(&image(left), &image(right), &mut expected)
                .expect("the depth module");
            if output == "disparity" {
                let actual: Vec<f32> = out
                    .chunks_exact(2)
                    .map(|b| f32::from(u16::from_le_bytes([b[0], b[1]])) / 256.0)
                    .collect();
                assert_eq!(actual.len(), expected.len());
                // The element writes the same network output, rounded to 1/256 px.
                let worst = actual
                    .iter()
                    .zip(&expected)
                    .map(|(a, e)| (a - e.clamp(0.0, 255.996)).abs())
                    .fold(0.0f32, f32::max);
                assert!(
                    worst <= 0.5 / 256.0 + 1e-6,
                    "width {width}: worst {worst} px"
                );
                // Away from the left border (which the right view cannot see), the
                // network finds the 8 px shift: a sheared image would not.
                let mut inner: Vec<f32> = (0..height)
                    .flat_map(|y| actual[y * width + 32..(y + 1) * width].to_vec())
                    .collect();
                inner.sort_by(f32::total_cmp);
                let median = inner[inner.len() / 2];
                assert!(
                    (median - 8.0).abs() < 1.0,
                    "width {width}: median {median} px"
                );
            } else {
                let params = gststerefo::dof::Params {
                    aperture: 0.5,
                    focus_disparity: 8.0,
                    min_disparity: 0.0,
                    max_disparity: 32.0,
                    max_kernel: 0,
                    ..Default::default()
                };
                let oracle =
                    gststerefo::dof::reference::refocus(left, &expected, width, height, &params);
                let worst = pipeline::worst_difference(out, &oracle);
                assert!(worst <= 1, "width {width}: worst difference {worst}");
            }
        }
    }
}

#[test]
fn properties_set_from_another_thread_while_playing() {
    init();
    // Each element with the values a user would flip between; every value is valid
    // whatever the others are (min-disparity stays below max-disparity).
    let changes: [(&str, &[(&str, &str)]); 2] = [
        (
            "sterefo",
            &[
                ("aperture", "0.1"),
                ("focus-disparity", "20"),
                ("focus-mode", "point"),
                ("output", "disparity"),
                ("max-kernel", "0"),
                ("aperture", "0.6"),
                ("focus-x", "0.2"),
                ("output", "disparity-color"),
                ("focus-mode", "disparity"),
                ("max-kernel", "11"),
                ("focus-disparity", "4"),
                ("output", "refocused"),
                ("focus-mode", "auto"),
                ("smooth-mask", "true"),
                ("working-scale", "0.5"),
                ("smooth-mask", "false"),
                ("working-scale", "1"),
            ],
        ),
        (
            "refocus",
            &[
                ("aperture", "0.1"),
                ("focus-disparity", "20"),
                ("max-kernel", "0"),
                ("min-disparity", "5"),
                ("aperture", "0.6"),
                ("max-disparity", "40"),
                ("smooth-mask", "true"),
                ("max-kernel", "11"),
                ("focus-disparity", "4"),
                ("min-disparity", "0"),
                ("smooth-mask", "false"),
                ("max-disparity", "64"),
            ],
        ),
    ];
    for (name, values) in changes {
        let frames = 40;
        let pipeline = gst::parse::launch(&format!(
            "{} ! videoconvert ! fakesink name=sink",
            if name == "sterefo" {
                format!(
                    "videotestsrc num-buffers={frames} ! video/x-raw,format=RGBA,width=64,height=48,framerate=25/1 ! e.sink_left \
                     videotestsrc num-buffers={frames} pattern=ball ! video/x-raw,format=RGBA,width=64,height=48,framerate=25/1 ! e.sink_right \
                     sterefo name=e max-disparity=32"
                )
            } else {
                format!(
                    "videotestsrc num-buffers={frames} ! video/x-raw,format=RGBA,width=64,height=48,framerate=25/1 ! e.sink \
                     videotestsrc num-buffers={frames} pattern=ball ! video/x-raw,format=GRAY16_LE,width=64,height=48,framerate=25/1 ! e.sink_disparity \
                     refocus name=e max-disparity=64"
                )
            }
        ))
        .expect("pipeline");
        let element = pipeline
            .downcast_ref::<gst::Bin>()
            .unwrap()
            .by_name("e")
            .expect("element");
        let count = pipeline::count_buffers(&pipeline, "sink");
        // The formats the element's output took: `output` changes must show.
        let formats = Arc::new(Mutex::new(std::collections::BTreeSet::new()));
        let seen = Arc::clone(&formats);
        element.static_pad("src").expect("src").add_probe(
            gst::PadProbeType::EVENT_DOWNSTREAM,
            move |_, probe| {
                if let Some(gst::EventView::Caps(caps)) = probe.event().map(|e| e.view())
                    && let Ok(info) = gst_video::VideoInfo::from_caps(caps.caps())
                {
                    seen.lock()
                        .unwrap()
                        .insert(info.format().to_str().to_string());
                }
                gst::PadProbeReturn::Ok
            },
        );
        let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let setter = {
            let done = Arc::clone(&done);
            std::thread::spawn(move || {
                let mut sets = 0usize;
                while !done.load(Ordering::SeqCst) {
                    let (property, value) = values[sets % values.len()];
                    element.set_property_from_str(property, value);
                    sets += 1;
                    std::thread::sleep(Duration::from_micros(500));
                }
                sets
            })
        };
        let result = run(&pipeline, Duration::from_secs(120));
        done.store(true, Ordering::SeqCst);
        let sets = setter.join().expect("setter thread");
        result.unwrap_or_else(|e| panic!("{name}: {e}"));
        println!("{name}: {sets} property changes while {frames} frames flowed");
        assert_eq!(count.load(Ordering::SeqCst), frames as usize, "{name}");
        assert!(sets > 2 * values.len(), "{name}: only {sets} changes");
        if name == "sterefo" {
            let formats = formats.lock().unwrap();
            assert!(
                formats.contains("RGBA") && formats.contains("GRAY16_LE"),
                "the output changes were not followed: {formats:?}"
            );
        }
    }
}

#[test]
fn extreme_apertures_and_ranges_end_in_bounded_time() {
    init();
    // aperture 4 over 0..255 px is 1021 planes with blur radii up to 1020 px, exact mode;
    // the ball's anti-aliased edge puts pixels on most of them (the worst case). 0.01 is
    // three planes 100 px apart. Run under the pipeline timeout: no stall, every frame out.
    for properties in [
        "aperture=4 max-disparity=255 max-kernel=0",
        "aperture=4 max-disparity=255 max-kernel=11 smooth-mask=true",
        "aperture=0.01 max-disparity=255 max-kernel=0",
        "aperture=0.01 min-disparity=255 max-disparity=255",
    ] {
        for element in ["refocus", "sterefo"] {
            let pipeline = two_input_pipeline(element, properties, 32, 24, 2);
            let frames = pipeline::count_buffers(&pipeline, "sink");
            let started = std::time::Instant::now();
            run(&pipeline, Duration::from_secs(120))
                .unwrap_or_else(|e| panic!("{element} {properties}: {e}"));
            println!("{element} {properties}: {:?}", started.elapsed());
            assert_eq!(frames.load(Ordering::SeqCst), 2, "{element} {properties}");
        }
    }
}

#[test]
fn out_of_range_property_values_are_refused_and_the_old_value_stays() {
    init();
    // gst-launch and C applications set properties through GObject, which refuses a value
    // outside the property's range with a warning and keeps the old value (no clamping).
    for (element, property, value) in [
        ("refocus", "aperture", "10"),
        ("refocus", "aperture", "0.001"),
        ("refocus", "focus-disparity", "-5"),
        ("refocus", "max-disparity", "300"),
        ("refocus", "min-disparity", "-1"),
        ("refocus", "max-kernel", "300"),
        ("refocus", "smooth-alpha", "0"),
        ("sterefo", "aperture", "5"),
        ("sterefo", "focus-x", "1.5"),
        ("sterefo", "focus-y", "-0.1"),
        ("sterefo", "working-scale", "0.05"),
        ("sterefo", "focus-smoothing", "-1"),
    ] {
        let pipeline =
            gst::parse::launch(&format!("{element} name=e {property}={value} ! fakesink"))
                .expect("the pipeline is made; only the value is refused");
        let set = pipeline
            .downcast_ref::<gst::Bin>()
            .unwrap()
            .by_name("e")
            .expect("element");
        let default = gst::ElementFactory::make(element).build().unwrap();
        assert_eq!(
            format!("{:?}", set.property_value(property)),
            format!("{:?}", default.property_value(property)),
            "{element} {property}={value} must keep the default"
        );
    }
    // From Rust, glib's set_property panics on such a value (and the value stays).
    let e = gst::ElementFactory::make("refocus").build().unwrap();
    let refused = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        e.set_property("aperture", 10.0f32)
    }));
    assert!(refused.is_err());
    assert_eq!(e.property::<f32>("aperture"), 0.25);
}

#[test]
fn a_latency_query_includes_the_processing_latency() {
    init();
    for element in ["sterefo", "refocus"] {
        let (first, second, second_format) = if element == "refocus" {
            ("sink", "sink_disparity", "GRAY16_LE")
        } else {
            ("sink_left", "sink_right", "RGBA")
        };
        // Live sources and a sink that syncs: a pipeline whose latency matters.
        let pipeline = gst::parse::launch(&format!(
            "videotestsrc is-live=true num-buffers=8 \
               ! video/x-raw,format=RGBA,width=64,height=48,framerate=25/1 ! e.{first} \
             videotestsrc is-live=true num-buffers=8 pattern=ball \
               ! video/x-raw,format={second_format},width=64,height=48,framerate=25/1 ! e.{second} \
             {element} name=e ! fakesink sync=true"
        ))
        .expect("pipeline");
        let e = pipeline
            .downcast_ref::<gst::Bin>()
            .unwrap()
            .by_name("e")
            .expect("element");
        pipeline.set_state(gst::State::Playing).expect("to PLAYING");
        // Run to EOS and stay there, so the element still holds its measurement.
        let bus = pipeline.bus().expect("bus");
        let mut latency_messages = 0;
        for message in bus.iter_timed(gst::ClockTime::from_seconds(60)) {
            match message.view() {
                gst::MessageView::Eos(_) => break,
                gst::MessageView::Error(err) => {
                    panic!("{element}: {} ({:?})", err.error(), err.debug())
                }
                // What gst-launch and applications do: redistribute the pipeline's latency.
                gst::MessageView::Latency(_) => {
                    if message.src() == Some(e.upcast_ref()) {
                        latency_messages += 1;
                    }
                    let _ = pipeline
                        .downcast_ref::<gst::Bin>()
                        .unwrap()
                        .recalculate_latency();
                }
                _ => {}
            }
        }
        let processing = gst::ClockTime::from_nseconds(e.property::<u64>("processing-latency"));
        let mut query = gst::query::Latency::new();
        assert!(
            pipeline.query(&mut query),
            "{element}: the query is answered"
        );
        let (live, min, max) = query.result();
        pipeline.set_state(gst::State::Null).expect("to NULL");
        gst::debug!(
            gst::CAT_DEFAULT,
            "{element}: processing latency {processing}; pipeline latency live {live}, min {min}, max {max:?}"
        );
        println!(
            "{element}: processing latency {processing}; pipeline live {live}, min {min}, max {max:?}"
        );
        assert!(
            processing > gst::ClockTime::ZERO,
            "{element}: nothing measured"
        );
        assert!(
            latency_messages > 0,
            "{element}: no latency message when it grew"
        );
        assert!(live, "{element}");
        // The sources' frame of latency and the sink's processing deadline come on top.
        assert!(
            min >= processing,
            "{element}: min {min} < processing latency {processing}"
        );
    }
}
