//! The video formats the elements take: the 4-byte RGB formats the renderer and the network
//! work on directly, and what decoders and cameras deliver (NV12, I420, YUY2, GRAY8, RGB,
//! BGR), converted to tightly packed RGBA on the way in and back to the input's format on
//! the way out, by the caps' colour matrix and range. Strides and plane offsets come from the
//! mapped frame, so a `GstVideoMeta`'s layout is honoured for every plane.
//!
//! YUV (Y'CbCr) with luma weights Kr, Kb (BT.601, BT.709, BT.2020 by the caps):
//! R = Y + 2 (1 - Kr) Cr, B = Y + 2 (1 - Kb) Cb, G = (Y - Kr R - Kb B) / (1 - Kr - Kb), with
//! Y in [16, 235] and Cb, Cr in [16, 240] for limited range, [0, 255] for full range. Chroma
//! (one sample per 2x2 pixels for NV12 and I420, per 2x1 for YUY2) is interpolated linearly
//! on the way in and filtered (the mean of the pixels a sample covers) on the way out, both
//! at the caps' `chroma-site` (centred where the caps do not say, as GStreamer assumes). GRAY8 is full-range luma: R = G = B = Y in,
//! Y = BT.601 luma out.

use gst_video::prelude::*;
use gst_video::{VideoColorMatrix, VideoColorRange, VideoFormat, VideoFrameRef};

/// 4-byte formats: colour in bytes 0..3, the fourth byte passed through; no conversion.
pub const PACKED4: [VideoFormat; 4] = [
    VideoFormat::Rgba,
    VideoFormat::Bgra,
    VideoFormat::Rgbx,
    VideoFormat::Bgrx,
];

/// Every colour format the elements take: the 4-byte ones first (preferred in negotiation),
/// then those converted.
pub const COLOUR_FORMATS: [VideoFormat; 10] = [
    VideoFormat::Rgba,
    VideoFormat::Bgra,
    VideoFormat::Rgbx,
    VideoFormat::Bgrx,
    VideoFormat::Nv12,
    VideoFormat::I420,
    VideoFormat::Yuy2,
    VideoFormat::Gray8,
    VideoFormat::Rgb,
    VideoFormat::Bgr,
];

/// Whether frames of `format` are used as they are (4 bytes per pixel).
pub fn is_packed4(format: VideoFormat) -> bool {
    PACKED4.contains(&format)
}

/// The Y'CbCr coding of a frame: luma weights and range.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Coding {
    kr: f32,
    kb: f32,
    full_range: bool,
}

impl Coding {
    fn of(info: &gst_video::VideoInfo) -> Coding {
        let colorimetry = info.colorimetry();
        let (kr, kb) = match colorimetry.matrix() {
            VideoColorMatrix::Bt709 => (0.2126, 0.0722),
            VideoColorMatrix::Bt2020 => (0.2627, 0.0593),
            VideoColorMatrix::Smpte240m => (0.212, 0.087),
            _ => (0.299, 0.114),
        };
        Coding {
            kr,
            kb,
            full_range: colorimetry.range() == VideoColorRange::Range0_255,
        }
    }

    fn to_rgb(self, y: u8, cb: u8, cr: u8) -> [u8; 3] {
        let (y, cb, cr) = if self.full_range {
            (f32::from(y) / 255.0, (f32::from(cb) - 128.0) / 255.0, (f32::from(cr) - 128.0) / 255.0)
        } else {
            ((f32::from(y) - 16.0) / 219.0, (f32::from(cb) - 128.0) / 224.0, (f32::from(cr) - 128.0) / 224.0)
        };
        let r = y + 2.0 * (1.0 - self.kr) * cr;
        let b = y + 2.0 * (1.0 - self.kb) * cb;
        let g = (y - self.kr * r - self.kb * b) / (1.0 - self.kr - self.kb);
        [level(r), level(g), level(b)]
    }

    /// Luma and the two chroma values, unquantised (chroma is averaged before rounding).
    fn to_yuv(self, rgb: [f32; 3]) -> [f32; 3] {
        let [r, g, b] = rgb.map(|v| v / 255.0);
        let y = self.kr * r + (1.0 - self.kr - self.kb) * g + self.kb * b;
        let cb = (b - y) / (2.0 * (1.0 - self.kb));
        let cr = (r - y) / (2.0 * (1.0 - self.kr));
        if self.full_range {
            [255.0 * y, 128.0 + 255.0 * cb, 128.0 + 255.0 * cr]
        } else {
            [16.0 + 219.0 * y, 128.0 + 224.0 * cb, 128.0 + 224.0 * cr]
        }
    }
}

fn level(unit: f32) -> u8 {
    (unit * 255.0).round().clamp(0.0, 255.0) as u8
}

fn byte(value: f32) -> u8 {
    value.round().clamp(0.0, 255.0) as u8
}

/// Where chroma samples sit, from the caps' `chroma-site`: co-sited with the first luma
/// pixel they cover (horizontally, vertically), or centred between the pixels (also when
/// the caps do not say, as GStreamer assumes).
fn siting(info: &gst_video::VideoInfo) -> (bool, bool) {
    let site = info.chroma_site();
    (
        site.contains(gst_video::VideoChromaSite::H_COSITED),
        site.contains(gst_video::VideoChromaSite::V_COSITED),
    )
}

/// Linear interpolation of a line of `n` chroma samples to `out.len()` luma positions, a
/// sample covering `factor` pixels, co-sited or centred.
fn upsample_line(samples: impl Fn(usize) -> f32, n: usize, factor: usize, cosited: bool, out: &mut [f32]) {
    for (x, value) in out.iter_mut().enumerate() {
        let position = if factor == 1 {
            x as f32
        } else if cosited {
            x as f32 / factor as f32
        } else {
            (x as f32 + 0.5) / factor as f32 - 0.5
        };
        let position = position.clamp(0.0, (n - 1) as f32);
        let (i, t) = (position.floor() as usize, position.fract());
        let next = (i + 1).min(n - 1);
        *value = samples(i) * (1.0 - t) + samples(next) * t;
    }
}

/// The two chroma planes of a YUV frame at full resolution (`width * height` each),
/// interpolated as [`siting`] says.
fn chroma_planes(frame: &VideoFrameRef<&gst::BufferRef>) -> Result<(Vec<f32>, Vec<f32>), glib::BoolError> {
    let (width, height) = (frame.width() as usize, frame.height() as usize);
    let format = frame.format();
    let (h_cosited, v_cosited) = siting(frame.info());
    let (fx, fy) = if format == VideoFormat::Yuy2 { (2, 1) } else { (2, 2) };
    let (cw, ch) = (width.div_ceil(fx), height.div_ceil(fy));
    // the samples, as (cb, cr) per chroma row
    let mut rows: Vec<[Vec<f32>; 2]> = Vec::with_capacity(ch);
    for cy in 0..ch {
        let row: [Vec<f32>; 2] = match format {
            VideoFormat::Nv12 => {
                let (uv, stride) = plane(frame, 1)?;
                let line = &uv[cy * stride..];
                [0, 1].map(|c| (0..cw).map(|cx| f32::from(line[2 * cx + c])).collect())
            }
            VideoFormat::I420 => {
                let ((u, us), (v, vs)) = (plane(frame, 1)?, plane(frame, 2)?);
                [(u, us), (v, vs)].map(|(p, stride)| (0..cw).map(|cx| f32::from(p[cy * stride + cx])).collect())
            }
            _ => {
                let (data, stride) = plane(frame, 0)?;
                let line = &data[cy * stride..];
                [1, 3].map(|c| (0..cw).map(|cx| f32::from(line[4 * cx + c])).collect())
            }
        };
        rows.push(row);
    }
    let mut planes = [vec![0.0f32; width * height], vec![0.0f32; width * height]];
    let mut horizontal = vec![vec![0.0f32; width]; ch];
    let mut column = vec![0.0f32; height];
    for (c, plane) in planes.iter_mut().enumerate() {
        for (cy, line) in horizontal.iter_mut().enumerate() {
            upsample_line(|i| rows[cy][c][i], cw, fx, h_cosited, line);
        }
        for x in 0..width {
            upsample_line(|i| horizontal[i][x], ch, fy, v_cosited, &mut column);
            for (y, value) in column.iter().enumerate() {
                plane[y * width + x] = *value;
            }
        }
    }
    let [cb, cr] = planes;
    Ok((cb, cr))
}

/// The mean of the chroma of the pixels a sample covers (co-sited: the pixel itself at
/// weight 1/2 and its two neighbours at 1/4; centred: the `factor` pixels at equal weight),
/// edges replicated.
fn downsample(values: impl Fn(usize) -> f32, n: usize, sample: usize, factor: usize, cosited: bool) -> f32 {
    let at = |i: isize| values(i.clamp(0, n as isize - 1) as usize);
    let first = (sample * factor) as isize;
    match (factor, cosited) {
        (1, _) => at(first),
        (_, true) => 0.25 * at(first - 1) + 0.5 * at(first) + 0.25 * at(first + 1),
        _ => (0..factor as isize).map(|d| at(first + d)).sum::<f32>() / factor as f32,
    }
}

fn plane<'a>(frame: &'a VideoFrameRef<&gst::BufferRef>, index: u32) -> Result<(&'a [u8], usize), glib::BoolError> {
    Ok((frame.plane_data(index)?, frame.plane_stride()[index as usize] as usize))
}

/// Reads a frame of any of [`COLOUR_FORMATS`] into tightly packed 4-byte pixels, `width *
/// height * 4` bytes in `out`: the frame's own bytes for the 4-byte formats, RGBA (alpha
/// 255) for the others.
pub fn read(frame: &VideoFrameRef<&gst::BufferRef>, out: &mut Vec<u8>) -> Result<(), glib::BoolError> {
    let (width, height) = (frame.width() as usize, frame.height() as usize);
    let format = frame.format();
    out.clear();
    out.reserve(width * height * 4);
    let coding = Coding::of(frame.info());
    match format {
        f if is_packed4(f) => {
            let (data, stride) = plane(frame, 0)?;
            for y in 0..height {
                out.extend_from_slice(&data[y * stride..y * stride + width * 4]);
            }
        }
        VideoFormat::Rgb | VideoFormat::Bgr => {
            let (data, stride) = plane(frame, 0)?;
            let swap = format == VideoFormat::Bgr;
            for y in 0..height {
                for p in data[y * stride..y * stride + width * 3].chunks_exact(3) {
                    let (r, b) = if swap { (p[2], p[0]) } else { (p[0], p[2]) };
                    out.extend_from_slice(&[r, p[1], b, 255]);
                }
            }
        }
        VideoFormat::Gray8 => {
            let (data, stride) = plane(frame, 0)?;
            for y in 0..height {
                for &v in &data[y * stride..y * stride + width] {
                    out.extend_from_slice(&[v, v, v, 255]);
                }
            }
        }
        VideoFormat::Nv12 | VideoFormat::I420 | VideoFormat::Yuy2 => {
            let (cb, cr) = chroma_planes(frame)?;
            let (luma, luma_stride) = plane(frame, 0)?;
            for y in 0..height {
                for x in 0..width {
                    let luma = if format == VideoFormat::Yuy2 {
                        luma[y * luma_stride + (x / 2) * 4 + (x % 2) * 2]
                    } else {
                        luma[y * luma_stride + x]
                    };
                    let i = y * width + x;
                    let [r, g, b] = coding.to_rgb(luma, byte(cb[i]), byte(cr[i]));
                    out.extend_from_slice(&[r, g, b, 255]);
                }
            }
        }
        other => return Err(glib::bool_error!("format {other:?} is not one the elements take")),
    }
    Ok(())
}

/// Writes tightly packed 4-byte pixels (as [`read`] gave them: the frame format's own byte
/// order for 4-byte formats, RGBA for the others) into a frame of any of
/// [`COLOUR_FORMATS`]; the alpha of converted formats is dropped.
pub fn write(pixels: &[u8], frame: &mut VideoFrameRef<&mut gst::BufferRef>) -> Result<(), glib::BoolError> {
    let (width, height) = (frame.width() as usize, frame.height() as usize);
    let format = frame.format();
    let coding = Coding::of(frame.info());
    let rgb = |x: usize, y: usize| {
        let p = 4 * (y.min(height - 1) * width + x.min(width - 1));
        [f32::from(pixels[p]), f32::from(pixels[p + 1]), f32::from(pixels[p + 2])]
    };
    let strides: Vec<usize> = frame.plane_stride().iter().map(|s| *s as usize).collect();
    match format {
        f if is_packed4(f) => {
            let data = frame.plane_data_mut(0)?;
            for y in 0..height {
                data[y * strides[0]..y * strides[0] + width * 4]
                    .copy_from_slice(&pixels[y * width * 4..(y + 1) * width * 4]);
            }
        }
        VideoFormat::Rgb | VideoFormat::Bgr => {
            let swap = format == VideoFormat::Bgr;
            let data = frame.plane_data_mut(0)?;
            for y in 0..height {
                let row = &mut data[y * strides[0]..y * strides[0] + width * 3];
                for (x, out) in row.chunks_exact_mut(3).enumerate() {
                    let p = &pixels[4 * (y * width + x)..];
                    out.copy_from_slice(&if swap { [p[2], p[1], p[0]] } else { [p[0], p[1], p[2]] });
                }
            }
        }
        VideoFormat::Gray8 => {
            let grey = Coding { kr: 0.299, kb: 0.114, full_range: true };
            let data = frame.plane_data_mut(0)?;
            for y in 0..height {
                for x in 0..width {
                    data[y * strides[0] + x] = byte(grey.to_yuv(rgb(x, y))[0]);
                }
            }
        }
        VideoFormat::Nv12 | VideoFormat::I420 | VideoFormat::Yuy2 => {
            let (block_w, block_h) = if format == VideoFormat::Yuy2 { (2, 1) } else { (2, 2) };
            let yuv: Vec<[f32; 3]> = (0..height)
                .flat_map(|y| (0..width).map(move |x| (x, y)))
                .map(|(x, y)| coding.to_yuv(rgb(x, y)))
                .collect();
            let yuv = |x: usize, y: usize| yuv[y.min(height - 1) * width + x.min(width - 1)];
            let (h_cosited, v_cosited) = siting(frame.info());
            let chroma = |cx: usize, cy: usize| {
                [1, 2].map(|c| {
                    let column = |x: usize| downsample(|y| yuv(x, y)[c], height, cy, block_h, v_cosited);
                    byte(downsample(column, width, cx, block_w, h_cosited))
                })
            };
            let (chroma_w, chroma_h) = (width.div_ceil(block_w), height.div_ceil(block_h));
            match format {
                VideoFormat::Yuy2 => {
                    let data = frame.plane_data_mut(0)?;
                    for y in 0..height {
                        for cx in 0..chroma_w {
                            let [cb, cr] = chroma(cx, y);
                            let i = y * strides[0] + cx * 4;
                            data[i] = byte(yuv(2 * cx, y)[0]);
                            data[i + 1] = cb;
                            data[i + 2] = byte(yuv(2 * cx + 1, y)[0]);
                            data[i + 3] = cr;
                        }
                    }
                }
                _ => {
                    let luma = frame.plane_data_mut(0)?;
                    for y in 0..height {
                        for x in 0..width {
                            luma[y * strides[0] + x] = byte(yuv(x, y)[0]);
                        }
                    }
                    let samples: Vec<[u8; 2]> =
                        (0..chroma_h).flat_map(|cy| (0..chroma_w).map(move |cx| (cx, cy))).map(|(cx, cy)| chroma(cx, cy)).collect();
                    if format == VideoFormat::Nv12 {
                        let uv = frame.plane_data_mut(1)?;
                        for cy in 0..chroma_h {
                            for cx in 0..chroma_w {
                                let [cb, cr] = samples[cy * chroma_w + cx];
                                uv[cy * strides[1] + 2 * cx] = cb;
                                uv[cy * strides[1] + 2 * cx + 1] = cr;
                            }
                        }
                    } else {
                        for (index, component) in [(1u32, 0usize), (2, 1)] {
                            let stride = strides[index as usize];
                            let data = frame.plane_data_mut(index)?;
                            for cy in 0..chroma_h {
                                for cx in 0..chroma_w {
                                    data[cy * stride + cx] = samples[cy * chroma_w + cx][component];
                                }
                            }
                        }
                    }
                }
            }
        }
        other => return Err(glib::bool_error!("format {other:?} is not one the elements take")),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yuv_round_trips_within_a_level_for_every_matrix_and_range() {
        for (kr, kb) in [(0.299, 0.114), (0.2126, 0.0722), (0.2627, 0.0593)] {
            for full_range in [false, true] {
                let coding = Coding { kr, kb, full_range };
                for rgb in [[0u8, 0, 0], [255, 255, 255], [200, 30, 90], [12, 250, 128], [90, 90, 91]] {
                    let [y, cb, cr] = coding.to_yuv(rgb.map(f32::from)).map(byte);
                    let back = coding.to_rgb(y, cb, cr);
                    for c in 0..3 {
                        assert!(back[c].abs_diff(rgb[c]) <= 2, "{rgb:?} -> {back:?} ({kr}, {full_range})");
                    }
                }
            }
        }
    }

    #[test]
    fn limited_range_black_and_white_are_16_and_235() {
        let coding = Coding { kr: 0.2126, kb: 0.0722, full_range: false };
        assert_eq!(coding.to_yuv([0.0; 3]).map(byte), [16, 128, 128]);
        assert_eq!(coding.to_yuv([255.0; 3]).map(byte), [235, 128, 128]);
        assert_eq!(coding.to_rgb(235, 128, 128), [255, 255, 255]);
    }
}
