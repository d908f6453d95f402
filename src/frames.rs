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

/// Copies `packed` (width * height * 4 bytes) into a 4-byte-per-pixel frame.
pub fn write_packed4(
    packed: &[u8],
    frame: &mut VideoFrameRef<&mut gst::BufferRef>,
) -> Result<(), glib::BoolError> {
    let (width, height) = (frame.width() as usize, frame.height() as usize);
    let stride = frame.plane_stride()[0] as usize;
    let data = frame.plane_data_mut(0)?;
    for y in 0..height {
        data[y * stride..y * stride + width * 4]
            .copy_from_slice(&packed[y * width * 4..(y + 1) * width * 4]);
    }
    Ok(())
}

/// Reads a GRAY16_LE frame of disparity x 256 into pixels of disparity.
pub fn read_disparity(
    frame: &VideoFrameRef<&gst::BufferRef>,
    out: &mut Vec<f32>,
) -> Result<(), glib::BoolError> {
    let (width, height) = (frame.width() as usize, frame.height() as usize);
    let stride = frame.plane_stride()[0] as usize;
    let data = frame.plane_data(0)?;
    out.clear();
    for y in 0..height {
        let row = &data[y * stride..y * stride + width * 2];
        out.extend(
            row.chunks_exact(2)
                .map(|b| f32::from(u16::from_le_bytes([b[0], b[1]])) / 256.0),
        );
    }
    Ok(())
}

/// Reads a GRAY16_LE depth frame (levels of a depth camera) into pixels of disparity.
pub fn read_depth(
    frame: &VideoFrameRef<&gst::BufferRef>,
    depth: &DepthToDisparity,
    out: &mut Vec<f32>,
) -> Result<(), glib::BoolError> {
    let (width, height) = (frame.width() as usize, frame.height() as usize);
    let stride = frame.plane_stride()[0] as usize;
    let data = frame.plane_data(0)?;
    let levels: Vec<u16> = (0..height)
        .flat_map(|y| {
            data[y * stride..y * stride + width * 2]
                .chunks_exact(2)
                .map(|b| u16::from_le_bytes([b[0], b[1]]))
        })
        .collect();
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
