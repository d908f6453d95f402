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

/// Linear-interpolation taps from `n` pixels to the `samples` chroma samples covering them
/// `factor` pixels each, co-sited or centred: per pixel (first sample, second, weight of
/// the second).
fn upsampling_taps(n: usize, samples: usize, factor: usize, cosited: bool) -> Vec<(usize, usize, f32)> {
    (0..n)
        .map(|x| {
            let position = if factor == 1 {
                x as f32
            } else if cosited {
                x as f32 / factor as f32
            } else {
                (x as f32 + 0.5) / factor as f32 - 0.5
            };
            let position = position.clamp(0.0, (samples - 1) as f32);
            let first = position.floor() as usize;
            (first, (first + 1).min(samples - 1), position - first as f32)
        })
        .collect()
}

/// The pixels (edges replicated) and weights whose mean a chroma sample is: co-sited, the
/// pixel itself at 1/2 and its neighbours at 1/4; centred, the `factor` pixels it covers.
fn downsampling_taps(n: usize, sample: usize, factor: usize, cosited: bool) -> Vec<(usize, f32)> {
    let at = |i: isize| i.clamp(0, n as isize - 1) as usize;
    let first = (sample * factor) as isize;
    match (factor, cosited) {
        (1, _) => vec![(at(first), 1.0)],
        (_, true) => vec![(at(first - 1), 0.25), (at(first), 0.5), (at(first + 1), 0.25)],
        _ => (0..factor as isize).map(|d| (at(first + d), 1.0 / factor as f32)).collect(),
    }
}

/// Chroma subsampling of a YUV format: pixels per sample horizontally and vertically.
fn subsampling(format: VideoFormat) -> (usize, usize) {
    if format == VideoFormat::Yuy2 { (2, 1) } else { (2, 2) }
}

/// Reads a YUV frame into RGBA: `luma(x, y)` and `chroma(component, cx, cy)` give the
/// stored values; chroma interpolated linearly at the frame's siting.
fn read_yuv(
    frame: &VideoFrameRef<&gst::BufferRef>,
    luma: impl Fn(usize, usize) -> u8,
    chroma: impl Fn(usize, usize, usize) -> u8,
    out: &mut Vec<u8>,
) {
    let (width, height) = (frame.width() as usize, frame.height() as usize);
    let coding = Coding::of(frame.info());
    let (fx, fy) = subsampling(frame.format());
    let (h_cosited, v_cosited) = siting(frame.info());
    let columns = upsampling_taps(width, width.div_ceil(fx), fx, h_cosited);
    let rows = upsampling_taps(height, height.div_ceil(fy), fy, v_cosited);
    for (y, &(r0, r1, wy)) in rows.iter().enumerate() {
        for (x, &(c0, c1, wx)) in columns.iter().enumerate() {
            let sample = |c| {
                let v = |cx, cy| f32::from(chroma(c, cx, cy));
                let top = v(c0, r0) + (v(c1, r0) - v(c0, r0)) * wx;
                let bottom = v(c0, r1) + (v(c1, r1) - v(c0, r1)) * wx;
                top + (bottom - top) * wy
            };
            let [r, g, b] = coding.to_rgb(luma(x, y), byte(sample(0)), byte(sample(1)));
            out.extend_from_slice(&[r, g, b, 255]);
        }
    }
}

/// Writes RGBA `pixels` as YUV through `put_luma(x, y, value)` and `put_chroma(cx, cy, cb,
/// cr)`, chroma filtered at the frame's siting.
fn write_yuv(
    pixels: &[u8],
    frame: &VideoFrameRef<&mut gst::BufferRef>,
    mut put_luma: impl FnMut(usize, usize, u8),
    mut put_chroma: impl FnMut(usize, usize, u8, u8),
) {
    let (width, height) = (frame.width() as usize, frame.height() as usize);
    let coding = Coding::of(frame.info());
    let (fx, fy) = subsampling(frame.format());
    let (h_cosited, v_cosited) = siting(frame.info());
    let rgb = |x: usize, y: usize| {
        let p = 4 * (y * width + x);
        [f32::from(pixels[p]), f32::from(pixels[p + 1]), f32::from(pixels[p + 2])]
    };
    for y in 0..height {
        for x in 0..width {
            put_luma(x, y, byte(coding.to_yuv(rgb(x, y))[0]));
        }
    }
    let (chroma_w, chroma_h) = (width.div_ceil(fx), height.div_ceil(fy));
    let columns: Vec<_> = (0..chroma_w).map(|cx| downsampling_taps(width, cx, fx, h_cosited)).collect();
    let mut filtered = vec![[0.0f32; 2]; width];
    for cy in 0..chroma_h {
        filtered.fill([0.0; 2]);
        for (row, weight) in downsampling_taps(height, cy, fy, v_cosited) {
            for (x, value) in filtered.iter_mut().enumerate() {
                let [_, cb, cr] = coding.to_yuv(rgb(x, row));
                value[0] += weight * cb;
                value[1] += weight * cr;
            }
        }
        for (cx, taps) in columns.iter().enumerate() {
            let (mut cb, mut cr) = (0.0, 0.0);
            for &(x, weight) in taps {
                cb += weight * filtered[x][0];
                cr += weight * filtered[x][1];
            }
            put_chroma(cx, cy, byte(cb), byte(cr));
        }
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
        VideoFormat::Nv12 => {
            let ((y_plane, ys), (uv, uvs)) = (plane(frame, 0)?, plane(frame, 1)?);
            read_yuv(frame, |x, y| y_plane[y * ys + x], |c, cx, cy| uv[cy * uvs + 2 * cx + c], out);
        }
        VideoFormat::I420 => {
            let (y_plane, ys) = plane(frame, 0)?;
            let ((u, us), (v, vs)) = (plane(frame, 1)?, plane(frame, 2)?);
            read_yuv(
                frame,
                |x, y| y_plane[y * ys + x],
                |c, cx, cy| if c == 0 { u[cy * us + cx] } else { v[cy * vs + cx] },
                out,
            );
        }
        VideoFormat::Yuy2 => {
            let (data, stride) = plane(frame, 0)?;
            read_yuv(
                frame,
                |x, y| data[y * stride + (x / 2) * 4 + (x % 2) * 2],
                |c, cx, cy| data[cy * stride + 4 * cx + 1 + 2 * c],
                out,
            );
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
            // written into owned planes first: the frame is read (its info) while written
            let sizes: Vec<usize> = (0..frame.n_planes()).map(|i| frame.plane_data(i).map_or(0, <[u8]>::len)).collect();
            let mut planes: Vec<Vec<u8>> = sizes.iter().map(|&n| vec![0u8; n]).collect();
            {
                let (first, rest) = planes.split_at_mut(1);
                let y_plane = &mut first[0];
                let put_luma = |x: usize, y: usize, v: u8| match format {
                    VideoFormat::Yuy2 => y_plane[y * strides[0] + (x / 2) * 4 + (x % 2) * 2] = v,
                    _ => y_plane[y * strides[0] + x] = v,
                };
                let mut chroma_values = Vec::new();
                write_yuv(pixels, frame, put_luma, |cx, cy, cb, cr| chroma_values.push((cx, cy, cb, cr)));
                for (cx, cy, cb, cr) in chroma_values {
                    match format {
                        VideoFormat::Nv12 => {
                            rest[0][cy * strides[1] + 2 * cx] = cb;
                            rest[0][cy * strides[1] + 2 * cx + 1] = cr;
                        }
                        VideoFormat::I420 => {
                            rest[0][cy * strides[1] + cx] = cb;
                            rest[1][cy * strides[2] + cx] = cr;
                        }
                        _ => {
                            first[0][cy * strides[0] + 4 * cx + 1] = cb;
                            first[0][cy * strides[0] + 4 * cx + 3] = cr;
                        }
                    }
                }
            }
            for (i, data) in planes.iter().enumerate() {
                frame.plane_data_mut(i as u32)?.copy_from_slice(data);
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
