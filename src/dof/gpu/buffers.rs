//! The GPU buffers of one frame size, their bind group, and the sizes they take.

use anyhow::{Result, ensure};

use super::schedule::Levels;
use super::shaders::STORAGE_BINDINGS;
use super::uniforms::{FrameUniform, StepUniform};
use crate::dof::plan::{SUB, TILE};
use crate::gpu::GpuContext;

/// Zero cells around a grid laid out with margins (`tagged`, the fast path's cells in
/// `values`; `BORDER` in the shader), left and top; the right and bottom margins are this wide
/// beyond the grid padded to whole tiles.
const BORDER: u32 = 8;

/// Buffers for one frame size, made when the size changes and reused.
pub(super) struct FrameBuffers {
    pub(super) width: u32,
    pub(super) height: u32,
    pub(super) levels: Levels,
    /// The frame's pixels and disparity, each followed by the hidden layer's.
    pub(super) image: wgpu::Buffer,
    pub(super) disparity: wgpu::Buffer,
    /// The plane's cells (fast path) or prefix sums (exact path).
    pub(super) values: wgpu::Buffer,
    /// Whether `values` is all zero, as the fast path needs it between planes (the exact
    /// path leaves prefix sums in it).
    pub(super) values_zero: bool,
    /// Level 0's accumulator; the other levels' are in `coarse` (see [`Levels`]).
    pub(super) accum: wgpu::Buffer,
    pub(super) coarse: wgpu::Buffer,
    pub(super) output: wgpu::Buffer,
    /// Disparity range of each 4x4 sub-tile, from the planner.
    pub(super) ranges: wgpu::Buffer,
    /// Pixels tagged with their planes of level 0, laid out with zero margins (`padded_size`).
    tagged: wgpu::Buffer,
    pub(super) readback: wgpu::Buffer,
    pub(super) frame_uniform: wgpu::Buffer,
    /// The planner's lists and the steps' uniform blocks, grown on demand ([`Self::fit`]),
    /// with the bind group that refers to them.
    pub(super) lists: wgpu::Buffer,
    pub(super) steps: wgpu::Buffer,
    pub(super) bind_group: wgpu::BindGroup,
}

impl FrameBuffers {
    /// Buffers for `width` x `height` frames (within [`largest_buffer`]'s limits, which the
    /// caller checks), with room for 64 steps' uniform blocks `uniform_stride` apart.
    pub(super) fn new(
        context: &GpuContext,
        layout: &wgpu::BindGroupLayout,
        width: u32,
        height: u32,
        uniform_stride: u64,
    ) -> FrameBuffers {
        let pixels = u64::from(width) * u64::from(height);
        let levels = Levels::new(width, height);
        let device = &context.device;
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
        // The frame's pixels, then the hidden layer's (foreground fill).
        let image = buffer("image", pixels * 8, U::STORAGE | U::COPY_DST);
        let disparity = buffer("disparity", pixels * 8, U::STORAGE | U::COPY_DST);
        let values = buffer(
            "values",
            values_bytes(width, height),
            U::STORAGE | U::COPY_DST,
        );
        let accum = buffer("accum", pixels * 16, U::STORAGE | U::COPY_DST);
        let coarse = buffer("coarse", levels.coarse_cells * 16, U::STORAGE | U::COPY_DST);
        let output = buffer("output", pixels * 4, U::STORAGE | U::COPY_SRC);
        let sub_tiles = u64::from(width.div_ceil(SUB)) * u64::from(height.div_ceil(SUB));
        let ranges = buffer("ranges", sub_tiles * 8, U::STORAGE | U::COPY_DST);
        let readback = buffer("readback", pixels * 4, U::MAP_READ | U::COPY_DST);
        // Created zeroed; the tag pass only writes the frame's pixels, so the margins stay 0.
        let tagged = buffer("tagged", region_cells(width, height) * 4, U::STORAGE);
        let lists = buffer("lists", 1 << 16, U::STORAGE | U::COPY_DST);
        let steps = buffer("steps", 64 * uniform_stride, U::UNIFORM | U::COPY_DST);
        let bind_group = bind_group(
            device,
            layout,
            [&frame_uniform, &steps],
            [
                &image, &disparity, &lists, &values, &accum, &coarse, &output, &ranges, &tagged,
            ],
        );
        FrameBuffers {
            width,
            height,
            levels,
            image,
            disparity,
            values,
            values_zero: false,
            accum,
            coarse,
            output,
            ranges,
            tagged,
            readback,
            frame_uniform,
            lists,
            steps,
            bind_group,
        }
    }

    /// Grows `lists` and `steps` (to powers of two) to hold `lists_bytes` and `steps_bytes`,
    /// remaking the bind group; an error if the GPU cannot bind that much.
    pub(super) fn fit(
        &mut self,
        context: &GpuContext,
        layout: &wgpu::BindGroupLayout,
        lists_bytes: u64,
        steps_bytes: u64,
    ) -> Result<()> {
        if lists_bytes <= self.lists.size() && steps_bytes <= self.steps.size() {
            return Ok(());
        }
        let device = &context.device;
        let lists_size = lists_bytes.max(self.lists.size()).next_power_of_two();
        let steps_size = steps_bytes.max(self.steps.size()).next_power_of_two();
        ensure!(
            lists_size <= context.limits.max_storage_buffer_binding_size
                && steps_size <= context.limits.max_buffer_size,
            "the plane schedule is too large for the GPU; lower the aperture or the disparity range"
        );
        self.lists = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("lists"),
            size: lists_size,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        self.steps = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("steps"),
            size: steps_size,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        self.bind_group = bind_group(
            device,
            layout,
            [&self.frame_uniform, &self.steps],
            [
                &self.image,
                &self.disparity,
                &self.lists,
                &self.values,
                &self.accum,
                &self.coarse,
                &self.output,
                &self.ranges,
                &self.tagged,
            ],
        );
        Ok(())
    }
}

/// The bind group: uniforms `[frame, steps]`, then the storage buffers in binding order.
fn bind_group(
    device: &wgpu::Device,
    layout: &wgpu::BindGroupLayout,
    [frame, steps]: [&wgpu::Buffer; 2],
    storage: [&wgpu::Buffer; 9],
) -> wgpu::BindGroup {
    let mut entries = vec![
        wgpu::BindGroupEntry {
            binding: 0,
            resource: frame.as_entire_binding(),
        },
        wgpu::BindGroupEntry {
            binding: 1,
            resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                buffer: steps,
                offset: 0,
                size: wgpu::BufferSize::new(std::mem::size_of::<StepUniform>() as u64),
            }),
        },
    ];
    entries.extend(
        STORAGE_BINDINGS
            .iter()
            .zip(storage)
            .map(|(&(binding, _), buffer)| wgpu::BindGroupEntry {
                binding,
                resource: buffer.as_entire_binding(),
            }),
    );
    device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: Some("layered_dof"),
        layout,
        entries: &entries,
    })
}

/// Bytes of the largest buffer of `width` x `height` frames, which must be within the
/// device's limits.
pub(super) fn largest_buffer(width: u32, height: u32) -> u64 {
    let pixels = u64::from(width) * u64::from(height);
    values_bytes(width, height)
        .max(Levels::new(width, height).coarse_cells * 16)
        .max(pixels * 16)
}

fn padded_size(width: u32, height: u32) -> (u32, u32) {
    let pad = |n: u32| n.div_ceil(TILE) * TILE + 3 * BORDER;
    (pad(width), pad(height))
}

/// Cells of a region of `values` on the fast path: the frame's grid with its margins, the
/// largest grid a plane can read cells from (a multiple of 4: regions start at whole quads).
pub(super) fn region_cells(width: u32, height: u32) -> u64 {
    let (pitch, rows) = padded_size(width, height);
    u64::from(pitch) * u64::from(rows)
}

/// Bytes of `values`: the exact path's prefix sums, or the fast path's two regions of cells.
fn values_bytes(width: u32, height: u32) -> u64 {
    prefix_bytes(width, height).max(2 * region_cells(width, height) * 4)
}

/// Bytes of the exact path's prefix sums: up to (width + 1) x height slots of four u32.
fn prefix_bytes(width: u32, height: u32) -> u64 {
    (u64::from(width) + 1) * u64::from(height) * 16
}
