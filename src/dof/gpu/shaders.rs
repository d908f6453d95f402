//! The bind group layout and the compute pipelines of `shaders/layered_dof.wgsl` and of the
//! WGSL this module's generators write ([`super::disc_blur`], [`super::tile_upsample`]):
//! made once per GPU context and shared by its renderers (compiling them is most of what a
//! renderer costs to start).

use std::sync::Arc;

use anyhow::{Result, bail};

use super::{disc_blur, tile_upsample};
use crate::gpu::GpuContext;

/// Plane passes, specialised by pipeline constants.
pub(super) struct Pipelines {
    /// Indexed by [`level_class`].
    pub(super) extract_cells: [wgpu::ComputePipeline; 3],
    pub(super) extract_prefix: [wgpu::ComputePipeline; 3],
    /// Indexed `[full_res]`.
    pub(super) blur: [wgpu::ComputePipeline; 2],
    /// Into that accumulator, over it or replacing it.
    pub(super) resample: AccumulatorVariants,
    /// The back accumulator there (upsampled from `coarse`), with or without a front one
    /// over it.
    pub(super) normalize: AccumulatorVariants,
    pub(super) tag: wgpu::ComputePipeline,
    /// `resample` from a level into the one below, a tile per invocation.
    pub(super) resample_tiles: AccumulatorVariants,
    /// `normalize` with the back accumulator at level 0 or 1 and the front one (if any) at
    /// level 1, a tile per invocation, where it upsamples.
    pub(super) normalize_tiles: AccumulatorVariants,
}

/// Which of the options that only the exact path takes the plane passes are built for:
/// their pipeline constants fold away the branches of the others.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(super) struct Variant {
    /// `LINEAR`: linear light (the exact path's extraction decodes, its normalisation
    /// encodes).
    pub(super) linear: bool,
    /// `FILL`: the extraction adds the hidden layer (`crate::dof::fill`).
    pub(super) fill: bool,
}

impl Pipelines {
    /// The plane passes of `variant`.
    fn new(
        device: &wgpu::Device,
        pipeline_layout: &wgpu::PipelineLayout,
        variant: Variant,
    ) -> Pipelines {
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("layered_dof"),
            source: wgpu::ShaderSource::Wgsl(
                include_str!("../../../shaders/layered_dof.wgsl").into(),
            ),
        });
        let tiles_module = extended_module(device, "tile_upsample", &tile_upsample::source());
        let specialised = |entry: &str, constants: Constants| {
            let constants = Constants {
                variant,
                ..constants
            };
            pipeline(device, pipeline_layout, &module, entry, constants)
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
                            let constants = Constants {
                                variant,
                                ..target.constants(over)
                            };
                            pipeline(device, pipeline_layout, module, entry, constants)
                        })
                    })
                })
            };
        // Level 0 is never composited over: the front's accumulators are of level 1 and up.
        let resampled = |target: Target, over: bool| !(over && target.full_res());
        Pipelines {
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
        }
    }
}

/// An accumulator pass's pipelines, indexed `[Target][over]`; `None` where no step needs one.
pub(super) type AccumulatorVariants = [[Option<wgpu::ComputePipeline>; 2]; 4];

/// Which accumulator a pass reads or writes, and in which layout (f32 on the exact path,
/// 16-bit fixed point with two cells per element on the fast one, `PACKED`): indexes the
/// accumulator passes' pipelines.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Target {
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

    pub(super) fn of(level: u32, fast: bool) -> Target {
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

/// The layout's storage bindings, (binding, read-only), in the order of the buffers
/// `buffers::bind_group` takes.
pub(super) const STORAGE_BINDINGS: [(u32, bool); 9] = [
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
pub(super) struct Shaders {
    pub(super) layout: wgpu::BindGroupLayout,
    pipeline_layout: wgpu::PipelineLayout,
    pub(super) pipelines: Arc<Pipelines>,
    /// Those of the other variants, each made on the first frame that needs it.
    variants: std::sync::Mutex<Vec<(Variant, Arc<Pipelines>)>>,
    /// Disc blurs made so far, by what they are for.
    disc_blurs: std::sync::Mutex<Vec<(DiscBlurKey, wgpu::ComputePipeline)>>,
}

/// What a disc blur pipeline is made for: one or two kernels (`Kernel::spans`), what it reads,
/// and whether its planes are at full resolution.
#[derive(Debug, Clone, PartialEq)]
struct DiscBlurKey {
    discs: Vec<Vec<(i32, i32)>>,
    input: disc_blur::Input,
    full_res: bool,
}

/// The shaders of each live GPU context.
static SHADERS: std::sync::Mutex<Vec<(std::sync::Weak<GpuContext>, Arc<Shaders>)>> =
    std::sync::Mutex::new(Vec::new());

impl Shaders {
    pub(super) fn shared(context: &Arc<GpuContext>) -> Result<Arc<Shaders>> {
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
        let pipelines = Arc::new(Pipelines::new(device, &pipeline_layout, Variant::default()));
        if let Some(error) = context.take_error() {
            bail!("the GPU could not build the refocusing shaders: {error}");
        }
        Ok(Shaders {
            layout,
            pipeline_layout,
            pipelines,
            variants: Default::default(),
            disc_blurs: Default::default(),
        })
    }

    /// The plane passes of `variant` (made on first use, but for the default one).
    pub(super) fn pipelines(
        &self,
        context: &GpuContext,
        variant: Variant,
    ) -> Result<Arc<Pipelines>> {
        if variant == Variant::default() {
            return Ok(Arc::clone(&self.pipelines));
        }
        let mut made = self.variants.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, pipelines)) = made.iter().find(|(made, _)| *made == variant) {
            return Ok(Arc::clone(pipelines));
        }
        let pipelines = Arc::new(Pipelines::new(
            &context.device,
            &self.pipeline_layout,
            variant,
        ));
        if let Some(error) = context.take_error() {
            bail!("the GPU could not build the refocusing shaders for {variant:?}: {error}");
        }
        made.push((variant, Arc::clone(&pipelines)));
        Ok(pipelines)
    }

    /// The disc blur of the kernels of rows `discs` (one plane's, or a pair's),
    /// reading `input`, for planes at full resolution or not; made on first use (a module
    /// written for its discs, see [`disc_blur`]).
    pub(super) fn disc_blur(
        &self,
        context: &GpuContext,
        discs: &[&[(i32, i32)]],
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
        include_str!("../../../shaders/layered_dof.wgsl")
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
    variant: Variant,
}

/// The extraction pipeline of a plane of level `level`: cells of level 2 and above are one
/// a block and sample their footprints alike (`LEVEL` in the shader).
pub(super) fn level_class(level: u32) -> usize {
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
        ("LINEAR", f64::from(u8::from(constants.variant.linear))),
        ("FILL", f64::from(u8::from(constants.variant.fill))),
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
