//! The uniform blocks of `shaders/layered_dof.wgsl`, and what each step of a schedule puts
//! in its block.

use bytemuck::{Pod, Zeroable};

use super::FrameWork;
use super::schedule::Step;
use crate::dof::plan::{FramePlan, PlaneWork, SUB};
use crate::dof::{Highlights, Light, Mask, Params};

/// `Frame` in the shader.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
pub(super) struct FrameUniform {
    width: u32,
    height: u32,
    min_disparity: f32,
    max_disparity: f32,
    quantum: f32,
    subs_x: u32,
    transfer: u32,
    gamma: f32,
    highlight_threshold: f32,
    _pad: u32,
}

/// `Accumulator` in the shader: one level's (Is, Ms), at `offset` cells into its buffer.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable, Default, Debug, PartialEq)]
pub(super) struct AccumulatorUniform {
    pub(super) level: u32,
    pub(super) offset: u32,
    pub(super) width: u32,
    pub(super) height: u32,
}

/// `Step` in the shader.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable, Default)]
pub(super) struct StepUniform {
    disparity: f32,
    half_band: f32,
    smooth_alpha: f32,
    level: u32,
    grid_width: u32,
    grid_height: u32,
    kernel_rows: u32,
    spans_offset: u32,
    inv_norm: f32,
    rows_offset: u32,
    rows_count: u32,
    tiles_offset: u32,
    tiles_count: u32,
    row_spans_offset: u32,
    cell_blocks_offset: u32,
    cell_blocks_count: u32,
    dst: AccumulatorUniform,
    src: AccumulatorUniform,
    tag_index: u32,
    values_offset: u32,
    next_inv_norm: f32,
    highlight_slope: f32,
    cleared: CellBlocksUniform,
    tagged_planes: [f32; TAGGED_PLANES],
}

/// `CellBlocks` in the shader: a plane's listed blocks of cells in `values`.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable, Default)]
pub(super) struct CellBlocksUniform {
    level: u32,
    grid_width: u32,
    grid_height: u32,
    values_offset: u32,
    blocks_offset: u32,
    blocks_count: u32,
    _pad: [u32; 2],
}

/// Most planes of level 0 that read tagged pixels: a tag numbers them in four bits. The fast
/// path's kmax <= 15 gives at most 15.
pub(super) const TAGGED_PLANES: usize = 16;
/// Fixed-point steps per 8-bit level of the exact path's prefix sums.
const EXACT_SCALE: f32 = 256.0;

/// Values per unit of (M o I, M): bytes on the fast path, finer on the exact one.
fn quantum(fast: bool) -> f32 {
    255.0 * if fast { 1.0 } else { EXACT_SCALE }
}

/// The frame's block: its size, the disparity range, the values' quantum and the transfer
/// function of linear light.
pub(super) fn frame_uniform(width: u32, height: u32, params: &Params, fast: bool) -> FrameUniform {
    let (transfer, gamma, highlight_threshold) = match params.light {
        Light::Encoded => (0, 0.0, 0.0),
        Light::Linear {
            transfer,
            highlights,
        } => {
            let (code, gamma) = transfer.shader_code();
            (code, gamma, highlights.threshold)
        }
    };
    FrameUniform {
        width,
        height,
        min_disparity: params.min_disparity,
        max_disparity: params.max_disparity,
        quantum: quantum(fast),
        subs_x: width.div_ceil(SUB),
        transfer,
        gamma,
        highlight_threshold,
        _pad: 0,
    }
}

/// Writes one block per step of `work.schedule` into `out`, `stride` bytes apart, and one
/// after them for zeroing the last plane's cells. `region_cells`: cells of a region of
/// `values` (see `buffers::region_cells`).
pub(super) fn write_steps(
    out: &mut Vec<u8>,
    stride: usize,
    plan: &FramePlan,
    work: &FrameWork,
    params: &Params,
    region_cells: u32,
) {
    let quantum = quantum(work.fast);
    let half_band = params.half_band();
    let smooth_alpha = match params.mask {
        Mask::Hard => 0.0,
        Mask::Smooth { alpha } => alpha,
    };
    let highlights = match params.light {
        Light::Linear { highlights, .. } => highlights,
        Light::Encoded => Highlights::NONE,
    };
    let plane = |work: &PlaneWork| StepUniform {
        highlight_slope: highlights.slope(work.plane.radius),
        ..plane_uniform(work, half_band, smooth_alpha, quantum)
    };
    let (schedule, turns, tagged) = (&work.schedule, &work.turns, &work.tagged);
    let cells = |(plane, region): (usize, u32)| {
        let work: &PlaneWork = &plan.planes[plane];
        CellBlocksUniform {
            level: work.plane.level,
            grid_width: work.grid_width,
            grid_height: work.grid_height,
            values_offset: region * region_cells,
            blocks_offset: work.cell_blocks.offset,
            blocks_count: work.cell_blocks.count,
            _pad: [0; 2],
        }
    };
    out.clear();
    out.resize((schedule.steps.len() + 1) * stride, 0);
    let mut put = |slot: usize, uniform: StepUniform| {
        let at = slot * stride;
        out[at..at + std::mem::size_of::<StepUniform>()]
            .copy_from_slice(bytemuck::bytes_of(&uniform));
    };
    for (step_index, step) in schedule.steps.iter().enumerate() {
        let uniform = match step {
            Step::Plane { index, into } => StepUniform {
                dst: *into,
                tag_index: tagged
                    .as_ref()
                    .map_or(0, |planes| index.saturating_sub(planes.start) as u32),
                values_offset: turns.region[step_index].unwrap_or(0) * region_cells,
                cleared: turns.clears[step_index].map(cells).unwrap_or_default(),
                ..plane(&plan.planes[*index])
            },
            Step::PlanePair { first, into, tiles } => {
                let planes = tagged.as_ref().expect("pairs are of tagged planes");
                StepUniform {
                    dst: *into,
                    tag_index: (first - planes.start) as u32,
                    tiles_offset: tiles.offset,
                    tiles_count: tiles.count,
                    next_inv_norm: plane(&plan.planes[first + 1]).inv_norm,
                    ..plane(&plan.planes[*first])
                }
            }
            Step::Resample { from, into, .. } => StepUniform {
                dst: *into,
                src: *from,
                ..Default::default()
            },
            Step::Normalize { back, front } => StepUniform {
                dst: *back,
                src: front.unwrap_or_default(),
                ..Default::default()
            },
            Step::Tag => {
                let planes = tagged.clone().expect("a tag step comes with tagged planes");
                let mut tagged_planes = [f32::MAX; TAGGED_PLANES];
                for (slot, work) in tagged_planes.iter_mut().zip(&plan.planes[planes]) {
                    *slot = work.plane.disparity;
                }
                StepUniform {
                    half_band,
                    tagged_planes,
                    ..Default::default()
                }
            }
        };
        put(step_index, uniform);
    }
    let last = StepUniform {
        cleared: turns.last.map(cells).unwrap_or_default(),
        ..Default::default()
    };
    put(schedule.steps.len(), last);
}

fn plane_uniform(work: &PlaneWork, half_band: f32, smooth_alpha: f32, quantum: f32) -> StepUniform {
    StepUniform {
        disparity: work.plane.disparity,
        half_band,
        smooth_alpha,
        level: work.plane.level,
        grid_width: work.grid_width,
        grid_height: work.grid_height,
        kernel_rows: work.plane.kernel.rows(),
        spans_offset: work.spans.offset,
        inv_norm: 1.0 / (work.plane.kernel.area as f32 * quantum),
        rows_offset: work.rows.offset,
        rows_count: work.rows.count,
        tiles_offset: work.blur_tiles.offset,
        tiles_count: work.blur_tiles.count,
        row_spans_offset: work.row_spans.offset,
        cell_blocks_offset: work.cell_blocks.offset,
        cell_blocks_count: work.cell_blocks.count,
        ..Default::default()
    }
}
