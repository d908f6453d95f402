//! The layered depth of field on wgpu compute shaders (`shaders/layered_dof.wgsl`).
//!
//! Per frame: the host clamps the disparity, plans the work ([`FramePlan`]), uploads image,
//! disparity, lists and one uniform block per plane, and records every plane's passes into
//! one command buffer, back to front. GPU buffers are made once per frame size and reused.

use std::sync::Arc;

use anyhow::{Result, bail, ensure};
use bytemuck::{Pod, Zeroable};

use super::Params;
use super::plan::{FramePlan, PlaneWork, Slice, TILE};
use crate::dof::Mask;
use crate::gpu::GpuContext;

/// `Frame` in the shader.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct FrameUniform {
    width: u32,
    height: u32,
    min_disparity: f32,
    max_disparity: f32,
}

/// `Plane` in the shader.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct PlaneUniform {
    disparity: f32,
    half_band: f32,
    smooth_alpha: f32,
    scale: f32,
    grid_width: u32,
    grid_height: u32,
    kernel_rows: u32,
    spans_offset: u32,
    inv_area: f32,
    rows_offset: u32,
    rows_count: u32,
    tiles_offset: u32,
    tiles_count: u32,
    composite_offset: u32,
    composite_count: u32,
    row_spans_offset: u32,
}

/// What a frame cost, for logs and benchmarks.
#[derive(Debug, Clone, Copy, Default)]
pub struct RenderStats {
    /// Planes with pixels in them (of all planes of the sweep).
    pub planes_drawn: usize,
    pub planes_total: usize,
    /// Workgroups dispatched for the per-plane passes.
    pub workgroups: u64,
    /// Full-resolution tiles composited, summed over planes, per tile of the frame.
    pub composites_per_tile: f32,
}

struct Pipelines {
    extract_prefix: wgpu::ComputePipeline,
    blur: wgpu::ComputePipeline,
    composite: wgpu::ComputePipeline,
    normalize: wgpu::ComputePipeline,
}

/// Buffers for one frame size.
struct Frame {
    width: u32,
    height: u32,
    image: wgpu::Buffer,
    disparity: wgpu::Buffer,
    prefix: wgpu::Buffer,
    blurred: wgpu::Buffer,
    accum: wgpu::Buffer,
    output: wgpu::Buffer,
    readback: wgpu::Buffer,
    frame_uniform: wgpu::Buffer,
    /// Grown on demand, with the bind group that refers to them.
    lists: wgpu::Buffer,
    planes: wgpu::Buffer,
    bind_group: wgpu::BindGroup,
}

/// Renders refocused frames on the GPU. Create once, call [`Renderer::render`] per frame.
pub struct Renderer {
    context: Arc<GpuContext>,
    layout: wgpu::BindGroupLayout,
    pipelines: Pipelines,
    uniform_stride: u64,
    frame: Option<Frame>,
    plan: FramePlan,
    clamped: Vec<f32>,
    plane_uniforms: Vec<u8>,
}

const STORAGE_BINDINGS: [(u32, bool); 7] = [
    (2, true),
    (3, true),
    (4, true),
    (5, false),
    (6, false),
    (7, false),
    (8, false),
];

impl Renderer {
    pub fn new(context: Arc<GpuContext>) -> Result<Self> {
        let device = &context.device;
        let descriptor = wgpu::ShaderModuleDescriptor {
            label: Some("layered_dof"),
            source: wgpu::ShaderSource::Wgsl(include_str!("../../shaders/layered_dof.wgsl").into()),
        };
        let module = device.create_shader_module(descriptor);
        let uniform = |binding, dynamic| wgpu::BindGroupLayoutEntry {
            binding,
            visibility: wgpu::ShaderStages::COMPUTE,
            ty: wgpu::BindingType::Buffer {
                ty: wgpu::BufferBindingType::Uniform,
                has_dynamic_offset: dynamic,
                min_binding_size: None,
            },
            count: None,
        };
        let mut entries = vec![uniform(0, false), uniform(1, true)];
        entries.extend(STORAGE_BINDINGS.iter().map(|&(binding, read_only)| {
            wgpu::BindGroupLayoutEntry {
                binding,
                visibility: wgpu::ShaderStages::COMPUTE,
                ty: wgpu::BindingType::Buffer {
                    ty: wgpu::BufferBindingType::Storage { read_only },
                    has_dynamic_offset: false,
                    min_binding_size: None,
                },
                count: None,
            }
        }));
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("layered_dof"),
            entries: &entries,
        });
        let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("layered_dof"),
            bind_group_layouts: &[Some(&layout)],
            immediate_size: 0,
        });
        let pipeline = |entry: &str| {
            device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some(entry),
                layout: Some(&pipeline_layout),
                module: &module,
                entry_point: Some(entry),
                compilation_options: Default::default(),
                cache: None,
            })
        };
        let pipelines = Pipelines {
            extract_prefix: pipeline("extract_prefix"),
            blur: pipeline("blur"),
            composite: pipeline("composite"),
            normalize: pipeline("normalize"),
        };
        let uniform_stride = u64::from(context.limits.min_uniform_buffer_offset_alignment)
            .max(std::mem::size_of::<PlaneUniform>() as u64);
        Ok(Renderer {
            context,
            layout,
            pipelines,
            uniform_stride,
            frame: None,
            plan: FramePlan::default(),
            clamped: Vec::new(),
            plane_uniforms: Vec::new(),
        })
    }

    /// The device in use, "name (backend, type)".
    pub fn device_name(&self) -> String {
        self.context.describe()
    }

    /// Refocuses one frame. `image` and `output`: tightly packed 4-byte pixels (bytes 0..3
    /// colour, byte 3 passed through); `disparity`: pixels, one f32 per pixel.
    pub fn render(
        &mut self,
        image: &[u8],
        disparity: &[f32],
        width: u32,
        height: u32,
        params: &Params,
        output: &mut [u8],
    ) -> Result<RenderStats> {
        params.validate()?;
        let pixels = width as usize * height as usize;
        ensure!(width > 0 && height > 0, "empty frame {width}x{height}");
        ensure!(
            image.len() == pixels * 4,
            "image has {} bytes, expected {}",
            image.len(),
            pixels * 4
        );
        ensure!(
            disparity.len() == pixels,
            "disparity has {} values, expected {pixels}",
            disparity.len()
        );
        ensure!(
            output.len() == pixels * 4,
            "output has {} bytes, expected {}",
            output.len(),
            pixels * 4
        );

        self.clamped.clear();
        self.clamped.extend(disparity.iter().map(|d| {
            // NaN (a broken depth source) is treated as the far end of the range.
            if d.is_nan() {
                params.min_disparity
            } else {
                d.clamp(params.min_disparity, params.max_disparity)
            }
        }));
        self.plan.build(&self.clamped, width, height, params);
        self.ensure_frame(width, height)?;
        self.upload(params)?;
        let frame = self.frame.as_ref().expect("ensure_frame made it");
        self.context.queue.write_buffer(&frame.image, 0, image);

        let device = &self.context.device;
        let frame = self.frame.as_ref().expect("ensure_frame made it");
        let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some("refocus"),
        });
        encoder.clear_buffer(&frame.accum, 0, None);
        let mut workgroups = 0u64;
        {
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("planes"),
                timestamp_writes: None,
            });
            for (index, work) in self.plan.planes.iter().enumerate() {
                let offset = (index as u64 * self.uniform_stride) as u32;
                pass.set_bind_group(0, &frame.bind_group, &[offset]);
                // extract_prefix runs 64 rows per workgroup.
                let row_groups = Slice {
                    offset: work.rows.offset,
                    count: work.rows.count.div_ceil(64),
                };
                workgroups += dispatch_list(&mut pass, &self.pipelines.extract_prefix, row_groups);
                workgroups += dispatch_list(&mut pass, &self.pipelines.blur, work.blur_tiles);
                workgroups +=
                    dispatch_list(&mut pass, &self.pipelines.composite, work.composite_tiles);
            }
            pass.set_bind_group(0, &frame.bind_group, &[0]);
            pass.set_pipeline(&self.pipelines.normalize);
            pass.dispatch_workgroups(width.div_ceil(TILE), height.div_ceil(TILE), 1);
        }
        encoder.copy_buffer_to_buffer(&frame.output, 0, &frame.readback, 0, pixels as u64 * 4);
        self.context.queue.submit([encoder.finish()]);

        let slice = frame.readback.slice(..pixels as u64 * 4);
        let (sender, receiver) = std::sync::mpsc::channel();
        slice.map_async(wgpu::MapMode::Read, move |result| {
            let _ = sender.send(result);
        });
        device.poll(wgpu::PollType::wait_indefinitely())?;
        if let Some(error) = self.context.take_error() {
            bail!("the GPU reported an error while refocusing: {error}");
        }
        match receiver.recv() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => bail!("could not read the refocused frame back from the GPU: {e}"),
            Err(_) => bail!("the GPU device was lost while refocusing"),
        }
        {
            let mapped = slice
                .get_mapped_range()
                .map_err(|e| anyhow::anyhow!("could not map the GPU readback buffer: {e}"))?;
            output.copy_from_slice(&mapped);
        }
        frame.readback.unmap();

        Ok(RenderStats {
            planes_drawn: self.plan.planes.len(),
            planes_total: params.planes().len(),
            workgroups,
            composites_per_tile: self
                .plan
                .planes
                .iter()
                .map(|w| if w.plane.scale > 1.0 { w.composite_tiles.count } else { w.blur_tiles.count } as f32)
                .sum::<f32>()
                / (width.div_ceil(TILE) * height.div_ceil(TILE)) as f32,
        })
    }

    /// (Re)creates the per-size buffers when the frame size changes.
    fn ensure_frame(&mut self, width: u32, height: u32) -> Result<()> {
        if self
            .frame
            .as_ref()
            .is_some_and(|f| f.width == width && f.height == height)
        {
            return Ok(());
        }
        self.frame = None;
        let pixels = u64::from(width) * u64::from(height);
        let largest = pixels * 16;
        let limit = self
            .context
            .limits
            .max_storage_buffer_binding_size
            .min(self.context.limits.max_buffer_size);
        ensure!(
            largest <= limit,
            "a {width}x{height} frame needs {} MiB GPU buffers but '{}' allows {} MiB; scale the video down first",
            largest >> 20,
            self.context.adapter.name,
            limit >> 20
        );
        let device = &self.context.device;
        let buffer = |label: &str, size: u64, usage: wgpu::BufferUsages| {
            device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                size: size.max(16),
                usage,
                mapped_at_creation: false,
            })
        };
        use wgpu::BufferUsages as U;
        let frame_uniform = buffer(
            "frame",
            std::mem::size_of::<FrameUniform>() as u64,
            U::UNIFORM | U::COPY_DST,
        );
        let image = buffer("image", pixels * 4, U::STORAGE | U::COPY_DST);
        let disparity = buffer("disparity", pixels * 4, U::STORAGE | U::COPY_DST);
        let prefix = buffer("prefix", pixels * 16, U::STORAGE);
        let blurred = buffer("blurred", pixels * 16, U::STORAGE);
        let accum = buffer("accum", pixels * 16, U::STORAGE | U::COPY_DST);
        let output = buffer("output", pixels * 4, U::STORAGE | U::COPY_SRC);
        let readback = buffer("readback", pixels * 4, U::MAP_READ | U::COPY_DST);
        let lists = buffer("lists", 1 << 16, U::STORAGE | U::COPY_DST);
        let planes = buffer("planes", 64 * self.uniform_stride, U::UNIFORM | U::COPY_DST);
        let bind_group = self.bind_group(
            &frame_uniform,
            &planes,
            &image,
            &disparity,
            &lists,
            &prefix,
            &blurred,
            &accum,
            &output,
        );
        self.frame = Some(Frame {
            width,
            height,
            image,
            disparity,
            prefix,
            blurred,
            accum,
            output,
            readback,
            frame_uniform,
            lists,
            planes,
            bind_group,
        });
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn bind_group(
        &self,
        frame: &wgpu::Buffer,
        planes: &wgpu::Buffer,
        image: &wgpu::Buffer,
        disparity: &wgpu::Buffer,
        lists: &wgpu::Buffer,
        prefix: &wgpu::Buffer,
        blurred: &wgpu::Buffer,
        accum: &wgpu::Buffer,
        output: &wgpu::Buffer,
    ) -> wgpu::BindGroup {
        fn whole(binding: u32, buffer: &wgpu::Buffer) -> wgpu::BindGroupEntry<'_> {
            wgpu::BindGroupEntry {
                binding,
                resource: buffer.as_entire_binding(),
            }
        }
        self.context
            .device
            .create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some("layered_dof"),
                layout: &self.layout,
                entries: &[
                    whole(0, frame),
                    wgpu::BindGroupEntry {
                        binding: 1,
                        resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                            buffer: planes,
                            offset: 0,
                            size: wgpu::BufferSize::new(std::mem::size_of::<PlaneUniform>() as u64),
                        }),
                    },
                    whole(2, image),
                    whole(3, disparity),
                    whole(4, lists),
                    whole(5, prefix),
                    whole(6, blurred),
                    whole(7, accum),
                    whole(8, output),
                ],
            })
    }

    /// Writes the frame's inputs, lists and plane uniforms, growing buffers as needed.
    fn upload(&mut self, params: &Params) -> Result<()> {
        let half_band = params.half_band();
        let smooth_alpha = match params.mask {
            Mask::Hard => 0.0,
            Mask::Smooth { alpha } => alpha,
        };
        let stride = self.uniform_stride as usize;
        self.plane_uniforms.clear();
        self.plane_uniforms
            .resize(self.plan.planes.len().max(1) * stride, 0);
        for (index, work) in self.plan.planes.iter().enumerate() {
            let uniform = plane_uniform(work, half_band, smooth_alpha);
            self.plane_uniforms
                [index * stride..index * stride + std::mem::size_of::<PlaneUniform>()]
                .copy_from_slice(bytemuck::bytes_of(&uniform));
        }
        let lists_bytes = (self.plan.lists.len().max(1) * 4) as u64;
        let planes_bytes = self.plane_uniforms.len() as u64;

        let frame = self.frame.as_ref().expect("frame buffers exist");
        if lists_bytes > frame.lists.size() || planes_bytes > frame.planes.size() {
            let device = &self.context.device;
            let lists_size = lists_bytes.max(frame.lists.size()).next_power_of_two();
            let planes_size = planes_bytes.max(frame.planes.size()).next_power_of_two();
            ensure!(
                lists_size <= self.context.limits.max_storage_buffer_binding_size
                    && planes_size <= self.context.limits.max_buffer_size,
                "the plane schedule is too large for the GPU; lower the aperture or the disparity range"
            );
            let lists = device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("lists"),
                size: lists_size,
                usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            });
            let planes = device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("planes"),
                size: planes_size,
                usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            });
            let bind_group = self.bind_group(
                &frame.frame_uniform,
                &planes,
                &frame.image,
                &frame.disparity,
                &lists,
                &frame.prefix,
                &frame.blurred,
                &frame.accum,
                &frame.output,
            );
            let frame = self.frame.as_mut().expect("frame buffers exist");
            frame.lists = lists;
            frame.planes = planes;
            frame.bind_group = bind_group;
        }

        let frame = self.frame.as_ref().expect("frame buffers exist");
        let queue = &self.context.queue;
        let frame_uniform = FrameUniform {
            width: frame.width,
            height: frame.height,
            min_disparity: params.min_disparity,
            max_disparity: params.max_disparity,
        };
        queue.write_buffer(&frame.frame_uniform, 0, bytemuck::bytes_of(&frame_uniform));
        queue.write_buffer(&frame.disparity, 0, bytemuck::cast_slice(&self.clamped));
        if !self.plan.lists.is_empty() {
            queue.write_buffer(&frame.lists, 0, bytemuck::cast_slice(&self.plan.lists));
        }
        queue.write_buffer(&frame.planes, 0, &self.plane_uniforms);
        Ok(())
    }
}

fn plane_uniform(work: &PlaneWork, half_band: f32, smooth_alpha: f32) -> PlaneUniform {
    PlaneUniform {
        disparity: work.plane.disparity,
        half_band,
        smooth_alpha,
        scale: work.plane.scale,
        grid_width: work.grid_width,
        grid_height: work.grid_height,
        kernel_rows: work.plane.kernel.rows(),
        spans_offset: work.spans.offset,
        inv_area: 1.0 / work.plane.kernel.area as f32,
        rows_offset: work.rows.offset,
        rows_count: work.rows.count,
        tiles_offset: work.blur_tiles.offset,
        tiles_count: work.blur_tiles.count,
        composite_offset: work.composite_tiles.offset,
        composite_count: work.composite_tiles.count,
        row_spans_offset: work.row_spans.offset,
    }
}

/// Dispatches one workgroup per list item, as a 2D grid when the list exceeds 65535.
fn dispatch_list(
    pass: &mut wgpu::ComputePass,
    pipeline: &wgpu::ComputePipeline,
    list: Slice,
) -> u64 {
    if list.count == 0 {
        return 0;
    }
    const MAX: u32 = 65535;
    let x = list.count.min(MAX);
    let y = list.count.div_ceil(MAX);
    pass.set_pipeline(pipeline);
    pass.dispatch_workgroups(x, y, 1);
    u64::from(x) * u64::from(y)
}
