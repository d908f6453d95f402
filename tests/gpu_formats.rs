//! The converted formats on the GPU (`formats::gpu`, `Renderer::render_planes`) against the
//! CPU's conversions (`formats::read`, `formats::write`), for every converted format, the
//! colour matrices and ranges, both chroma sitings and odd sizes. The CPU code is the
//! reference. Decoding is integer arithmetic on both sides: exact. Coding evaluates the same
//! formulas (luma in the same integers, chroma in f32), so a chroma value landing next to a
//! .5 boundary may round the other way: at most one level, on a few values.

use gst_video::prelude::*;
use gststerefo::dof::Params;
use gststerefo::dof::gpu::{Colour, Renderer};
use gststerefo::formats::{self, gpu::PlaneCoding};
use gststerefo::gpu::GpuContext;

/// A deterministic picture with colour edges, gradients and saturated corners, and a
/// disparity with a near box, so chroma is filtered across real edges after refocusing.
fn scene(width: u32, height: u32) -> (Vec<u8>, Vec<f32>) {
    let (w, h) = (width as usize, height as usize);
    let mut image = Vec::with_capacity(w * h * 4);
    let mut disparity = Vec::with_capacity(w * h);
    let mut state = 0x2545_f491_u32;
    for y in 0..h {
        for x in 0..w {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            let near = x > w / 3 && x < 2 * w / 3 && y > h / 4 && y < 3 * h / 4;
            let noise = (state >> 24) as u8 / 4;
            let r = if near { 230 } else { (255 * x / w) as u8 };
            let g = ((255 * y / h) as u8).saturating_add(noise);
            let b = if (x / 5 + y / 3) % 2 == 0 { 250 } else { 5 };
            image.extend_from_slice(&[r, g, b, 255]);
            disparity.push(if near {
                40.0
            } else {
                8.0 + 10.0 * x as f32 / w as f32
            });
        }
    }
    (image, disparity)
}

fn info(caps: &str) -> gst_video::VideoInfo {
    let caps: gst::Caps = caps.parse().expect("caps");
    gst_video::VideoInfo::from_caps(&caps).expect("video caps")
}

/// The frame's planes' bytes that belong to the picture (row by row, without padding; for
/// YUY2 of an odd width, without the last pair's second luma, which no pixel has).
fn picture_bytes(info: &gst_video::VideoInfo, buffer: &gst::Buffer) -> Vec<u8> {
    let frame = gst_video::VideoFrameRef::from_buffer_ref_readable(buffer.as_ref(), info)
        .expect("readable frame");
    let coding = PlaneCoding::of(info).expect("a converted format");
    let mut bytes = Vec::new();
    for (index, plane) in coding.planes().iter().enumerate() {
        let data = frame.plane_data(index as u32).expect("plane");
        let stride = frame.plane_stride()[index] as usize;
        for row in 0..plane.rows {
            let row = &data[row * stride..row * stride + plane.row_bytes];
            if info.format() == gst_video::VideoFormat::Yuy2 && info.width() % 2 == 1 {
                let padding = 2 * info.width() as usize;
                bytes.extend_from_slice(&row[..padding]);
                bytes.extend_from_slice(&row[padding + 1..]);
            } else {
                bytes.extend_from_slice(row);
            }
        }
    }
    bytes
}

#[test]
fn output_coded_on_the_gpu_matches_the_cpu_coding() {
    gst::init().expect("GStreamer");
    let context = GpuContext::shared().expect("a wgpu adapter (lavapipe in CI)");
    let mut renderer = Renderer::new(context).expect("renderer");
    let params = Params {
        aperture: 0.3,
        focus_disparity: 8.0,
        min_disparity: 0.0,
        max_disparity: 48.0,
        ..Params::default()
    };
    let mut planes = Vec::new();
    for (what, info) in codings() {
        let (width, height) = (info.width(), info.height());
        let (image, disparity) = scene(width, height);
        let mut pixels = vec![0u8; image.len()];
        renderer
            .render(&image, &disparity, width, height, &params, &mut pixels)
            .expect("render");
        let coding = PlaneCoding::of(&info).expect("a converted format");
        renderer
            .render_planes(
                Colour::Pixels(&image),
                None,
                &disparity,
                width,
                height,
                &params,
                &coding,
                &mut planes,
            )
            .expect("render_planes");
        let mut gpu = gst::Buffer::with_size(info.size()).expect("buffer");
        let mut cpu = gst::Buffer::with_size(info.size()).expect("buffer");
        {
            let gpu = gpu.get_mut().expect("writable");
            let mut frame = gst_video::VideoFrameRef::from_buffer_ref_writable(gpu, &info).unwrap();
            formats::gpu::write_planes(&planes, &coding, &mut frame).expect("write");
            let cpu = cpu.get_mut().expect("writable");
            let mut frame = gst_video::VideoFrameRef::from_buffer_ref_writable(cpu, &info).unwrap();
            formats::write(&pixels, &mut frame).expect("write");
        }
        let (gpu, cpu) = (picture_bytes(&info, &gpu), picture_bytes(&info, &cpu));
        assert_eq!(gpu.len(), cpu.len());
        let worst = gpu.iter().zip(&cpu).map(|(a, b)| a.abs_diff(*b)).max();
        let differing = gpu.iter().zip(&cpu).filter(|(a, b)| a != b).count();
        assert!(worst <= Some(1), "{what}: worst difference {worst:?}");
        assert!(
            differing * 200 <= cpu.len(),
            "{what}: {differing} of {} bytes differ",
            cpu.len()
        );
    }
}

/// Every converted format, coded by three colour matrices (limited range, chroma centred)
/// and the JPEG coding (full range, BT.601, chroma co-sited), at an even and an odd size.
fn codings() -> Vec<(String, gst_video::VideoInfo)> {
    let formats = [
        "NV12", "I420", "Y42B", "Y444", "YUY2", "GRAY8", "RGB", "BGR",
    ];
    let mut all = Vec::new();
    for (width, height) in [(64u32, 48u32), (37, 23)] {
        for format in formats {
            for (colorimetry, site) in [
                ("bt709", "mpeg2"),
                ("bt601", "mpeg2"),
                ("bt2020", "mpeg2"),
                ("1:4:0:0", "jpeg"),
            ] {
                let what = format!("{format} {colorimetry} {width}x{height}");
                all.push((
                    what,
                    info(&format!(
                        "video/x-raw,format={format},width={width},height={height},\
                         framerate=25/1,colorimetry={colorimetry},chroma-site={site}"
                    )),
                ));
            }
        }
    }
    all
}

#[test]
fn input_decoded_on_the_gpu_refocuses_as_the_cpu_decoding() {
    gst::init().expect("GStreamer");
    let context = GpuContext::shared().expect("a wgpu adapter (lavapipe in CI)");
    // One renderer each: the image buffer of one that rendered the CPU's pixels would hold them.
    let mut renderers = [0, 1].map(|_| Renderer::new(context.clone()).expect("renderer"));
    let mut state = 0x9e37_79b9_u32;
    for (what, info) in codings() {
        let (width, height) = (info.width(), info.height());
        // Random bytes in every plane: any Y'CbCr, in gamut or not, and every chroma value.
        let mut buffer = gst::Buffer::with_size(info.size()).expect("buffer");
        buffer
            .get_mut()
            .expect("writable")
            .map_writable()
            .expect("map")
            .iter_mut()
            .for_each(|b| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                *b = (state >> 24) as u8;
            });
        let frame = gst_video::VideoFrameRef::from_buffer_ref_readable(buffer.as_ref(), &info)
            .expect("readable frame");
        let coding = PlaneCoding::of(&info).expect("a converted format");
        let (mut pixels, mut planes) = (Vec::new(), Vec::new());
        formats::read(&frame, &mut pixels).expect("CPU decoding");
        formats::gpu::read_planes(&frame, &coding, &mut planes).expect("planes");
        let disparity: Vec<f32> = (0..width * height).map(|p| (p % 41) as f32).collect();
        let params = Params {
            aperture: 0.2,
            focus_disparity: 20.0,
            max_disparity: 40.0,
            ..Params::default()
        };
        let mut outputs = [Vec::new(), Vec::new()];
        let colours = [Colour::Pixels(&pixels), Colour::Planes(&coding, &planes)];
        for ((colour, output), renderer) in
            colours.into_iter().zip(&mut outputs).zip(&mut renderers)
        {
            renderer
                .render_planes(
                    colour, None, &disparity, width, height, &params, &coding, output,
                )
                .expect("render_planes");
        }
        assert!(
            outputs[0] == outputs[1],
            "{what}: GPU and CPU decoding refocus differently"
        );
    }
}

#[test]
fn planes_of_another_size_are_refused() {
    gst::init().expect("GStreamer");
    let context = GpuContext::shared().expect("a wgpu adapter (lavapipe in CI)");
    let mut renderer = Renderer::new(context).expect("renderer");
    let (image, disparity) = scene(32, 16);
    let info = info("video/x-raw,format=NV12,width=64,height=16,framerate=25/1");
    let coding = PlaneCoding::of(&info).expect("NV12 is converted");
    let error = renderer
        .render_planes(
            Colour::Pixels(&image),
            None,
            &disparity,
            32,
            16,
            &Params::default(),
            &coding,
            &mut Vec::new(),
        )
        .expect_err("planes of a 64x16 frame for a 32x16 one");
    assert!(error.to_string().contains("64"), "{error}");
    assert!(PlaneCoding::of(&self::info("video/x-raw,format=RGBA,width=8,height=8")).is_none());
}
