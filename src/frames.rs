//! Copies between GStreamer video frames (with their row strides) and the tightly packed
//! buffers the renderer and the disparity network work on.

use gst_video::VideoFrameRef;

use crate::depth::StereoImage;
use crate::depth_map::DepthToDisparity;
use gst_video::prelude::*;

/// Copies the 4-byte pixels of an image (a whole frame, or one view of a frame that packs
/// two) into `out` (width * height * 4 bytes), row by row.
pub fn read_view(image: &StereoImage, out: &mut Vec<u8>) {
    out.clear();
    for y in 0..image.height {
        out.extend_from_slice(&image.data[y * image.stride..y * image.stride + image.width * 4]);
    }
}

/// The GRAY16_LE values of a frame, row by row (rows the mapped frame's stride apart).
fn gray16_values<'a>(
    frame: &'a VideoFrameRef<&gst::BufferRef>,
) -> Result<impl Iterator<Item = u16> + 'a, glib::BoolError> {
    let (width, height) = (frame.width() as usize, frame.height() as usize);
    let stride = frame.plane_stride()[0] as usize;
    let data = frame.plane_data(0)?;
    Ok((0..height).flat_map(move |y| {
        data[y * stride..y * stride + width * 2]
            .chunks_exact(2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]))
    }))
}

/// Reads a GRAY16_LE frame of disparity x 256 into pixels of disparity.
pub fn read_disparity(
    frame: &VideoFrameRef<&gst::BufferRef>,
    out: &mut Vec<f32>,
) -> Result<(), glib::BoolError> {
    out.clear();
    out.extend(gray16_values(frame)?.map(|v| f32::from(v) / 256.0));
    Ok(())
}

/// Reads a GRAY16_LE depth frame (levels of a depth camera) into pixels of disparity.
pub fn read_depth(
    frame: &VideoFrameRef<&gst::BufferRef>,
    depth: &DepthToDisparity,
    out: &mut Vec<f32>,
) -> Result<(), glib::BoolError> {
    let (width, height) = (frame.width() as usize, frame.height() as usize);
    let levels: Vec<u16> = gray16_values(frame)?.collect();
    depth.convert(&levels, width, height, width, out);
    Ok(())
}

/// Writes pixels of disparity as GRAY16_LE, disparity x 256 (KITTI), rounded and clamped.
pub fn write_disparity(
    disparity: &[f32],
    frame: &mut VideoFrameRef<&mut gst::BufferRef>,
) -> Result<(), glib::BoolError> {
    let (width, height) = (frame.width() as usize, frame.height() as usize);
    let stride = frame.plane_stride()[0] as usize;
    let data = frame.plane_data_mut(0)?;
    for y in 0..height {
        let row = &mut data[y * stride..y * stride + width * 2];
        for (out, d) in row
            .chunks_exact_mut(2)
            .zip(&disparity[y * width..(y + 1) * width])
        {
            let value = (d * 256.0).round().clamp(0.0, 65535.0) as u16;
            out.copy_from_slice(&value.to_le_bytes());
        }
    }
    Ok(())
}
