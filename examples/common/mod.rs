//! Helpers shared by the examples: running a pipeline, finding its elements, making the
//! README figures, and the disparity model a benchmark measures. Each example declares
//! `mod png_io;` at its root, which this uses.
#![allow(dead_code)]

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use gst::prelude::*;

use crate::png_io::Rgba;

/// A GStreamer location string: the path with double quotes around it.
pub fn quoted(path: &Path) -> Result<String> {
    let text = path.to_str().context("paths must be UTF-8")?;
    if text.contains('"') {
        bail!("{text}: quotes in paths are not supported");
    }
    Ok(format!("\"{text}\""))
}

/// Runs a pipeline to end of stream; errors from the bus, and a time limit.
pub fn run(pipeline: &gst::Element, limit: Duration) -> Result<()> {
    let bus = pipeline.bus().context("pipeline without bus")?;
    let started = pipeline.set_state(gst::State::Playing);
    let deadline = Instant::now() + limit;
    let result = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break Err(anyhow::anyhow!("no end of stream after {limit:?}"));
        }
        let Some(message) = bus.timed_pop(gst::ClockTime::from_mseconds(left.as_millis() as u64))
        else {
            continue;
        };
        match message.view() {
            gst::MessageView::Eos(_) => break Ok(()),
            gst::MessageView::Error(e) => {
                break Err(anyhow::anyhow!("{} ({:?})", e.error(), e.debug()));
            }
            _ => {}
        }
    };
    pipeline.set_state(gst::State::Null)?;
    result.and(started.map(|_| ()).context("cannot start the pipeline"))
}

pub fn element(pipeline: &gst::Element, name: &str) -> Result<gst::Element> {
    pipeline
        .downcast_ref::<gst::Bin>()
        .and_then(|bin| bin.by_name(name))
        .with_context(|| format!("no element {name} in the pipeline"))
}

/// Area-average downscaling of an RGBA image to `width` pixels wide.
pub fn shrink(image: &Rgba, width: usize) -> Rgba {
    let scale = image.width as f32 / width as f32;
    let height = ((image.height as f32 / scale).round() as usize).max(1);
    let mut data = Vec::with_capacity(width * height * 4);
    for y in 0..height {
        let (y0, y1) = (
            (y as f32 * scale) as usize,
            (((y + 1) as f32 * scale) as usize).min(image.height),
        );
        for x in 0..width {
            let (x0, x1) = (
                (x as f32 * scale) as usize,
                (((x + 1) as f32 * scale) as usize).min(image.width),
            );
            let mut sum = [0u32; 4];
            for sy in y0..y1.max(y0 + 1) {
                for sx in x0..x1.max(x0 + 1) {
                    let p = &image.data[(sy * image.width + sx) * 4..][..4];
                    sum.iter_mut().zip(p).for_each(|(s, &v)| *s += u32::from(v));
                }
            }
            let n = ((y1.max(y0 + 1) - y0) * (x1.max(x0 + 1) - x0)) as u32;
            data.extend(sum.map(|s| ((s + n / 2) / n) as u8));
        }
    }
    Rgba {
        width,
        height,
        data,
    }
}

/// Tiles of one size in rows of `columns`, with a `gap` of white between them.
pub fn contact_sheet(tiles: &[Rgba], columns: usize, gap: usize) -> Rgba {
    let (tw, th) = (tiles[0].width, tiles[0].height);
    let rows = tiles.len().div_ceil(columns);
    let width = columns * tw + (columns - 1) * gap;
    let height = rows * th + (rows - 1) * gap;
    let mut sheet = Rgba {
        width,
        height,
        data: vec![255; width * height * 4],
    };
    for (i, tile) in tiles.iter().enumerate() {
        let (ox, oy) = ((i % columns) * (tw + gap), (i / columns) * (th + gap));
        for y in 0..th {
            let row = &tile.data[y * tw * 4..(y + 1) * tw * 4];
            sheet.data[((oy + y) * width + ox) * 4..][..tw * 4].copy_from_slice(row);
        }
    }
    sheet
}

/// Writes a README figure: RGB with 6 bits per channel (invisible in photographs and
/// blur, about 40% smaller), maximum compression.
pub fn write_figure(path: &Path, image: &Rgba) -> Result<()> {
    let rgb: Vec<u8> = image
        .data
        .chunks(4)
        .flat_map(|p| [p[0], p[1], p[2]])
        .map(|v| (v & 0xFC) | 0x02)
        .collect();
    let file =
        std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    let mut encoder = png::Encoder::new(
        std::io::BufWriter::new(file),
        image.width as u32,
        image.height as u32,
    );
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::High);
    encoder.write_header()?.write_image_data(&rgb)?;
    Ok(())
}

/// The disparity model an example measures: the file its first argument names, else the
/// one `STEREFO_MODEL` names, else the network built into the plugin.
pub fn model_from_args() -> gststerefo::depth::Model {
    gststerefo::depth::Model::from_path(
        std::env::args_os()
            .nth(1)
            .or_else(|| std::env::var_os("STEREFO_MODEL"))
            .map(std::path::PathBuf::from),
    )
}
