//! Recording a frame's passes into a command encoder, one function per kind of step.
//!
//! - [`plane`]: a plane's mask and masked colour (`extract_cells` on the fast path,
//!   `extract_prefix`'s prefix sums on the exact one), its blur (a disc blur written for its
//!   disc, or `blur`) and its compositing over the accumulator, which the blur passes do as
//!   they write;
//! - [`plane_pair`]: two tagged planes of level 0 blurred and composited in one pass;
//! - [`resample`]: an accumulator upsampled into a finer level's;
//! - [`normalize`]: the back accumulator with the front one over it, normalised into the
//!   output (Algorithm 1's final division);
//! - [`tag`]: each pixel tagged with the planes of level 0 it belongs to.

use super::FrameWork;
use super::buffers::{FrameBuffers, region_cells};
use super::schedule::Step;
use super::shaders::{Pipelines, Target, level_class};
use super::uniforms::AccumulatorUniform;
use crate::dof::plan::{FramePlan, PlaneWork, Slice, TILE};

/// Bytes per accumulator cell: (Is, Ms) as four f32, or two packed cells.
const CELL: u64 = 16;

/// What the passes read: the frame's buffers, the pipelines, the plan and its schedule.
pub(super) struct Frame<'a> {
    pub(super) buffers: &'a FrameBuffers,
    pub(super) pipelines: &'a Pipelines,
    pub(super) plan: &'a FramePlan,
    pub(super) work: &'a FrameWork,
    /// Bytes between the steps' uniform blocks.
    pub(super) uniform_stride: u64,
}

/// Records the whole frame: the clears it needs and every step of its schedule, which leave
/// the refocused pixels in `output`. `values_zero`: whether `values` is all zero
/// already (the fast path needs it so, and leaves it so).
pub(super) fn record(encoder: &mut wgpu::CommandEncoder, frame: &Frame, values_zero: bool) {
    let buffers = frame.buffers;
    let (width, height) = (buffers.width, buffers.height);
    if frame.work.fast && !values_zero {
        // Two regions of cells, four bytes each: all the fast path reads.
        encoder.clear_buffer(
            &buffers.values,
            0,
            Some(2 * region_cells(width, height) * 4),
        );
    }
    for clear in &frame.work.schedule.clears {
        if clear.level == 0 {
            encoder.clear_buffer(&buffers.accum, 0, None);
        } else {
            let cells = u64::from(clear.width) * u64::from(clear.height);
            encoder.clear_buffer(
                &buffers.coarse,
                u64::from(clear.offset) * CELL,
                Some(cells * CELL),
            );
        }
    }
    {
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: Some("planes"),
            timestamp_writes: None,
        });
        let steps = &frame.work.schedule.steps;
        for (index, step) in steps.iter().enumerate() {
            frame.use_step_uniform(&mut pass, index);
            match step {
                Step::Plane {
                    index: plane_index, ..
                } => plane(&mut pass, frame, index, &frame.plan.planes[*plane_index]),
                Step::PlanePair { tiles, .. } => plane_pair(&mut pass, frame, index, *tiles),
                Step::Resample { from, into, over } => {
                    resample(&mut pass, frame, from, into, *over)
                }
                Step::Normalize { back, front } => {
                    normalize(&mut pass, frame, back, front.as_ref())
                }
                Step::Tag => tag(&mut pass, frame),
            }
        }
        zero_last_cells(&mut pass, frame);
    }
}

impl Frame<'_> {
    /// Binds the uniform block of step `index` (or, one past the schedule, the block that
    /// zeroes the last plane's cells).
    fn use_step_uniform(&self, pass: &mut wgpu::ComputePass, index: usize) {
        let offset = (index as u64 * self.uniform_stride) as u32;
        pass.set_bind_group(0, &self.buffers.bind_group, &[offset]);
    }

    fn disc_blur(&self, step: usize) -> &wgpu::ComputePipeline {
        self.work.disc_blurs[step]
            .as_ref()
            .expect("made for each step that blurs on the fast path")
    }
}

/// Step `step`, plane `work`: its mask and masked colour, then its blur composited over the
/// accumulator.
fn plane(pass: &mut wgpu::ComputePass, frame: &Frame, step: usize, work: &PlaneWork) {
    let p = frame.pipelines;
    let class = level_class(work.plane.level);
    if frame.work.fast {
        let turns = &frame.work.turns;
        if turns.region[step].is_some() {
            // The plane's cells, zeroing its predecessor's: 64 blocks of cells per workgroup.
            let blocks = work.cell_blocks.count.max(turns.cleared(step, frame.plan));
            dispatch_list(pass, &p.extract_cells[class], groups_of(blocks, 64));
        }
        dispatch_disc_blur(pass, frame.disc_blur(step), work.blur_tiles);
    } else {
        // extract_prefix runs 64 rows per workgroup.
        let row_groups = Slice {
            offset: work.rows.offset,
            count: work.rows.count.div_ceil(64),
        };
        dispatch_list(pass, &p.extract_prefix[class], row_groups);
        let full_res = usize::from(work.plane.level == 0);
        dispatch_list(pass, &p.blur[full_res], work.blur_tiles);
    }
}

/// Step `step`: two tagged planes over the union of their tiles.
fn plane_pair(pass: &mut wgpu::ComputePass, frame: &Frame, step: usize, tiles: Slice) {
    dispatch_disc_blur(pass, frame.disc_blur(step), tiles);
}

fn resample(
    pass: &mut wgpu::ComputePass,
    frame: &Frame,
    from: &AccumulatorUniform,
    into: &AccumulatorUniform,
    over: bool,
) {
    let p = frame.pipelines;
    let [target, over] = [
        Target::of(into.level, frame.work.fast) as usize,
        usize::from(over),
    ];
    let made = "made for every resample a schedule has";
    if from.level == into.level + 1 {
        let pipeline = p.resample_tiles[target][over].as_ref().expect(made);
        dispatch_tiles(pass, pipeline, into.width, into.height);
    } else {
        let pipeline = p.resample[target][over].as_ref().expect(made);
        // A pair of cells per invocation.
        dispatch_grid(pass, pipeline, into.width.div_ceil(2), into.height);
    }
}

fn normalize(
    pass: &mut wgpu::ComputePass,
    frame: &Frame,
    back: &AccumulatorUniform,
    front: Option<&AccumulatorUniform>,
) {
    let p = frame.pipelines;
    let (width, height) = (frame.buffers.width, frame.buffers.height);
    let [target, over] = [
        Target::of(back.level, frame.work.fast) as usize,
        usize::from(front.is_some()),
    ];
    let tiled = p.normalize_tiles[target][over]
        .as_ref()
        .filter(|_| back.level <= 1 && front.is_none_or(|f| f.level == 1));
    if let Some(pipeline) = tiled {
        dispatch_tiles(pass, pipeline, width, height);
    } else {
        // A pair of pixels per invocation.
        let pipeline = p.normalize[target][over].as_ref();
        let pipeline = pipeline.expect("made for every normalisation");
        dispatch_grid(pass, pipeline, width.div_ceil(2), height);
    }
}

fn tag(pass: &mut wgpu::ComputePass, frame: &Frame) {
    let (width, height) = (frame.buffers.width, frame.buffers.height);
    dispatch_grid(pass, &frame.pipelines.tag, width.div_ceil(4), height);
}

/// The last plane that read cells has no successor to zero them: a pass of its own does
/// (with the uniform block after the schedule's).
fn zero_last_cells(pass: &mut wgpu::ComputePass, frame: &Frame) {
    if let Some((plane, _)) = frame.work.turns.last {
        frame.use_step_uniform(pass, frame.work.schedule.steps.len());
        let blocks = frame.plan.planes[plane].cell_blocks.count;
        dispatch_list(
            pass,
            &frame.pipelines.extract_cells[0],
            groups_of(blocks, 64),
        );
    }
}

/// Workgroups for `items` list items, `per_group` each.
fn groups_of(items: u32, per_group: u32) -> Slice {
    Slice {
        offset: 0,
        count: items.div_ceil(per_group),
    }
}

fn dispatch_list(pass: &mut wgpu::ComputePass, pipeline: &wgpu::ComputePipeline, list: Slice) {
    if list.count == 0 {
        return;
    }
    const MAX: u32 = 65535;
    let x = list.count.min(MAX);
    let y = list.count.div_ceil(MAX);
    pass.set_pipeline(pipeline);
    pass.dispatch_workgroups(x, y, 1);
}

/// Dispatches a disc blur ([`super::disc_blur`]) over the listed `tiles`: one invocation
/// per tile, eight per workgroup.
fn dispatch_disc_blur(pass: &mut wgpu::ComputePass, blur: &wgpu::ComputePipeline, tiles: Slice) {
    dispatch_list(pass, blur, groups_of(tiles.count, 8));
}

/// Dispatches one invocation per 8x8 tile of a `width` x `height` grid, eight tiles of a
/// row per workgroup.
fn dispatch_tiles(
    pass: &mut wgpu::ComputePass,
    pipeline: &wgpu::ComputePipeline,
    width: u32,
    height: u32,
) {
    pass.set_pipeline(pipeline);
    pass.dispatch_workgroups(width.div_ceil(TILE).div_ceil(8), height.div_ceil(TILE), 1);
}

/// Dispatches one invocation per cell of a `width` x `height` grid, in tiles.
fn dispatch_grid(
    pass: &mut wgpu::ComputePass,
    pipeline: &wgpu::ComputePipeline,
    width: u32,
    height: u32,
) {
    let (x, y) = (width.div_ceil(TILE), height.div_ceil(TILE));
    pass.set_pipeline(pipeline);
    pass.dispatch_workgroups(x, y, 1);
}
