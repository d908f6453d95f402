//! PNG reading and writing for tests and examples (shared by `#[path]`).
#![allow(dead_code)]

use std::fs::File;
use std::io::BufWriter;
use std::path::Path;

use anyhow::{Context, Result, bail};

/// An 8-bit RGBA image, tightly packed.
pub struct Rgba {
    pub width: usize,
    pub height: usize,
    pub data: Vec<u8>,
}

/// Reads an 8-bit grey, RGB or RGBA PNG as RGBA.
pub fn read_rgba(path: impl AsRef<Path>) -> Result<Rgba> {
    let path = path.as_ref();
    let mut decoder = png::Decoder::new(std::io::BufReader::new(
        File::open(path).with_context(|| format!("cannot open {}", path.display()))?,
    ));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info()?;
    let mut buffer = vec![0; reader.output_buffer_size().context("image too large")?];
    let info = reader.next_frame(&mut buffer)?;
    let (width, height) = (info.width as usize, info.height as usize);
    let pixels = &buffer[..info.buffer_size()];
    let data = match info.color_type {
        png::ColorType::Rgba => pixels.to_vec(),
        png::ColorType::Rgb => pixels
            .chunks(3)
            .flat_map(|c| [c[0], c[1], c[2], 255])
            .collect(),
        png::ColorType::Grayscale => pixels.iter().flat_map(|&g| [g, g, g, 255]).collect(),
        png::ColorType::GrayscaleAlpha => pixels
            .chunks(2)
            .flat_map(|c| [c[0], c[0], c[0], c[1]])
            .collect(),
        other => bail!("{}: unsupported PNG colour type {other:?}", path.display()),
    };
    Ok(Rgba {
        width,
        height,
        data,
    })
}

/// Reads a 16-bit grey PNG (disparity x 256, KITTI style) as disparity in pixels.
pub fn read_disparity(path: impl AsRef<Path>) -> Result<(usize, usize, Vec<f32>)> {
    let path = path.as_ref();
    let decoder = png::Decoder::new(std::io::BufReader::new(
        File::open(path).with_context(|| format!("cannot open {}", path.display()))?,
    ));
    let mut reader = decoder.read_info()?;
    let mut buffer = vec![0; reader.output_buffer_size().context("image too large")?];
    let info = reader.next_frame(&mut buffer)?;
    if info.color_type != png::ColorType::Grayscale || info.bit_depth != png::BitDepth::Sixteen {
        bail!(
            "{}: expected a 16-bit grey PNG, found {:?} {:?}",
            path.display(),
            info.color_type,
            info.bit_depth
        );
    }
    let values = buffer[..info.buffer_size()]
        .chunks(2)
        .map(|b| f32::from(u16::from_be_bytes([b[0], b[1]])) / 256.0)
        .collect();
    Ok((info.width as usize, info.height as usize, values))
}

/// Writes an RGBA image.
pub fn write_rgba(path: impl AsRef<Path>, image: &Rgba) -> Result<()> {
    let path = path.as_ref();
    let file = File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    let mut encoder = png::Encoder::new(
        BufWriter::new(file),
        image.width as u32,
        image.height as u32,
    );
    encoder.set_color(png::ColorType::Rgba);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.write_header()?.write_image_data(&image.data)?;
    Ok(())
}
