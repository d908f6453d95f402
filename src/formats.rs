//! The video formats the elements take: the 4-byte RGB formats the renderer and the network
//! work on directly, and what decoders and cameras deliver (NV12, I420, Y42B, Y444, YUY2, GRAY8, RGB,
//! BGR), converted to tightly packed RGBA on the way in and back to the input's format on
//! the way out, by the caps' colour matrix and range. Strides and plane offsets come from the
//! mapped frame, so a `GstVideoMeta`'s layout is honoured for every plane.
//!
//! YUV (Y'CbCr) with luma weights Kr, Kb (BT.601, BT.709, BT.2020 by the caps):
//! R = Y + 2 (1 - Kr) Cr, B = Y + 2 (1 - Kb) Cb, G = (Y - Kr R - Kb B) / (1 - Kr - Kb), with
//! Y in [16, 235] and Cb, Cr in [16, 240] for limited range, [0, 255] for full range. Chroma
//! (one sample per 2x2 pixels for NV12 and I420, per 2x1 for YUY2 and Y42B, per pixel for Y444) is interpolated linearly
//! on the way in and filtered (the mean of the pixels a sample covers) on the way out, both
//! at the caps' `chroma-site` (centred where the caps do not say, as GStreamer assumes). GRAY8 is full-range luma: R = G = B = Y in,
//! Y = BT.601 luma out.

pub mod gpu;

use gst_video::prelude::*;
use gst_video::{VideoColorMatrix, VideoColorRange, VideoFormat, VideoFrameRef};

use crate::dof::Transfer;

/// 4-byte formats: colour in bytes 0..3, the fourth byte passed through; no conversion.
pub const PACKED4: [VideoFormat; 4] = [
    VideoFormat::Rgba,
    VideoFormat::Bgra,
    VideoFormat::Rgbx,
    VideoFormat::Bgrx,
];

/// Every colour format the elements take: the 4-byte ones first (preferred in negotiation),
/// then those converted.
pub const COLOUR_FORMATS: [VideoFormat; 12] = [
    VideoFormat::Rgba,
    VideoFormat::Bgra,
    VideoFormat::Rgbx,
    VideoFormat::Bgrx,
    VideoFormat::Nv12,
    VideoFormat::I420,
    VideoFormat::Y42b,
    VideoFormat::Y444,
    VideoFormat::Yuy2,
    VideoFormat::Gray8,
    VideoFormat::Rgb,
    VideoFormat::Bgr,
];

/// Whether frames of `format` are used as they are (4 bytes per pixel).
pub fn is_packed4(format: VideoFormat) -> bool {
    PACKED4.contains(&format)
}

/// The transfer function of a frame's values, from its caps' colorimetry, for linear light
/// (`dof::light`). Transfers the renderer does not know (log, PQ, HLG, unknown) are taken as
/// sRGB.
pub fn transfer(info: &gst_video::VideoInfo) -> Transfer {
    use gst_video::VideoTransferFunction as T;
    match info.colorimetry().transfer() {
        T::Bt709 | T::Bt601 | T::Bt202010 | T::Bt202012 | T::Smpte240m => Transfer::Bt709,
        T::Gamma10 => Transfer::Gamma(1.0),
        T::Gamma18 => Transfer::Gamma(1.8),
        T::Gamma20 => Transfer::Gamma(2.0),
        T::Gamma22 | T::Adobergb => Transfer::Gamma(2.2),
        T::Gamma28 => Transfer::Gamma(2.8),
        _ => Transfer::Srgb,
    }
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
fn upsampling_taps(
    n: usize,
    samples: usize,
    factor: usize,
    cosited: bool,
) -> Vec<(usize, usize, f32)> {
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
        (_, true) => vec![
            (at(first - 1), 0.25),
            (at(first), 0.5),
            (at(first + 1), 0.25),
        ],
        _ => (0..factor as isize)
            .map(|d| (at(first + d), 1.0 / factor as f32))
            .collect(),
    }
}

/// Chroma subsampling of a YUV format: pixels per sample horizontally and vertically.
fn subsampling(format: VideoFormat) -> (usize, usize) {
    match format {
        VideoFormat::Yuy2 | VideoFormat::Y42b => (2, 1),
        VideoFormat::Y444 => (1, 1),
        _ => (2, 2),
    }
}

/// Values at a fixed step in a row of a plane (a component of interleaved samples).
#[derive(Clone, Copy)]
struct Line<'a> {
    data: &'a [u8],
    step: usize,
    offset: usize,
}

impl<'a> Line<'a> {
    /// Row `row` of a plane whose rows are `stride` bytes apart: every `step`-th byte from
    /// `offset`.
    fn of(plane: &'a [u8], stride: usize, row: usize, step: usize, offset: usize) -> Line<'a> {
        Line {
            data: &plane[row * stride..],
            step,
            offset,
        }
    }

    fn get(&self, i: usize) -> u8 {
        self.data[i * self.step + self.offset]
    }
}

/// Integer tables of a Y'CbCr decoding: each component's share of R, G, B in 1/65536 of a
/// level.
struct Tables {
    y: [i32; 256],
    r_cr: [i32; 256],
    g_cb: [i32; 256],
    g_cr: [i32; 256],
    b_cb: [i32; 256],
}

impl Coding {
    fn tables(self) -> Tables {
        let (y_scale, c_scale, y_offset) = if self.full_range {
            (255.0, 255.0, 0.0)
        } else {
            (219.0, 224.0, 16.0)
        };
        let kg = 1.0 - self.kr - self.kb;
        let fixed = |v: f32| (v * 255.0 * 65536.0).round() as i32;
        let chroma = |i: usize| (i as f32 - 128.0) / c_scale;
        Tables {
            y: std::array::from_fn(|i| fixed((i as f32 - y_offset) / y_scale) + 32768),
            r_cr: std::array::from_fn(|i| fixed(2.0 * (1.0 - self.kr) * chroma(i))),
            g_cb: std::array::from_fn(|i| fixed(-2.0 * self.kb * (1.0 - self.kb) / kg * chroma(i))),
            g_cr: std::array::from_fn(|i| fixed(-2.0 * self.kr * (1.0 - self.kr) / kg * chroma(i))),
            b_cb: std::array::from_fn(|i| fixed(2.0 * (1.0 - self.kb) * chroma(i))),
        }
    }
}

impl Tables {
    fn decode(&self, y: u8, cb: u8, cr: u8) -> [u8; 3] {
        let (l, cb, cr) = (self.y[usize::from(y)], usize::from(cb), usize::from(cr));
        [
            clamp_level(l + self.r_cr[cr]),
            clamp_level(l + self.g_cb[cb] + self.g_cr[cr]),
            clamp_level(l + self.b_cb[cb]),
        ]
    }
}

fn clamp_level(v: i32) -> u8 {
    (v >> 16).clamp(0, 255) as u8
}

/// Reads a YUV frame into RGBA: `luma(y)` and `chroma(component, cy)` give the rows of
/// stored values; chroma interpolated linearly at the frame's siting (in 1/256 steps).
fn read_yuv<'a>(
    frame: &VideoFrameRef<&gst::BufferRef>,
    luma: impl Fn(usize) -> Line<'a>,
    chroma: impl Fn(usize, usize) -> Line<'a>,
    out: &mut Vec<u8>,
) {
    let (width, height) = (frame.width() as usize, frame.height() as usize);
    let tables = Coding::of(frame.info()).tables();
    let (fx, fy) = subsampling(frame.format());
    let (h_cosited, v_cosited) = siting(frame.info());
    let (chroma_w, chroma_h) = (width.div_ceil(fx), height.div_ceil(fy));
    let weight = |t: f32| (t * 256.0).round() as u32;
    let columns: Vec<(usize, usize, u32)> = upsampling_taps(width, chroma_w, fx, h_cosited)
        .into_iter()
        .map(|(a, b, t)| (a, b, weight(t)))
        .collect();
    let rows = upsampling_taps(height, chroma_h, fy, v_cosited);
    let mut vertical = [vec![0u32; chroma_w], vec![0u32; chroma_w]];
    for (y, &(r0, r1, wy)) in rows.iter().enumerate() {
        let wy = weight(wy);
        for (c, line) in vertical.iter_mut().enumerate() {
            let (top, bottom) = (chroma(c, r0), chroma(c, r1));
            for (cx, value) in line.iter_mut().enumerate() {
                *value = u32::from(top.get(cx)) * (256 - wy) + u32::from(bottom.get(cx)) * wy;
            }
        }
        let luma = luma(y);
        for (x, &(c0, c1, wx)) in columns.iter().enumerate() {
            let sample =
                |line: &[u32]| ((line[c0] * (256 - wx) + line[c1] * wx + 32768) >> 16) as usize;
            let (cb, cr) = (sample(&vertical[0]), sample(&vertical[1]));
            let [r, g, b] = tables.decode(luma.get(x), cb as u8, cr as u8);
            out.extend_from_slice(&[r, g, b, 255]);
        }
    }
}

/// What writing RGBA as YUV needs to know of a frame.
struct YuvOut {
    width: usize,
    height: usize,
    coding: Coding,
    subsampling: (usize, usize),
    siting: (bool, bool),
}

impl YuvOut {
    fn of(info: &gst_video::VideoInfo) -> YuvOut {
        YuvOut {
            width: info.width() as usize,
            height: info.height() as usize,
            coding: Coding::of(info),
            subsampling: subsampling(info.format()),
            siting: siting(info),
        }
    }

    /// The luma of each pixel, into every `step`-th byte (from `offset`) of each row of
    /// `plane` (`stride` bytes apart).
    fn luma(&self, pixels: &[u8], plane: &mut [u8], stride: usize, step: usize, offset: usize) {
        let coding = self.coding;
        let scale = if coding.full_range { 255.0 } else { 219.0 } / 255.0 * 65536.0;
        let [wr, wg, wb] =
            [coding.kr, 1.0 - coding.kr - coding.kb, coding.kb].map(|k| (k * scale).round() as i32);
        let luma_offset = if coding.full_range { 0 } else { 16 << 16 } + 32768;
        for y in 0..self.height {
            let row = &pixels[y * self.width * 4..(y + 1) * self.width * 4];
            let out = &mut plane[y * stride..];
            for (x, p) in row.chunks_exact(4).enumerate() {
                let v = luma_offset
                    + wr * i32::from(p[0])
                    + wg * i32::from(p[1])
                    + wb * i32::from(p[2]);
                out[x * step + offset] = clamp_level(v);
            }
        }
    }

    /// The chroma samples (Cb, Cr), row by row: each the mean of the RGB of the pixels it
    /// covers at the frame's siting, then coded (the coding is linear).
    fn chroma(&self, pixels: &[u8]) -> (usize, Vec<[u8; 2]>) {
        let (width, height) = (self.width, self.height);
        let ((fx, fy), (h_cosited, v_cosited)) = (self.subsampling, self.siting);
        let (chroma_w, chroma_h) = (width.div_ceil(fx), height.div_ceil(fy));
        let columns: Vec<_> = (0..chroma_w)
            .map(|cx| downsampling_taps(width, cx, fx, h_cosited))
            .collect();
        let mut filtered = vec![[0.0f32; 3]; width];
        let mut samples = Vec::with_capacity(chroma_w * chroma_h);
        for cy in 0..chroma_h {
            filtered.fill([0.0; 3]);
            for (row, weight) in downsampling_taps(height, cy, fy, v_cosited) {
                let pixels = &pixels[row * width * 4..(row + 1) * width * 4];
                for (value, p) in filtered.iter_mut().zip(pixels.chunks_exact(4)) {
                    for c in 0..3 {
                        value[c] += weight * f32::from(p[c]);
                    }
                }
            }
            for taps in &columns {
                let mut rgb = [0.0f32; 3];
                for &(x, weight) in taps {
                    for c in 0..3 {
                        rgb[c] += weight * filtered[x][c];
                    }
                }
                let [_, cb, cr] = self.coding.to_yuv(rgb);
                samples.push([byte(cb), byte(cr)]);
            }
        }
        (chroma_w, samples)
    }
}

fn plane<'a>(
    frame: &'a VideoFrameRef<&gst::BufferRef>,
    index: u32,
) -> Result<(&'a [u8], usize), glib::BoolError> {
    Ok((
        frame.plane_data(index)?,
        frame.plane_stride()[index as usize] as usize,
    ))
}

/// Reads a frame of any of [`COLOUR_FORMATS`] into tightly packed 4-byte pixels, `width *
/// height * 4` bytes in `out`: the frame's own bytes for the 4-byte formats, RGBA (alpha
/// 255) for the others.
pub fn read(
    frame: &VideoFrameRef<&gst::BufferRef>,
    out: &mut Vec<u8>,
) -> Result<(), glib::BoolError> {
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
            read_yuv(
                frame,
                |y| Line::of(y_plane, ys, y, 1, 0),
                |c, cy| Line::of(uv, uvs, cy, 2, c),
                out,
            );
        }
        VideoFormat::I420 | VideoFormat::Y42b | VideoFormat::Y444 => {
            let (y_plane, ys) = plane(frame, 0)?;
            let ((u, us), (v, vs)) = (plane(frame, 1)?, plane(frame, 2)?);
            read_yuv(
                frame,
                |y| Line::of(y_plane, ys, y, 1, 0),
                |c, cy| {
                    if c == 0 {
                        Line::of(u, us, cy, 1, 0)
                    } else {
                        Line::of(v, vs, cy, 1, 0)
                    }
                },
                out,
            );
        }
        VideoFormat::Yuy2 => {
            let (data, stride) = plane(frame, 0)?;
            read_yuv(
                frame,
                |y| Line::of(data, stride, y, 2, 0),
                |c, cy| Line::of(data, stride, cy, 4, 1 + 2 * c),
                out,
            );
        }
        other => {
            return Err(glib::bool_error!(
                "format {other:?} is not one the elements take"
            ));
        }
    }
    Ok(())
}

/// Writes tightly packed 4-byte pixels (as [`read`] gave them: the frame format's own byte
/// order for 4-byte formats, RGBA for the others) into a frame of any of
/// [`COLOUR_FORMATS`]; the alpha of converted formats is dropped.
pub fn write(
    pixels: &[u8],
    frame: &mut VideoFrameRef<&mut gst::BufferRef>,
) -> Result<(), glib::BoolError> {
    let (width, height) = (frame.width() as usize, frame.height() as usize);
    let format = frame.format();
    let rgb = |x: usize, y: usize| {
        let p = 4 * (y.min(height - 1) * width + x.min(width - 1));
        [
            f32::from(pixels[p]),
            f32::from(pixels[p + 1]),
            f32::from(pixels[p + 2]),
        ]
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
                    out.copy_from_slice(&if swap {
                        [p[2], p[1], p[0]]
                    } else {
                        [p[0], p[1], p[2]]
                    });
                }
            }
        }
        VideoFormat::Gray8 => {
            let grey = Coding {
                kr: 0.299,
                kb: 0.114,
                full_range: true,
            };
            let data = frame.plane_data_mut(0)?;
            for y in 0..height {
                for x in 0..width {
                    data[y * strides[0] + x] = byte(grey.to_yuv(rgb(x, y))[0]);
                }
            }
        }
        VideoFormat::Nv12
        | VideoFormat::I420
        | VideoFormat::Y42b
        | VideoFormat::Y444
        | VideoFormat::Yuy2 => {
            let yuv = YuvOut::of(frame.info());
            let (luma_step, luma_offset) = if format == VideoFormat::Yuy2 {
                (2, 0)
            } else {
                (1, 0)
            };
            yuv.luma(
                pixels,
                frame.plane_data_mut(0)?,
                strides[0],
                luma_step,
                luma_offset,
            );
            let (chroma_w, samples) = yuv.chroma(pixels);
            // (plane, stride, step, offset of Cb, offset of Cr) for each plane chroma goes in
            let targets: Vec<(u32, usize, usize, [Option<usize>; 2])> = match format {
                VideoFormat::Nv12 => vec![(1, strides[1], 2, [Some(0), Some(1)])],
                VideoFormat::I420 | VideoFormat::Y42b | VideoFormat::Y444 => vec![
                    (1, strides[1], 1, [Some(0), None]),
                    (2, strides[2], 1, [None, Some(0)]),
                ],
                _ => vec![(0, strides[0], 4, [Some(1), Some(3)])],
            };
            for (index, stride, step, offsets) in targets {
                let data = frame.plane_data_mut(index)?;
                for (i, sample) in samples.iter().enumerate() {
                    let (cx, cy) = (i % chroma_w, i / chroma_w);
                    for (value, offset) in sample.iter().zip(offsets) {
                        if let Some(offset) = offset {
                            data[cy * stride + cx * step + offset] = *value;
                        }
                    }
                }
            }
        }
        other => {
            return Err(glib::bool_error!(
                "format {other:?} is not one the elements take"
            ));
        }
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
                for rgb in [
                    [0u8, 0, 0],
                    [255, 255, 255],
                    [200, 30, 90],
                    [12, 250, 128],
                    [90, 90, 91],
                ] {
                    let [y, cb, cr] = coding.to_yuv(rgb.map(f32::from)).map(byte);
                    let back = coding.tables().decode(y, cb, cr);
                    for c in 0..3 {
                        assert!(
                            back[c].abs_diff(rgb[c]) <= 2,
                            "{rgb:?} -> {back:?} ({kr}, {full_range})"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn limited_range_black_and_white_are_16_and_235() {
        let coding = Coding {
            kr: 0.2126,
            kb: 0.0722,
            full_range: false,
        };
        assert_eq!(coding.to_yuv([0.0; 3]).map(byte), [16, 128, 128]);
        assert_eq!(coding.to_yuv([255.0; 3]).map(byte), [235, 128, 128]);
        assert_eq!(coding.tables().decode(235, 128, 128), [255, 255, 255]);
        assert_eq!(coding.tables().decode(16, 128, 128), [0, 0, 0]);
    }

    #[test]
    fn transfer_follows_the_caps_colorimetry() {
        gst::init().expect("GStreamer");
        let caps = |caps: &str| {
            let caps: gst::Caps = caps.parse().expect("caps");
            transfer(&gst_video::VideoInfo::from_caps(&caps).expect("video caps"))
        };
        let size = "width=64,height=48,framerate=25/1";
        assert_eq!(
            caps(&format!("video/x-raw,format=RGBA,{size}")),
            Transfer::Srgb
        );
        assert_eq!(
            caps(&format!("video/x-raw,format=NV12,{size},colorimetry=bt709")),
            Transfer::Bt709
        );
        assert_eq!(
            caps(&format!("video/x-raw,format=NV12,{size},colorimetry=bt601")),
            Transfer::Bt709
        );
        assert_eq!(
            caps(&format!(
                "video/x-raw,format=RGBx,{size},colorimetry=1:1:1:1"
            )),
            Transfer::Gamma(1.0)
        );
    }
}
