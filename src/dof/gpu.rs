//! The layered depth of field on wgpu compute shaders (`shaders/layered_dof.wgsl`).
//!
//! Per frame: the host clamps the disparity, plans the work ([`FramePlan`]), orders it into a
//! schedule of steps ([`Schedule`]), uploads image, disparity, lists and one uniform block per
//! step, and records every step into one command buffer. GPU buffers are made once per frame
//! size and reused.
//!
//! Planes are composited on the grid of their pyramid level (see [`Params::planes`]). Over-
//! compositing is associative, so the planes behind the focus, whose levels fall towards it,
//! are composited at the coarsest level first and the accumulator is upsampled each time the
//! level falls; the planes in front, whose levels rise, are gathered in accumulators of their
//! own levels, merged coarse to fine, and laid over the rest once when normalising. Only the
//! planes near focus touch full resolution, so the cost stays nearly flat as the aperture grows.
//!
//! On the fast path with hard masks those full-resolution planes read pixels tagged once per
//! frame with the planes they belong to, through a disc blur written for each disc
//! ([`disc_blur`]); pipelines are made once per GPU context (`Shaders`) and shared.

use std::sync::Arc;

use anyhow::{Result, bail, ensure};
use bytemuck::{Pod, Zeroable};

use super::plan::{FramePlan, PlaneWork, SUB, Slice, TILE};
use super::{Params, disc_blur, tile_upsample};
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
    quantum: f32,
    subs_x: u32,
}

/// `Accumulator` in the shader: one level's (Is, Ms), at `offset` cells into its buffer.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable, Default, Debug, PartialEq)]
struct AccumulatorUniform {
    level: u32,
    offset: u32,
    width: u32,
    height: u32,
}

/// `Step` in the shader.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable, Default)]
struct StepUniform {
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
    _pad: u32,
    cleared: CellBlocksUniform,
    tagged_planes: [f32; TAGGED_PLANES],
}

/// `CellBlocks` in the shader: a plane's listed blocks of cells in `values`.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable, Default)]
struct CellBlocksUniform {
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
const TAGGED_PLANES: usize = 16;
/// Zero cells around a grid laid out with margins (`tagged`, the fast path's cells in
/// `values`; `BORDER` in the shader), left and top; the right and bottom margins are this wide
/// beyond the grid padded to whole tiles.
const BORDER: u32 = 8;

/// Largest `kmax` of the fast path: its disc (at most 197 taps) summed over byte-sized
/// cells stays below 2^16 per channel.
const FAST_MAX_KERNEL: u32 = 15;
/// Rows above the centre of the widest fast-path disc (`2r + 1 <= 15`); also the reach the
/// zero margins of `tagged` cover.
const FAST_MAX_ROWS: u32 = 7;
/// Fixed-point steps per 8-bit level of the exact path's prefix sums.
const EXACT_SCALE: f32 = 256.0;

/// What a frame cost, for logs and benchmarks.
#[derive(Debug, Clone, Copy, Default)]
pub struct RenderStats {
    /// Planes with pixels in them (of all planes of the sweep).
    pub planes_drawn: usize,
    pub planes_total: usize,
}

/// Plane passes, specialised by pipeline constants.
struct Pipelines {
    /// Indexed by [`level_class`].
    extract_cells: [wgpu::ComputePipeline; 3],
    extract_prefix: [wgpu::ComputePipeline; 3],
    /// Indexed `[full_res]`.
    blur: [wgpu::ComputePipeline; 2],
    /// Into that accumulator, over it or replacing it.
    resample: AccumulatorVariants,
    /// The back accumulator there (upsampled from `coarse`), with or without a front one
    /// over it.
    normalize: AccumulatorVariants,
    tag: wgpu::ComputePipeline,
    /// `resample` from a level into the one below, a tile per invocation.
    resample_tiles: AccumulatorVariants,
    /// `normalize` with the back accumulator at level 0 or 1 and the front one (if any) at
    /// level 1, a tile per invocation, where it upsamples.
    normalize_tiles: AccumulatorVariants,
}

/// An accumulator pass's pipelines, indexed `[Target][over]`; `None` where no step needs one.
type AccumulatorVariants = [[Option<wgpu::ComputePipeline>; 2]; 4];

/// Which accumulator a pass reads or writes, and in which layout (f32 on the exact path,
/// 16-bit fixed point with two cells per element on the fast one, `PACKED`): indexes the
/// accumulator passes' pipelines.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Target {
    /// A level above 0, in `coarse`.
    Coarse,
    CoarsePacked,
    /// Level 0, in `accum`.
    Full,
    FullPacked,
}

impl Target {
    const ALL: [Target; 4] = [
        Target::Coarse,
        Target::CoarsePacked,
        Target::Full,
        Target::FullPacked,
    ];

    fn of(level: u32, fast: bool) -> Target {
        match (level, fast) {
            (0, true) => Target::FullPacked,
            (0, false) => Target::Full,
            (_, true) => Target::CoarsePacked,
            (_, false) => Target::Coarse,
        }
    }

    fn full_res(self) -> bool {
        matches!(self, Target::Full | Target::FullPacked)
    }

    fn constants(self, over: bool) -> Constants {
        Constants {
            full_res: self.full_res(),
            over,
            packed: matches!(self, Target::CoarsePacked | Target::FullPacked),
            ..Default::default()
        }
    }
}

/// Where each level's accumulators live: level 0 in `accum`, the others in `coarse`.
#[derive(Debug, Clone, PartialEq)]
struct Levels {
    /// Grid size of each level, `0..=max`.
    sizes: Vec<(u32, u32)>,
    /// Offset (cells) in `coarse` of each level's back and front accumulator (unused for 0).
    back: Vec<u32>,
    front: Vec<u32>,
    /// Cells of `coarse`.
    coarse_cells: u64,
}

impl Levels {
    fn new(width: u32, height: u32) -> Self {
        // Levels up to the first whose grid is a single cell.
        let max = (32 - (width.max(height) - 1).leading_zeros()).min(super::MAX_LEVEL);
        let sizes: Vec<(u32, u32)> = (0..=max)
            .map(|level| (width.div_ceil(1 << level), height.div_ceil(1 << level)))
            .collect();
        let cells = |level: usize| u64::from(sizes[level].0) * u64::from(sizes[level].1);
        let mut offset = 0u64;
        let mut back = vec![0];
        for level in 1..sizes.len() {
            back.push(offset as u32);
            offset += cells(level);
        }
        let mut front = vec![0];
        for level in 1..sizes.len() {
            front.push(offset as u32);
            offset += cells(level);
        }
        Levels {
            sizes,
            back,
            front,
            coarse_cells: offset,
        }
    }

    fn max(&self) -> u32 {
        self.sizes.len() as u32 - 1
    }

    fn accumulator(&self, level: u32, front: bool) -> AccumulatorUniform {
        let (width, height) = self.sizes[level as usize];
        let offset = if front { &self.front } else { &self.back }[level as usize];
        AccumulatorUniform {
            level,
            offset,
            width,
            height,
        }
    }
}

/// One step of a frame's schedule.
#[derive(Debug, Clone, PartialEq)]
enum Step {
    /// Blur plane `plan.planes[index]` and composite it over `into`.
    Plane {
        index: usize,
        into: AccumulatorUniform,
    },
    /// Blur tagged planes `first` and `first + 1` in one pass over the tiles of either
    /// (`tiles`, in `plan.lists`) and composite them over `into`, back to front.
    PlanePair {
        first: usize,
        into: AccumulatorUniform,
        tiles: Slice,
    },
    /// Upsample `from` into `into` (`over`: composite over it, else replace it).
    Resample {
        from: AccumulatorUniform,
        into: AccumulatorUniform,
        over: bool,
    },
    /// Normalise `back` with `front` (if any) over it into the output.
    Normalize {
        back: AccumulatorUniform,
        front: Option<AccumulatorUniform>,
    },
    /// Tag each pixel with the planes of level 0 it belongs to.
    Tag,
}

/// The order of a frame's GPU work, and the accumulators it needs cleared first.
#[derive(Debug, Default, PartialEq)]
struct Schedule {
    clears: Vec<AccumulatorUniform>,
    steps: Vec<Step>,
}

impl Schedule {
    /// Orders planes (back to front, with their pyramid levels) into steps.
    ///
    /// Levels fall towards the focus and rise after it. The planes up to the last one of the
    /// lowest level (the back) are composited in one accumulator that moves to a finer level
    /// whenever the planes do; the rest (the front) go into one accumulator per level, which
    /// are merged from the coarsest down and laid over the back when normalising.
    ///
    /// `tag`: the planes of level 0 read tagged pixels, made by a first step.
    fn new(levels: &[u32], grid: &Levels, tag: bool) -> Schedule {
        let mut schedule = Schedule::default();
        if tag {
            schedule.steps.push(Step::Tag);
        }
        let lowest = levels.iter().copied().min().unwrap_or(0);
        let split = levels
            .iter()
            .rposition(|l| *l == lowest)
            .map_or(0, |i| i + 1);
        let mut current = grid.accumulator(levels.first().copied().unwrap_or(0), false);
        schedule.clears.push(current);
        for (index, &level) in levels[..split].iter().enumerate() {
            if level < current.level {
                let into = grid.accumulator(level, false);
                schedule.steps.push(Step::Resample {
                    from: current,
                    into,
                    over: false,
                });
                current = into;
            }
            schedule.steps.push(Step::Plane {
                index,
                into: current,
            });
        }
        let mut front: Vec<AccumulatorUniform> = Vec::new();
        for (index, &level) in levels.iter().enumerate().skip(split) {
            if front.last().is_none_or(|a| a.level != level) {
                let into = grid.accumulator(level, true);
                schedule.clears.push(into);
                front.push(into);
            }
            schedule.steps.push(Step::Plane {
                index,
                into: *front.last().expect("pushed above"),
            });
        }
        for pair in front.windows(2).rev() {
            schedule.steps.push(Step::Resample {
                from: pair[1],
                into: pair[0],
                over: true,
            });
        }
        schedule.steps.push(Step::Normalize {
            back: current,
            front: front.first().copied(),
        });
        schedule
    }

    /// Merges each two consecutive steps of planes in `tagged` (a range of plane indices)
    /// into a pair, whose tiles `union(first)` lists: the two read the same tagged pixels, so
    /// one pass loads them once and reads and writes the accumulator once for both.
    fn pair_tagged(
        &mut self,
        tagged: &std::ops::Range<usize>,
        mut union: impl FnMut(usize) -> Slice,
    ) {
        let mut steps = Vec::with_capacity(self.steps.len());
        let mut rest = std::mem::take(&mut self.steps).into_iter().peekable();
        while let Some(step) = rest.next() {
            if let Step::Plane { index, into } = step
                && tagged.contains(&index)
                && tagged.contains(&(index + 1))
                && rest
                    .next_if(|next| {
                        *next
                            == Step::Plane {
                                index: index + 1,
                                into,
                            }
                    })
                    .is_some()
            {
                let tiles = union(index);
                steps.push(Step::PlanePair {
                    first: index,
                    into,
                    tiles,
                });
            } else {
                steps.push(step);
            }
        }
        self.steps = steps;
    }
}

/// On the fast path, how the planes that read cells share the two regions of `values`:
/// they take turns, and each one's extraction zeroes the cells of the one before (whose blur
/// is done by then); the last one's are zeroed by a pass of its own.
#[derive(Debug, Default, PartialEq)]
struct CellTurns {
    /// Per step of the schedule: the region its plane's cells go to, if it reads cells.
    region: Vec<Option<u32>>,
    /// Per step: the plane (and its region) whose cells its extraction zeroes.
    clears: Vec<Option<(usize, u32)>>,
    /// The last plane that read cells, and its region.
    last: Option<(usize, u32)>,
}

impl CellTurns {
    fn new(schedule: &Schedule, reads_cells: impl Fn(usize) -> bool) -> CellTurns {
        let mut turns = CellTurns::default();
        for step in &schedule.steps {
            let (mut region, mut clears) = (None, None);
            if let Step::Plane { index, .. } = step
                && reads_cells(*index)
            {
                let turn = turns.last.map_or(0, |(_, r)| 1 - r);
                region = Some(turn);
                clears = turns.last;
                turns.last = Some((*index, turn));
            }
            turns.region.push(region);
            turns.clears.push(clears);
        }
        turns
    }

    /// Blocks that the extraction of step `step` zeroes.
    fn cleared(&self, step: usize, plan: &FramePlan) -> u32 {
        self.clears[step].map_or(0, |(plane, _)| plan.planes[plane].cell_blocks.count)
    }
}

/// Buffers for one frame size.
struct Frame {
    width: u32,
    height: u32,
    levels: Levels,
    image: wgpu::Buffer,
    disparity: wgpu::Buffer,
    /// The plane's cells (fast path) or prefix sums (exact path).
    values: wgpu::Buffer,
    /// Whether `values` is all zero, as the fast path needs it between planes (the exact
    /// path leaves prefix sums in it).
    values_zero: bool,
    accum: wgpu::Buffer,
    coarse: wgpu::Buffer,
    output: wgpu::Buffer,
    /// Disparity range of each 4x4 sub-tile, from the planner.
    ranges: wgpu::Buffer,
    /// Pixels tagged with their planes of level 0, laid out with zero margins (`padded_size`).
    tagged: wgpu::Buffer,
    readback: wgpu::Buffer,
    frame_uniform: wgpu::Buffer,
    /// Grown on demand, with the bind group that refers to them.
    lists: wgpu::Buffer,
    steps: wgpu::Buffer,
    bind_group: wgpu::BindGroup,
}

/// Renders refocused frames on the GPU. Create once, call [`Renderer::render`] per frame.
pub struct Renderer {
    context: Arc<GpuContext>,
    shaders: Arc<Shaders>,
    /// On the fast path, this frame's disc blur of each step that blurs planes.
    disc_blurs: Vec<Option<wgpu::ComputePipeline>>,
    uniform_stride: u64,
    frame: Option<Frame>,
    plan: FramePlan,
    clamped: Vec<f32>,
    step_uniforms: Vec<u8>,
}

const STORAGE_BINDINGS: [(u32, bool); 9] = [
    (2, true),
    (3, true),
    (4, true),
    (5, false),
    (6, false),
    (7, false),
    (8, false),
    (9, true),
    (10, false),
];

/// The bind group layout and pipelines, made once per GPU context and shared by its
/// renderers (compiling them is most of what a renderer costs to start).
struct Shaders {
    layout: wgpu::BindGroupLayout,
    pipeline_layout: wgpu::PipelineLayout,
    pipelines: Pipelines,
    /// Disc blurs made so far, by what they are for.
    disc_blurs: std::sync::Mutex<Vec<(DiscBlurKey, wgpu::ComputePipeline)>>,
}

/// What a disc blur pipeline is made for: one or two discs (row half-widths), what it reads,
/// and whether its planes are at full resolution.
#[derive(Debug, Clone, PartialEq)]
struct DiscBlurKey {
    discs: Vec<Vec<u32>>,
    input: disc_blur::Input,
    full_res: bool,
}

/// The shaders of each live GPU context.
static SHADERS: std::sync::Mutex<Vec<(std::sync::Weak<GpuContext>, Arc<Shaders>)>> =
    std::sync::Mutex::new(Vec::new());

impl Shaders {
    fn shared(context: &Arc<GpuContext>) -> Result<Arc<Shaders>> {
        let mut all = SHADERS.lock().unwrap_or_else(|e| e.into_inner());
        all.retain(|(owner, _)| owner.strong_count() > 0);
        if let Some((_, shaders)) = all
            .iter()
            .find(|(owner, _)| std::ptr::eq(owner.as_ptr(), Arc::as_ptr(context)))
        {
            return Ok(Arc::clone(shaders));
        }
        let shaders = Arc::new(Shaders::new(context)?);
        all.push((Arc::downgrade(context), Arc::clone(&shaders)));
        Ok(shaders)
    }

    fn new(context: &GpuContext) -> Result<Shaders> {
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
        let tiles_module = extended_module(device, "tile_upsample", &tile_upsample::source());
        let specialised = |entry: &str, constants: Constants| {
            pipeline(device, &pipeline_layout, &module, entry, constants)
        };
        let variants = |entry: &str| {
            [false, true].map(|full_res| {
                let constants = Constants {
                    full_res,
                    ..Default::default()
                };
                specialised(entry, constants)
            })
        };
        let level_variants = |entry: &str| {
            [0, 1, 2].map(|level| {
                let constants = Constants {
                    full_res: level == 0,
                    level,
                    ..Default::default()
                };
                specialised(entry, constants)
            })
        };
        let accumulator_variants =
            |module: &wgpu::ShaderModule, entry: &str, wanted: &dyn Fn(Target, bool) -> bool| {
                Target::ALL.map(|target| {
                    [false, true].map(|over| {
                        wanted(target, over).then(|| {
                            let constants = target.constants(over);
                            pipeline(device, &pipeline_layout, module, entry, constants)
                        })
                    })
                })
            };
        // Level 0 is never composited over: the front's accumulators are of level 1 and up.
        let resampled = |target: Target, over: bool| !(over && target.full_res());
        let pipelines = Pipelines {
            extract_cells: level_variants("extract_cells"),
            extract_prefix: level_variants("extract_prefix"),
            blur: variants("blur"),
            resample: accumulator_variants(&module, "resample", &resampled),
            normalize: accumulator_variants(&module, "normalize", &|_, _| true),
            tag: specialised("tag", Target::Full.constants(false)),
            resample_tiles: accumulator_variants(&tiles_module, "resample_tiles", &resampled),
            // A level-0 back alone reads one cell per pixel either way: no tiled variant.
            normalize_tiles: accumulator_variants(
                &tiles_module,
                "normalize_tiles",
                &|target, over| !target.full_res() || over,
            ),
        };
        if let Some(error) = context.take_error() {
            bail!("the GPU could not build the refocusing shaders: {error}");
        }
        Ok(Shaders {
            layout,
            pipeline_layout,
            pipelines,
            disc_blurs: Default::default(),
        })
    }

    /// The disc blur of the discs of row half-widths `discs` (one plane's, or a pair's),
    /// reading `input`, for planes at full resolution or not; made on first use (a module
    /// written for its discs, see [`disc_blur`]).
    fn disc_blur(
        &self,
        context: &GpuContext,
        discs: &[&[u32]],
        input: disc_blur::Input,
        full_res: bool,
    ) -> Result<wgpu::ComputePipeline> {
        let mut made = self.disc_blurs.lock().unwrap_or_else(|e| e.into_inner());
        let made_for = |key: &DiscBlurKey| {
            key.discs
                .iter()
                .map(Vec::as_slice)
                .eq(discs.iter().copied())
                && key.input == input
                && key.full_res == full_res
        };
        if let Some((_, pipeline)) = made.iter().find(|(key, _)| made_for(key)) {
            return Ok(pipeline.clone());
        }
        let device = &context.device;
        let module = extended_module(device, "blur_disc", &disc_blur::source(discs, input));
        let pipeline = pipeline(
            device,
            &self.pipeline_layout,
            &module,
            "blur_disc",
            if full_res {
                Target::FullPacked
            } else {
                Target::CoarsePacked
            }
            .constants(false),
        );
        if let Some(error) = context.take_error() {
            bail!("the GPU could not build the blur of discs {discs:?}: {error}");
        }
        let key = DiscBlurKey {
            discs: discs.iter().map(|spans| spans.to_vec()).collect(),
            input,
            full_res,
        };
        made.push((key, pipeline.clone()));
        Ok(pipeline)
    }
}

/// `shaders/layered_dof.wgsl` followed by generated WGSL (`generated`).
fn extended_module(device: &wgpu::Device, label: &str, generated: &str) -> wgpu::ShaderModule {
    let source = format!(
        "{}\n{generated}",
        include_str!("../../shaders/layered_dof.wgsl")
    );
    device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some(label),
        source: wgpu::ShaderSource::Wgsl(source.into()),
    })
}

/// Values of the pipeline constants every module declares (`shaders/layered_dof.wgsl`).
#[derive(Debug, Clone, Copy, Default)]
struct Constants {
    full_res: bool,
    over: bool,
    packed: bool,
    /// Extractions: the planes' level, 2 standing for any above (see [`level_class`]).
    level: u32,
}

/// The extraction pipeline of a plane of level `level`: cells of level 2 and above are one
/// a block and sample their footprints alike (`LEVEL` in the shader).
fn level_class(level: u32) -> usize {
    level.min(2) as usize
}

/// Entry point `entry` of `module`, specialised by the pipeline constants.
fn pipeline(
    device: &wgpu::Device,
    layout: &wgpu::PipelineLayout,
    module: &wgpu::ShaderModule,
    entry: &str,
    constants: Constants,
) -> wgpu::ComputePipeline {
    let constants = [
        ("FULL_RES", f64::from(u8::from(constants.full_res))),
        ("OVER", f64::from(u8::from(constants.over))),
        ("PACKED", f64::from(u8::from(constants.packed))),
        ("LEVEL", f64::from(constants.level)),
    ];
    device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
        label: Some(entry),
        layout: Some(layout),
        module,
        entry_point: Some(entry),
        compilation_options: wgpu::PipelineCompilationOptions {
            constants: &constants,
            ..Default::default()
        },
        cache: None,
    })
}

impl Renderer {
    pub fn new(context: Arc<GpuContext>) -> Result<Self> {
        let shaders = Shaders::shared(&context)?;
        let uniform_stride = (std::mem::size_of::<StepUniform>() as u64).next_multiple_of(
            u64::from(context.limits.min_uniform_buffer_offset_alignment),
        );
        Ok(Renderer {
            context,
            shaders,
            disc_blurs: Vec::new(),
            uniform_stride,
            frame: None,
            plan: FramePlan::default(),
            clamped: Vec::new(),
            step_uniforms: Vec::new(),
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
        self.check_size(width, height)?;
        let pixels = width as usize * height as usize;
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
        let (min, max) = (params.min_disparity, params.max_disparity);
        self.clamped.extend(disparity.iter().map(|&d| {
            // NaN (a broken depth source) is treated as the far end of the range. Plain
            // comparisons, which compile to a few vector instructions per 8 pixels.
            if d.is_nan() || d < min {
                min
            } else if d > max {
                max
            } else {
                d
            }
        }));
        self.ensure_frame(width, height)?;
        let max_level = self
            .frame
            .as_ref()
            .expect("ensure_frame made it")
            .levels
            .max();
        let mut fast = takes_fast_path(params);
        self.plan
            .build(&self.clamped, width, height, params, max_level, !fast);
        // A frame too small for a plane's level keeps it on a finer one with a wider kernel
        // (`Plane::at_most`), beyond what the fast path holds: such frames take the exact one.
        if fast
            && self
                .plan
                .planes
                .iter()
                .any(|w| w.plane.kernel.rows() > FAST_MAX_ROWS)
        {
            fast = false;
            self.plan
                .build(&self.clamped, width, height, params, max_level, true);
        }
        let levels: Vec<u32> = self.plan.planes.iter().map(|w| w.plane.level).collect();
        let tagged = self.tagged_planes(params, fast);
        let frame = self.frame.as_ref().expect("ensure_frame made it");
        let mut schedule = Schedule::new(&levels, &frame.levels, tagged.is_some());
        if let Some(planes) = &tagged {
            let plan = &mut self.plan;
            schedule.pair_tagged(planes, |first| {
                let tiles = |k: usize| plan.planes[k].blur_tiles;
                plan.push_tile_union(tiles(first), tiles(first + 1))
            });
        }
        self.make_disc_blurs(&schedule, fast, tagged.as_ref())?;
        let turns = CellTurns::new(&schedule, |plane| {
            fast && !tagged
                .as_ref()
                .is_some_and(|planes| planes.contains(&plane))
        });
        self.upload(params, fast, &schedule, &turns, tagged.clone())?;
        let frame = self.frame.as_ref().expect("ensure_frame made it");
        self.context.queue.write_buffer(&frame.image, 0, image);

        let device = &self.context.device;
        let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some("refocus"),
        });
        let frame = self.frame.as_mut().expect("ensure_frame made it");
        if fast && !frame.values_zero {
            // Two regions of cells, four bytes each: all the fast path reads.
            encoder.clear_buffer(&frame.values, 0, Some(2 * region_cells(width, height) * 4));
        }
        frame.values_zero = fast;
        let frame = self.frame.as_ref().expect("ensure_frame made it");
        const CELL: u64 = 16;
        for clear in &schedule.clears {
            if clear.level == 0 {
                encoder.clear_buffer(&frame.accum, 0, None);
            } else {
                let cells = u64::from(clear.width) * u64::from(clear.height);
                encoder.clear_buffer(
                    &frame.coarse,
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
            for (step_index, step) in schedule.steps.iter().enumerate() {
                let offset = (step_index as u64 * self.uniform_stride) as u32;
                pass.set_bind_group(0, &frame.bind_group, &[offset]);
                match step {
                    Step::Plane { index, .. } => {
                        let work = &self.plan.planes[*index];
                        let full_res = usize::from(work.plane.level == 0);
                        let class = level_class(work.plane.level);
                        let p = &self.shaders.pipelines;
                        if fast {
                            if let Some(cleared) = turns.region[step_index]
                                .map(|_| turns.cleared(step_index, &self.plan))
                            {
                                // 64 blocks of cells per workgroup.
                                let blocks = work.cell_blocks.count.max(cleared);
                                let block_groups = Slice {
                                    offset: 0,
                                    count: blocks.div_ceil(64),
                                };
                                dispatch_list(&mut pass, &p.extract_cells[class], block_groups);
                            }
                            let blur = self.disc_blurs[step_index].as_ref();
                            let blur = blur.expect("made for each plane");
                            dispatch_disc_blur(&mut pass, blur, work.blur_tiles);
                        } else {
                            // extract_prefix runs 64 rows per workgroup.
                            let row_groups = Slice {
                                offset: work.rows.offset,
                                count: work.rows.count.div_ceil(64),
                            };
                            dispatch_list(&mut pass, &p.extract_prefix[class], row_groups);
                            dispatch_list(&mut pass, &p.blur[full_res], work.blur_tiles);
                        }
                    }
                    Step::PlanePair { tiles, .. } => {
                        let blur = self.disc_blurs[step_index].as_ref();
                        dispatch_disc_blur(&mut pass, blur.expect("made for each pair"), *tiles);
                    }
                    Step::Resample { from, into, over } => {
                        let p = &self.shaders.pipelines;
                        let variant = [Target::of(into.level, fast) as usize, usize::from(*over)];
                        let made = "made for every resample a schedule has";
                        if from.level == into.level + 1 {
                            let pipeline = &p.resample_tiles[variant[0]][variant[1]];
                            let pipeline = pipeline.as_ref().expect(made);
                            dispatch_tiles(&mut pass, pipeline, into.width, into.height);
                        } else {
                            let pipeline = p.resample[variant[0]][variant[1]].as_ref().expect(made);
                            // A pair of cells per invocation.
                            dispatch_grid(&mut pass, pipeline, into.width.div_ceil(2), into.height);
                        }
                    }
                    Step::Normalize { back, front } => {
                        let p = &self.shaders.pipelines;
                        let variant = [
                            Target::of(back.level, fast) as usize,
                            usize::from(front.is_some()),
                        ];
                        let tiled = &p.normalize_tiles[variant[0]][variant[1]];
                        if let Some(pipeline) = tiled
                            .as_ref()
                            .filter(|_| back.level <= 1 && front.is_none_or(|f| f.level == 1))
                        {
                            dispatch_tiles(&mut pass, pipeline, width, height);
                        } else {
                            // A pair of pixels per invocation.
                            let pipeline = p.normalize[variant[0]][variant[1]].as_ref();
                            let pipeline = pipeline.expect("made for every normalisation");
                            dispatch_grid(&mut pass, pipeline, width.div_ceil(2), height);
                        }
                    }
                    Step::Tag => dispatch_grid(
                        &mut pass,
                        &self.shaders.pipelines.tag,
                        width.div_ceil(4),
                        height,
                    ),
                }
            }
            if let Some((plane, _)) = turns.last {
                // The last plane's cells, zeroed by a pass of its own (uniform slot after
                // the schedule's).
                let offset = (schedule.steps.len() as u64 * self.uniform_stride) as u32;
                pass.set_bind_group(0, &frame.bind_group, &[offset]);
                let blocks = self.plan.planes[plane].cell_blocks.count;
                let groups = Slice {
                    offset: 0,
                    count: blocks.div_ceil(64),
                };
                dispatch_list(&mut pass, &self.shaders.pipelines.extract_cells[0], groups);
            }
        }
        encoder.copy_buffer_to_buffer(&frame.output, 0, &frame.readback, 0, pixels as u64 * 4);
        self.context.queue.submit([encoder.finish()]);

        let slice = frame.readback.slice(..pixels as u64 * 4);
        self.context
            .read_back(&frame.readback, slice, "refocusing", |bytes| {
                output.copy_from_slice(bytes)
            })?;

        Ok(RenderStats {
            planes_drawn: self.plan.planes.len(),
            planes_total: params.planes().len(),
        })
    }

    /// The planes of level 0 (in `plan.planes`) if they read tagged pixels: on the fast path
    /// with hard masks.
    fn tagged_planes(&self, params: &Params, fast: bool) -> Option<std::ops::Range<usize>> {
        let planes = &self.plan.planes;
        let first = planes.iter().position(|w| w.plane.level == 0)?;
        let count = planes[first..]
            .iter()
            .take_while(|w| w.plane.level == 0)
            .count();
        let tags = fast && params.mask == Mask::Hard && count <= TAGGED_PLANES;
        tags.then_some(first..first + count)
    }

    /// On the fast path, the disc blur of each step of `schedule` that blurs planes, into
    /// `disc_blurs`.
    fn make_disc_blurs(
        &mut self,
        schedule: &Schedule,
        fast: bool,
        tagged: Option<&std::ops::Range<usize>>,
    ) -> Result<()> {
        self.disc_blurs.clear();
        for step in &schedule.steps {
            let planes = match step {
                Step::Plane { index, .. } if fast => *index..*index + 1,
                Step::PlanePair { first, .. } => *first..*first + 2,
                _ => {
                    self.disc_blurs.push(None);
                    continue;
                }
            };
            let input = if tagged.is_some_and(|tagged| tagged.contains(&planes.start)) {
                disc_blur::Input::Tagged
            } else {
                disc_blur::Input::Cells
            };
            let works = &self.plan.planes[planes];
            // Looked up without allocating: one or two discs.
            let pair =
                [&works[0], &works[works.len() - 1]].map(|w| w.plane.kernel.spans.as_slice());
            let discs = &pair[..works.len()];
            let full_res = works[0].plane.level == 0;
            let blur = self
                .shaders
                .disc_blur(&self.context, discs, input, full_res)?;
            self.disc_blurs.push(Some(blur));
        }
        Ok(())
    }

    /// Whether this GPU can refocus frames of this size (its largest buffer within the
    /// device's limits); the error says what to do. Elements call it before costlier work.
    pub fn check_size(&self, width: u32, height: u32) -> Result<()> {
        ensure!(width > 0 && height > 0, "empty frame {width}x{height}");
        ensure!(
            width < 1 << 16 && height < 1 << 16,
            "a {width}x{height} frame is too large; scale the video below 65536 pixels a side"
        );
        let pixels = u64::from(width) * u64::from(height);
        let largest = values_bytes(width, height)
            .max(Levels::new(width, height).coarse_cells * 16)
            .max(pixels * 16);
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
        Ok(())
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
        self.check_size(width, height)?;
        let pixels = u64::from(width) * u64::from(height);
        let levels = Levels::new(width, height);
        let values_size = values_bytes(width, height);
        let coarse_size = levels.coarse_cells * 16;
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
        let values = buffer("values", values_size, U::STORAGE | U::COPY_DST);
        let accum = buffer("accum", pixels * 16, U::STORAGE | U::COPY_DST);
        let coarse = buffer("coarse", coarse_size, U::STORAGE | U::COPY_DST);
        let output = buffer("output", pixels * 4, U::STORAGE | U::COPY_SRC);
        let sub_tiles = u64::from(width.div_ceil(SUB)) * u64::from(height.div_ceil(SUB));
        let ranges = buffer("ranges", sub_tiles * 8, U::STORAGE | U::COPY_DST);
        let readback = buffer("readback", pixels * 4, U::MAP_READ | U::COPY_DST);
        // Created zeroed; the tag pass only writes the frame's pixels, so the margins stay 0.
        let tagged = buffer("tagged", region_cells(width, height) * 4, U::STORAGE);
        let lists = buffer("lists", 1 << 16, U::STORAGE | U::COPY_DST);
        let steps = buffer("steps", 64 * self.uniform_stride, U::UNIFORM | U::COPY_DST);
        let bind_group = self.bind_group(
            [&frame_uniform, &steps],
            [
                &image, &disparity, &lists, &values, &accum, &coarse, &output, &ranges, &tagged,
            ],
        );
        self.frame = Some(Frame {
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
        });
        Ok(())
    }

    /// The bind group: uniforms `[frame, steps]`, then the storage buffers in binding order.
    fn bind_group(
        &self,
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
        self.context
            .device
            .create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some("layered_dof"),
                layout: &self.shaders.layout,
                entries: &entries,
            })
    }

    /// Writes the frame's inputs, lists and step uniforms, growing buffers as needed.
    fn upload(
        &mut self,
        params: &Params,
        fast: bool,
        schedule: &Schedule,
        turns: &CellTurns,
        tagged: Option<std::ops::Range<usize>>,
    ) -> Result<()> {
        // Values per unit of (M o I, M): bytes on the fast path, finer on the exact one.
        let quantum = 255.0 * if fast { 1.0 } else { EXACT_SCALE };
        let half_band = params.half_band();
        let smooth_alpha = match params.mask {
            Mask::Hard => 0.0,
            Mask::Smooth { alpha } => alpha,
        };
        let stride = self.uniform_stride as usize;
        self.step_uniforms.clear();
        // One slot per step, and one for zeroing the last plane's cells.
        self.step_uniforms
            .resize((schedule.steps.len() + 1) * stride, 0);
        let frame = self.frame.as_ref().expect("frame buffers exist");
        let region_cells = region_cells(frame.width, frame.height) as u32;
        let cells = |(plane, region): (usize, u32)| {
            let work: &PlaneWork = &self.plan.planes[plane];
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
        for (step_index, step) in schedule.steps.iter().enumerate() {
            let uniform = match step {
                Step::Plane { index, into } => {
                    let work = &self.plan.planes[*index];
                    StepUniform {
                        dst: *into,
                        tag_index: tagged
                            .as_ref()
                            .map_or(0, |planes| index.saturating_sub(planes.start) as u32),
                        values_offset: turns.region[step_index].unwrap_or(0) * region_cells,
                        cleared: turns.clears[step_index].map(cells).unwrap_or_default(),
                        ..plane_uniform(work, half_band, smooth_alpha, quantum)
                    }
                }
                Step::PlanePair { first, into, tiles } => {
                    let [work, next] = [*first, first + 1].map(|k| &self.plan.planes[k]);
                    let planes = tagged.as_ref().expect("pairs are of tagged planes");
                    StepUniform {
                        dst: *into,
                        tag_index: (first - planes.start) as u32,
                        tiles_offset: tiles.offset,
                        tiles_count: tiles.count,
                        next_inv_norm: plane_uniform(next, half_band, smooth_alpha, quantum)
                            .inv_norm,
                        ..plane_uniform(work, half_band, smooth_alpha, quantum)
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
                    for (slot, work) in tagged_planes.iter_mut().zip(&self.plan.planes[planes]) {
                        *slot = work.plane.disparity;
                    }
                    StepUniform {
                        half_band,
                        tagged_planes,
                        ..Default::default()
                    }
                }
            };
            let at = step_index * stride;
            self.step_uniforms[at..at + std::mem::size_of::<StepUniform>()]
                .copy_from_slice(bytemuck::bytes_of(&uniform));
        }
        let last = StepUniform {
            cleared: turns.last.map(cells).unwrap_or_default(),
            ..Default::default()
        };
        let at = schedule.steps.len() * stride;
        self.step_uniforms[at..at + std::mem::size_of::<StepUniform>()]
            .copy_from_slice(bytemuck::bytes_of(&last));
        let lists_bytes = (self.plan.lists.len().max(1) * 4) as u64;
        let steps_bytes = self.step_uniforms.len() as u64;

        let frame = self.frame.as_ref().expect("frame buffers exist");
        if lists_bytes > frame.lists.size() || steps_bytes > frame.steps.size() {
            let device = &self.context.device;
            let lists_size = lists_bytes.max(frame.lists.size()).next_power_of_two();
            let steps_size = steps_bytes.max(frame.steps.size()).next_power_of_two();
            ensure!(
                lists_size <= self.context.limits.max_storage_buffer_binding_size
                    && steps_size <= self.context.limits.max_buffer_size,
                "the plane schedule is too large for the GPU; lower the aperture or the disparity range"
            );
            let lists = device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("lists"),
                size: lists_size,
                usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            });
            let steps = device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("steps"),
                size: steps_size,
                usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            });
            let bind_group = self.bind_group(
                [&frame.frame_uniform, &steps],
                [
                    &frame.image,
                    &frame.disparity,
                    &lists,
                    &frame.values,
                    &frame.accum,
                    &frame.coarse,
                    &frame.output,
                    &frame.ranges,
                    &frame.tagged,
                ],
            );
            let frame = self.frame.as_mut().expect("frame buffers exist");
            frame.lists = lists;
            frame.steps = steps;
            frame.bind_group = bind_group;
        }

        let frame = self.frame.as_ref().expect("frame buffers exist");
        let queue = &self.context.queue;
        let frame_uniform = FrameUniform {
            width: frame.width,
            height: frame.height,
            min_disparity: params.min_disparity,
            max_disparity: params.max_disparity,
            quantum,
            subs_x: frame.width.div_ceil(SUB),
        };
        queue.write_buffer(&frame.frame_uniform, 0, bytemuck::bytes_of(&frame_uniform));
        queue.write_buffer(&frame.disparity, 0, bytemuck::cast_slice(&self.clamped));
        queue.write_buffer(
            &frame.ranges,
            0,
            bytemuck::cast_slice(self.plan.sub_ranges()),
        );
        if !self.plan.lists.is_empty() {
            queue.write_buffer(&frame.lists, 0, bytemuck::cast_slice(&self.plan.lists));
        }
        queue.write_buffer(&frame.steps, 0, &self.step_uniforms);
        Ok(())
    }
}

/// Row pitch and rows of a `width` x `height` grid laid out with zero margins (`tagged`, the
/// fast path's cells; `padded_pitch` in the shader): padded to whole tiles, with a margin of
/// `BORDER` cells on the left and top and twice that on the right and bottom, so that a
/// tile's cells plus the reach of a 15-wide kernel are always inside. The pitch is a multiple
/// of 8, so rows start at whole quads of cells.
fn padded_size(width: u32, height: u32) -> (u32, u32) {
    let pad = |n: u32| n.div_ceil(TILE) * TILE + 3 * BORDER;
    (pad(width), pad(height))
}

/// Cells of a region of `values` on the fast path: the frame's grid with its margins, the
/// largest grid a plane can read cells from (a multiple of 4: regions start at whole quads).
fn region_cells(width: u32, height: u32) -> u64 {
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

/// Whether the planes take the fast path (byte cells, discs written out per kernel): when
/// kernels are capped small enough that a disc's sums fit 16 bits per channel (unless a frame
/// too small for a plane's level widens its kernel, see `render`).
fn takes_fast_path(params: &Params) -> bool {
    (1..=FAST_MAX_KERNEL).contains(&params.max_kernel)
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

/// Dispatches one workgroup per list item, as a 2D grid when the list exceeds 65535.
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

/// Dispatches a disc blur (`src/dof/disc_blur.rs`) over the listed `tiles`: one invocation
/// per tile, eight per workgroup.
fn dispatch_disc_blur(pass: &mut wgpu::ComputePass, blur: &wgpu::ComputePipeline, tiles: Slice) {
    let groups = Slice {
        offset: 0,
        count: tiles.count.div_ceil(8),
    };
    dispatch_list(pass, blur, groups);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_moves_the_back_to_finer_levels_and_gathers_the_front() {
        let grid = Levels::new(64, 32);
        assert_eq!(grid.max(), 6);
        // Levels of planes back to front around a focus at full resolution.
        let schedule = Schedule::new(&[2, 1, 1, 0, 0, 1, 2, 2], &grid, false);
        let back = |level| grid.accumulator(level, false);
        let front = |level| grid.accumulator(level, true);
        assert_eq!(schedule.clears, vec![back(2), front(1), front(2)]);
        let expected = vec![
            Step::Plane {
                index: 0,
                into: back(2),
            },
            Step::Resample {
                from: back(2),
                into: back(1),
                over: false,
            },
            Step::Plane {
                index: 1,
                into: back(1),
            },
            Step::Plane {
                index: 2,
                into: back(1),
            },
            Step::Resample {
                from: back(1),
                into: back(0),
                over: false,
            },
            Step::Plane {
                index: 3,
                into: back(0),
            },
            Step::Plane {
                index: 4,
                into: back(0),
            },
            Step::Plane {
                index: 5,
                into: front(1),
            },
            Step::Plane {
                index: 6,
                into: front(2),
            },
            Step::Plane {
                index: 7,
                into: front(2),
            },
            Step::Resample {
                from: front(2),
                into: front(1),
                over: true,
            },
            Step::Normalize {
                back: back(0),
                front: Some(front(1)),
            },
        ];
        assert_eq!(schedule.steps, expected);
        // Planes of level 0 that read tagged pixels: the same, after tagging them.
        let tagged = Schedule::new(&[2, 1, 1, 0, 0, 1, 2, 2], &grid, true);
        assert_eq!(tagged.steps[0], Step::Tag);
        assert_eq!(tagged.steps[1..], expected);
        // Distinct accumulators never overlap in `coarse`.
        let cells = |a: AccumulatorUniform| a.offset..a.offset + a.width * a.height;
        assert!(cells(back(2)).end <= cells(front(1)).start);
    }

    #[test]
    fn planes_reading_cells_take_turns_and_zero_the_one_before() {
        let grid = Levels::new(64, 64);
        // Planes 2 and 3 (level 0) read tagged pixels, the others cells.
        let schedule = Schedule::new(&[2, 1, 0, 0, 1, 2], &grid, true);
        let turns = CellTurns::new(&schedule, |plane| !(2..4).contains(&plane));
        let by_plane = |plane: usize| {
            let step = schedule
                .steps
                .iter()
                .position(|s| matches!(s, Step::Plane { index, .. } if *index == plane))
                .expect("every plane has a step");
            (turns.region[step], turns.clears[step])
        };
        assert_eq!(by_plane(0), (Some(0), None));
        assert_eq!(by_plane(1), (Some(1), Some((0, 0))));
        assert_eq!(by_plane(2), (None, None));
        assert_eq!(by_plane(3), (None, None));
        assert_eq!(by_plane(4), (Some(0), Some((1, 1))));
        assert_eq!(by_plane(5), (Some(1), Some((4, 0))));
        assert_eq!(turns.last, Some((5, 1)));
        // Steps without planes read nothing.
        assert_eq!(turns.region[0], None);
    }

    #[test]
    fn consecutive_tagged_planes_go_in_pairs() {
        let grid = Levels::new(64, 64);
        // Planes 2..7 are tagged (level 0); 2 and 3, 4 and 5 pair up, 6 is left alone.
        let mut schedule = Schedule::new(&[2, 1, 0, 0, 0, 0, 0, 1], &grid, true);
        let mut unions = Vec::new();
        schedule.pair_tagged(&(2..7), |first| {
            unions.push(first);
            Slice {
                offset: first as u32,
                count: 1,
            }
        });
        assert_eq!(unions, [2, 4]);
        let back = grid.accumulator(0, false);
        let planes: Vec<&Step> = schedule
            .steps
            .iter()
            .filter(|s| matches!(s, Step::Plane { .. } | Step::PlanePair { .. }))
            .collect();
        let pair = |first: usize| Step::PlanePair {
            first,
            into: back,
            tiles: Slice {
                offset: first as u32,
                count: 1,
            },
        };
        assert_eq!(*planes[2], pair(2));
        assert_eq!(*planes[3], pair(4));
        assert_eq!(
            *planes[4],
            Step::Plane {
                index: 6,
                into: back
            }
        );
        assert!(matches!(planes[1], Step::Plane { index: 1, .. }));
        assert_eq!(planes.len(), 6);
    }

    #[test]
    fn schedule_without_planes_only_normalises() {
        let grid = Levels::new(5, 3);
        let schedule = Schedule::new(&[], &grid, false);
        let back = grid.accumulator(0, false);
        assert_eq!(schedule.clears, vec![back]);
        assert_eq!(schedule.steps, vec![Step::Normalize { back, front: None }]);
    }

    #[test]
    fn schedule_with_focus_outside_the_range_stays_coarse() {
        let grid = Levels::new(100, 100);
        // All planes in front of a far focus, none at full resolution.
        let schedule = Schedule::new(&[1, 2, 3], &grid, false);
        let back = |level| grid.accumulator(level, false);
        let front = |level| grid.accumulator(level, true);
        assert_eq!(
            schedule.steps.last(),
            Some(&Step::Normalize {
                back: back(1),
                front: Some(front(2))
            })
        );
    }
}
