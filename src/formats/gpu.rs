//! The converted formats on the GPU (`shaders/formats.wgsl`), in the command buffer that
//! refocuses the frame: a frame's planes are uploaded as they are (1.5 bytes a pixel for
//! NV12 against 4) and decoded into the renderer's RGBA ([`Decoder`]), and the refocused RGBA
//! is coded into the planes of the output's format ([`Encoder`]), of which only those planes
//! are read back. The host only copies rows between the frames (at their strides) and the
//! planes' layout ([`PlaneCoding::planes`]). The conventions are the CPU code's
//! ([`super::read`], [`super::write`]): decoding agrees exactly, coding within a level.
//!
//! Both are passes of their own beside the renderer's rather than parts of them: a chroma
//! sample is the mean of pixels that different invocations of the normalising pass write,
//! and the renderer's passes read each pixel many times.

use anyhow::Result;
use bytemuck::{Pod, Zeroable};
use gst_video::prelude::*;
use gst_video::{VideoFormat, VideoFrameRef};

use super::{Coding, siting, subsampling};
use crate::gpu::{GpuContext, bind_group_layout, binding};

/// `KIND` in the shader.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Nv12 = 1,
    /// I420, Y42B, Y444: Y, Cb and Cr planes.
    Planar = 2,
    Yuy2 = 3,
    Gray8 = 4,
    Rgb = 5,
}

/// How a frame of a converted format is coded: what the shader needs, from the caps.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlaneCoding {
    kind: Kind,
    width: u32,
    height: u32,
    /// Pixels per chroma sample, horizontally and vertically.
    subsampling: (u32, u32),
    /// Chroma co-sited horizontally, vertically.
    siting: (bool, bool),
    /// BGR (R and B swapped).
    swap: bool,
    coding: Coding,
}

/// One plane of the coded frame, as the shader writes it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Plane {
    /// Bytes of a row that belong to the frame, and rows.
    pub row_bytes: usize,
    pub rows: usize,
    /// Where its rows start in the planes read back, and how far apart they are (row_bytes
    /// padded to whole words).
    pub offset: usize,
    pub stride: usize,
}

impl PlaneCoding {
    /// The coding of frames of `info`; `None` for the 4-byte formats, which are not coded.
    pub fn of(info: &gst_video::VideoInfo) -> Option<PlaneCoding> {
        let format = info.format();
        let kind = match format {
            VideoFormat::Nv12 => Kind::Nv12,
            VideoFormat::I420 | VideoFormat::Y42b | VideoFormat::Y444 => Kind::Planar,
            VideoFormat::Yuy2 => Kind::Yuy2,
            VideoFormat::Gray8 => Kind::Gray8,
            VideoFormat::Rgb | VideoFormat::Bgr => Kind::Rgb,
            _ => return None,
        };
        let (fx, fy) = subsampling(format);
        Some(PlaneCoding {
            kind,
            width: info.width(),
            height: info.height(),
            subsampling: (fx as u32, fy as u32),
            siting: siting(info),
            swap: format == VideoFormat::Bgr,
            coding: Coding::of(info),
        })
    }

    /// The frame's width and height.
    pub fn size(&self) -> (u32, u32) {
        (self.width, self.height)
    }

    fn chroma_size(&self) -> (u32, u32) {
        let (fx, fy) = self.subsampling;
        (self.width.div_ceil(fx), self.height.div_ceil(fy))
    }

    /// The planes the shader writes, in order, laid out one after the other.
    pub fn planes(&self) -> Vec<Plane> {
        let (w, h) = (self.width as usize, self.height as usize);
        let (cw, ch) = self.chroma_size();
        let (cw, ch) = (cw as usize, ch as usize);
        let shapes: Vec<(usize, usize)> = match self.kind {
            Kind::Nv12 => vec![(w, h), (2 * cw, ch)],
            Kind::Planar => vec![(w, h), (cw, ch), (cw, ch)],
            Kind::Yuy2 => vec![(4 * cw, h)],
            Kind::Gray8 => vec![(w, h)],
            Kind::Rgb => vec![(3 * w, h)],
        };
        let mut offset = 0;
        shapes
            .into_iter()
            .map(|(row_bytes, rows)| {
                let stride = row_bytes.next_multiple_of(4);
                let plane = Plane {
                    row_bytes,
                    rows,
                    offset,
                    stride,
                };
                offset += stride * rows;
                plane
            })
            .collect()
    }

    /// Bytes of all planes together.
    pub fn bytes(&self) -> usize {
        self.planes()
            .last()
            .map_or(0, |p| p.offset + p.stride * p.rows)
    }

    /// The pipeline constants of the shader for plane `plane`.
    fn constants(&self, plane: usize) -> Constants {
        [
            ("KIND", f64::from(self.kind as u32)),
            ("PLANE", plane as f64),
            ("FX", f64::from(self.subsampling.0)),
            ("FY", f64::from(self.subsampling.1)),
            ("H_COSITED", f64::from(u8::from(self.siting.0))),
            ("V_COSITED", f64::from(u8::from(self.siting.1))),
            ("SWAP", f64::from(u8::from(self.swap))),
        ]
    }

    fn uniform(&self) -> CodingUniform {
        let coding = self.coding;
        let scale = if coding.full_range { 255.0 } else { 219.0 } / 255.0 * 65536.0;
        let [wr, wg, wb] =
            [coding.kr, 1.0 - coding.kr - coding.kb, coding.kb].map(|k| (k * scale).round() as i32);
        let luma_offset = if coding.full_range { 0 } else { 16 << 16 } + 32768;
        let (chroma_w, chroma_h) = self.chroma_size();
        let mut offsets = [0; 4];
        let mut words = [0; 4];
        let mut rows = [0; 4];
        for (i, plane) in self.planes().iter().enumerate() {
            offsets[i] = (plane.offset / 4) as u32;
            words[i] = (plane.stride / 4) as u32;
            rows[i] = plane.rows as u32;
        }
        CodingUniform {
            width: self.width,
            height: self.height,
            chroma_w,
            chroma_h,
            luma: [luma_offset, wr, wg, wb],
            coding: [
                coding.kr,
                coding.kb,
                0.0,
                if coding.full_range { 255.0 } else { 224.0 },
            ],
            offsets,
            words,
            rows,
        }
    }
}

/// `Coding` in the shader.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct CodingUniform {
    width: u32,
    height: u32,
    chroma_w: u32,
    chroma_h: u32,
    luma: [i32; 4],
    coding: [f32; 4],
    offsets: [u32; 4],
    words: [u32; 4],
    rows: [u32; 4],
}

/// The buffers of one coding, made when it changes.
struct Sized {
    coding: PlaneCoding,
    planes: wgpu::Buffer,
    readback: wgpu::Buffer,
}

/// A pipeline's constants ([`PlaneCoding::constants`]).
type Constants = [(&'static str, f64); 7];

/// One entry point of `shaders/formats.wgsl` with its layout and its `Coding` uniform.
struct Stage {
    entry: &'static str,
    module: wgpu::ShaderModule,
    layout: wgpu::BindGroupLayout,
    pipeline_layout: wgpu::PipelineLayout,
    uniform: wgpu::Buffer,
}

impl Stage {
    /// `entry`, reading and writing the storage `bindings` (binding, read-only).
    fn new(device: &wgpu::Device, entry: &'static str, bindings: &[(u32, bool)]) -> Stage {
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("formats"),
            source: wgpu::ShaderSource::Wgsl(include_str!("../../shaders/formats.wgsl").into()),
        });
        let layout = bind_group_layout(device, entry, bindings);
        let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some(entry),
            bind_group_layouts: &[Some(&layout)],
            immediate_size: 0,
        });
        let uniform = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(entry),
            size: std::mem::size_of::<CodingUniform>() as u64,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        Stage {
            entry,
            module,
            layout,
            pipeline_layout,
            uniform,
        }
    }

    /// The entry point specialised by `constants`.
    fn pipeline(&self, device: &wgpu::Device, constants: &Constants) -> wgpu::ComputePipeline {
        device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some(self.entry),
            layout: Some(&self.pipeline_layout),
            module: &self.module,
            entry_point: Some(self.entry),
            compilation_options: wgpu::PipelineCompilationOptions {
                constants,
                ..Default::default()
            },
            cache: None,
        })
    }

    fn bind_group(
        &self,
        device: &wgpu::Device,
        storage: &[(u32, &wgpu::Buffer)],
    ) -> wgpu::BindGroup {
        let mut entries = vec![binding(0, &self.uniform)];
        entries.extend(storage.iter().map(|&(b, buffer)| binding(b, buffer)));
        device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some(self.entry),
            layout: &self.layout,
            entries: &entries,
        })
    }
}

/// Codes RGBA pixels on the GPU into the planes of a [`PlaneCoding`]: [`Encoder::record`]
/// into the renderer's command buffer, [`Encoder::read`] after it was submitted.
pub struct Encoder {
    stage: Stage,
    sized: Option<Sized>,
    /// The pipelines made so far, one per plane of each coding seen (compiling one costs
    /// more than coding a frame).
    pipelines: Vec<(Constants, wgpu::ComputePipeline)>,
}

impl Encoder {
    pub fn new(context: &GpuContext) -> Encoder {
        Encoder {
            stage: Stage::new(&context.device, "encode", &[(1, true), (2, false)]),
            sized: None,
            pipelines: Vec::new(),
        }
    }

    /// Records the coding of `pixels` (RGBA, one u32 per pixel, `coding`'s size, tightly
    /// packed) and the copy of the planes for reading back.
    pub fn record(
        &mut self,
        context: &GpuContext,
        encoder: &mut wgpu::CommandEncoder,
        pixels: &wgpu::Buffer,
        coding: &PlaneCoding,
    ) {
        let device = &context.device;
        if self.sized.as_ref().is_none_or(|s| s.coding != *coding) {
            let bytes = coding.bytes() as u64;
            let buffer = |label, usage| {
                device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some(label),
                    size: bytes.max(16),
                    usage,
                    mapped_at_creation: false,
                })
            };
            use wgpu::BufferUsages as U;
            self.sized = Some(Sized {
                coding: *coding,
                planes: buffer("coded planes", U::STORAGE | U::COPY_SRC),
                readback: buffer("coded readback", U::MAP_READ | U::COPY_DST),
            });
            context.queue.write_buffer(
                &self.stage.uniform,
                0,
                bytemuck::bytes_of(&coding.uniform()),
            );
        }
        let planes = coding.planes();
        for plane in 0..planes.len() {
            let constants = coding.constants(plane);
            if !self.pipelines.iter().any(|(c, _)| *c == constants) {
                let pipeline = self.stage.pipeline(device, &constants);
                self.pipelines.push((constants, pipeline));
            }
        }
        let sized = self.sized.as_ref().expect("made above");
        // Made per frame (cheap): the renderer's output buffer changes with its frame size.
        let bind_group = self
            .stage
            .bind_group(device, &[(1, pixels), (2, &sized.planes)]);
        {
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("encode"),
                timestamp_writes: None,
            });
            pass.set_bind_group(0, &bind_group, &[]);
            for (index, plane) in planes.iter().enumerate() {
                let constants = coding.constants(index);
                let (_, pipeline) = self
                    .pipelines
                    .iter()
                    .find(|(c, _)| *c == constants)
                    .expect("made above");
                pass.set_pipeline(pipeline);
                let words = (plane.stride / 4) as u32;
                pass.dispatch_workgroups(words.div_ceil(8), (plane.rows as u32).div_ceil(8), 1);
            }
        }
        let bytes = coding.bytes() as u64;
        encoder.copy_buffer_to_buffer(&sized.planes, 0, &sized.readback, 0, bytes);
    }

    /// The planes recorded last ([`PlaneCoding::planes`]' layout), once the GPU is done.
    pub fn read(&self, context: &GpuContext, out: &mut Vec<u8>) -> Result<()> {
        let sized = self.sized.as_ref().expect("record ran first");
        let slice = sized.readback.slice(..sized.coding.bytes() as u64);
        context.read_back(&sized.readback, slice, "coding the output", |bytes| {
            out.clear();
            out.extend_from_slice(bytes);
        })
    }
}

/// Writes what [`crate::dof::gpu::Renderer::render_into`] gave into `frame`: 4-byte pixels
/// (`coding` `None`, [`super::write`]) or planes coded on the GPU ([`write_planes`]).
pub fn write_output(
    output: &[u8],
    coding: Option<&PlaneCoding>,
    frame: &mut VideoFrameRef<&mut gst::BufferRef>,
) -> Result<(), glib::BoolError> {
    match coding {
        None => super::write(output, frame),
        Some(coding) => write_planes(output, coding, frame),
    }
}

/// Copies planes coded on the GPU (`coding`'s layout) into `frame`, at its strides.
pub fn write_planes(
    planes: &[u8],
    coding: &PlaneCoding,
    frame: &mut VideoFrameRef<&mut gst::BufferRef>,
) -> Result<(), glib::BoolError> {
    if PlaneCoding::of(frame.info()).as_ref() != Some(coding) {
        return Err(glib::bool_error!(
            "planes coded for {}x{} written into a {:?} frame of {}x{}",
            coding.width,
            coding.height,
            frame.format(),
            frame.width(),
            frame.height()
        ));
    }
    let strides: Vec<usize> = frame.plane_stride().iter().map(|s| *s as usize).collect();
    for (index, plane) in coding.planes().iter().enumerate() {
        let data = frame.plane_data_mut(index as u32)?;
        let stride = strides[index];
        for row in 0..plane.rows {
            let from = plane.offset + row * plane.stride;
            data[row * stride..row * stride + plane.row_bytes]
                .copy_from_slice(&planes[from..from + plane.row_bytes]);
        }
    }
    Ok(())
}

/// Copies the planes of `frame` (at its strides) into `coding`'s layout, for [`Decoder`].
pub fn read_planes(
    frame: &VideoFrameRef<&gst::BufferRef>,
    coding: &PlaneCoding,
    out: &mut Vec<u8>,
) -> Result<(), glib::BoolError> {
    if PlaneCoding::of(frame.info()).as_ref() != Some(coding) {
        return Err(glib::bool_error!(
            "a {:?} frame of {}x{} read as planes coded for {}x{}",
            frame.format(),
            frame.width(),
            frame.height(),
            coding.width,
            coding.height
        ));
    }
    out.clear();
    out.resize(coding.bytes(), 0);
    for (index, plane) in coding.planes().iter().enumerate() {
        let data = frame.plane_data(index as u32)?;
        let stride = frame.plane_stride()[index] as usize;
        for row in 0..plane.rows {
            let to = plane.offset + row * plane.stride;
            out[to..to + plane.row_bytes]
                .copy_from_slice(&data[row * stride..row * stride + plane.row_bytes]);
        }
    }
    Ok(())
}

/// The Y'CbCr tables of the CPU's decoding, in the shader's order.
fn tables(coding: &PlaneCoding) -> Vec<i32> {
    let t = coding.coding.tables();
    [t.y, t.r_cr, t.g_cb, t.g_cr, t.b_cb].concat()
}

/// What a [`Decoder`] holds for one coding, made when it changes.
struct Upload {
    coding: PlaneCoding,
    coded: wgpu::Buffer,
    pipeline: wgpu::ComputePipeline,
}

/// Decodes a frame's planes on the GPU into RGBA pixels (alpha 255): [`Decoder::record`]
/// uploads them and records the pass into the renderer's command buffer.
pub struct Decoder {
    stage: Stage,
    tables: wgpu::Buffer,
    upload: Option<Upload>,
}

impl Decoder {
    pub fn new(context: &GpuContext) -> Decoder {
        let device = &context.device;
        Decoder {
            stage: Stage::new(device, "decode", &[(3, true), (4, false), (5, true)]),
            tables: device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("decode tables"),
                size: 5 * 256 * 4,
                usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            }),
            upload: None,
        }
    }

    /// Uploads `planes` (a frame's, in `coding`'s layout: [`read_planes`]) and records their
    /// decoding into `pixels` (one u32 per pixel, `coding`'s size, tightly packed).
    pub fn record(
        &mut self,
        context: &GpuContext,
        encoder: &mut wgpu::CommandEncoder,
        planes: &[u8],
        coding: &PlaneCoding,
        pixels: &wgpu::Buffer,
    ) -> Result<()> {
        anyhow::ensure!(
            planes.len() == coding.bytes(),
            "{} bytes of planes for a {}x{} {:?} frame, expected {}",
            planes.len(),
            coding.width,
            coding.height,
            coding.kind,
            coding.bytes()
        );
        let device = &context.device;
        if self.upload.as_ref().is_none_or(|u| u.coding != *coding) {
            self.upload = None;
            let coded = device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("coded input"),
                size: (coding.bytes() as u64).max(16),
                usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            });
            let pipeline = self.stage.pipeline(device, &coding.constants(0));
            let queue = &context.queue;
            queue.write_buffer(
                &self.stage.uniform,
                0,
                bytemuck::bytes_of(&coding.uniform()),
            );
            queue.write_buffer(&self.tables, 0, bytemuck::cast_slice(&tables(coding)));
            self.upload = Some(Upload {
                coding: *coding,
                coded,
                pipeline,
            });
        }
        let upload = self.upload.as_ref().expect("made above");
        context.queue.write_buffer(&upload.coded, 0, planes);
        let storage = [(3, &upload.coded), (4, pixels), (5, &self.tables)];
        let bind_group = self.stage.bind_group(device, &storage);
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: Some("decode"),
            timestamp_writes: None,
        });
        pass.set_pipeline(&upload.pipeline);
        pass.set_bind_group(0, &bind_group, &[]);
        pass.dispatch_workgroups(coding.width.div_ceil(8), coding.height.div_ceil(8), 1);
        Ok(())
    }
}
