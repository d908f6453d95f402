//! The rectification remap on the GPU (`shaders/remap.wgsl`): the maps of both views are
//! uploaded once per frame size, each frame's views are uploaded, remapped bilinearly and
//! read back in one submission.

use std::sync::Arc;

use anyhow::{Result, anyhow, bail};

use crate::depth::StereoImage;
use crate::gpu::{GpuContext, bind_group_layout, binding};

/// Buffers for one frame size.
struct Frame {
    width: u32,
    height: u32,
    inputs: [wgpu::Buffer; 2],
    outputs: [wgpu::Buffer; 2],
    readback: wgpu::Buffer,
    bind_groups: [wgpu::BindGroup; 2],
}

pub struct Remapper {
    context: Arc<GpuContext>,
    layout: wgpu::BindGroupLayout,
    pipeline: wgpu::ComputePipeline,
    frame: Option<Frame>,
    staging: Vec<u8>,
}

impl Remapper {
    pub fn new(context: Arc<GpuContext>) -> Remapper {
        let device = &context.device;
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("remap"),
            source: wgpu::ShaderSource::Wgsl(include_str!("../../shaders/remap.wgsl").into()),
        });
        let layout = bind_group_layout(device, "remap", &[(1, true), (2, true), (3, false)]);
        let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("remap"),
            bind_group_layouts: &[Some(&layout)],
            immediate_size: 0,
        });
        let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some("remap"),
            layout: Some(&pipeline_layout),
            module: &module,
            entry_point: Some("remap"),
            compilation_options: Default::default(),
            cache: None,
        });
        Remapper {
            context,
            layout,
            pipeline,
            frame: None,
            staging: Vec::new(),
        }
    }

    /// Uploads the maps of the two views for `width` x `height` frames (input and output of
    /// one size), unless they are already there.
    pub fn set_maps(&mut self, width: u32, height: u32, maps: impl FnOnce() -> [Vec<[f32; 2]>; 2]) {
        if self
            .frame
            .as_ref()
            .is_some_and(|f| (f.width, f.height) == (width, height))
        {
            return;
        }
        let device = &self.context.device;
        let pixels = u64::from(width) * u64::from(height);
        let buffer = |label, size: u64, usage| {
            device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                size: size.max(16),
                usage,
                mapped_at_creation: false,
            })
        };
        let storage = wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST;
        let uniform = buffer(
            "remap size",
            16,
            wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
        );
        self.context.queue.write_buffer(
            &uniform,
            0,
            bytemuck::cast_slice(&[width, height, width, height]),
        );
        let maps = maps().map(|map| {
            let b = buffer("remap map", pixels * 8, storage);
            self.context
                .queue
                .write_buffer(&b, 0, bytemuck::cast_slice(&map));
            b
        });
        let inputs = [(); 2].map(|_| buffer("remap input", pixels * 4, storage));
        let outputs = [(); 2].map(|_| {
            buffer(
                "remap output",
                pixels * 4,
                wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
            )
        });
        let readback = buffer(
            "remap readback",
            pixels * 8,
            wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        );
        let bind_groups = [0, 1].map(|view| {
            device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some("remap"),
                layout: &self.layout,
                entries: &[
                    binding(0, &uniform),
                    binding(1, &inputs[view]),
                    binding(2, &maps[view]),
                    binding(3, &outputs[view]),
                ],
            })
        });
        self.frame = Some(Frame {
            width,
            height,
            inputs,
            outputs,
            readback,
            bind_groups,
        });
    }

    /// Remaps both views (4-byte pixels of the size given to [`Remapper::set_maps`]) into
    /// tightly packed 4-byte pixels in `out` (left, right).
    pub fn remap(&mut self, views: [&StereoImage; 2], out: [&mut Vec<u8>; 2]) -> Result<()> {
        let frame = self
            .frame
            .as_ref()
            .ok_or_else(|| anyhow!("rectification maps were not set"))?;
        let (width, height) = (frame.width as usize, frame.height as usize);
        let bytes = width * height * 4;
        for (view, buffer) in views.iter().zip(&frame.inputs) {
            if (view.width, view.height) != (width, height) {
                bail!(
                    "a {}x{} view to rectify with maps for {width}x{height}",
                    view.width,
                    view.height
                );
            }
            self.staging.clear();
            for y in 0..height {
                self.staging
                    .extend_from_slice(&view.data[y * view.stride..y * view.stride + width * 4]);
            }
            self.context.queue.write_buffer(buffer, 0, &self.staging);
        }
        let device = &self.context.device;
        let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some("remap"),
        });
        {
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("remap"),
                timestamp_writes: None,
            });
            pass.set_pipeline(&self.pipeline);
            for group in &frame.bind_groups {
                pass.set_bind_group(0, group, &[]);
                pass.dispatch_workgroups(frame.width.div_ceil(8), frame.height.div_ceil(8), 1);
            }
        }
        for (view, output) in frame.outputs.iter().enumerate() {
            encoder.copy_buffer_to_buffer(
                output,
                0,
                &frame.readback,
                (view * bytes) as u64,
                bytes as u64,
            );
        }
        self.context.queue.submit([encoder.finish()]);
        let slice = frame.readback.slice(..(2 * bytes) as u64);
        self.context
            .read_back(&frame.readback, slice, "rectifying", |mapped| {
                for (view, out) in out.into_iter().enumerate() {
                    out.clear();
                    out.extend_from_slice(&mapped[view * bytes..(view + 1) * bytes]);
                }
            })?;
        Ok(())
    }
}
