//! The layered depth of field on wgpu compute shaders (`shaders/layered_dof.wgsl`).
//!
//! Per frame ([`Renderer::render`]): the host clamps the disparity, plans the work
//! ([`FramePlan`]), orders it into a schedule of steps ([`schedule::Schedule`]), uploads
//! image, disparity, lists and one uniform block per step ([`uniforms`]), records every
//! step's passes into one command buffer ([`passes`]) and reads the output back. GPU buffers
//! are made once per frame size and reused ([`buffers`]); pipelines once per GPU context
//! ([`shaders`]).
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
//! ([`disc_blur`]).
//!
//! With the foreground fill ([`Params::fill_hidden`]) the host computes the frame's hidden
//! layer ([`fill`]) and uploads it after the frame's pixels; the planes' extractions blur it
//! with the visible layer (pipelines built with `FILL`), and no pixels are tagged.

mod buffers;
pub mod disc_blur;
mod passes;
mod schedule;
mod shaders;
pub mod tile_upsample;
mod uniforms;

use std::ops::Range;
use std::sync::Arc;

use anyhow::{Result, ensure};

use self::buffers::FrameBuffers;
use self::schedule::{CellTurns, Schedule, Step};
use self::shaders::Shaders;
use self::uniforms::{StepUniform, TAGGED_PLANES};
use super::fill::{self, Hidden};
use super::plan::FramePlan;
use super::{Light, Mask, Params};
use crate::formats::gpu::{Decoder, Encoder, PlaneCoding};
use crate::gpu::GpuContext;

/// Largest `kmax` of the fast path: its disc (at most 197 taps) summed over byte-sized
/// cells stays below 2^16 per channel.
const FAST_MAX_KERNEL: u32 = 15;
/// Rows above the centre of the widest fast-path disc (`2r + 1 <= 15`); also the reach the
/// zero margins of `tagged` cover.
const FAST_MAX_ROWS: u32 = 7;

/// What a frame cost, for logs and benchmarks.
#[derive(Debug, Clone, Copy, Default)]
pub struct RenderStats {
    /// Planes with pixels in them (of all planes of the sweep).
    pub planes_drawn: usize,
    pub planes_total: usize,
}

/// Renders refocused frames on the GPU. Create once, call [`Renderer::render`] per frame.
pub struct Renderer {
    context: Arc<GpuContext>,
    shaders: Arc<Shaders>,
    uniform_stride: u64,
    frame: Option<FrameBuffers>,
    plan: FramePlan,
    clamped: Vec<f32>,
    /// With the foreground fill: the hidden layer, and per pixel the lesser of its
    /// disparity and the visible one (what the planner measures).
    hidden: Hidden,
    nearest_behind: Vec<f32>,
    step_uniforms: Vec<u8>,
    /// Decode the input from and code the output into a converted format's planes, made on
    /// first use.
    decoder: Option<Decoder>,
    coder: Option<Encoder>,
}

/// The colour a frame is refocused from.
#[derive(Clone, Copy)]
pub enum Colour<'a> {
    /// Tightly packed 4-byte pixels.
    Pixels(&'a [u8]),
    /// The planes of a converted format in [`PlaneCoding::planes`]' layout
    /// (`formats::gpu::read_planes`), decoded on the GPU.
    Planes(&'a PlaneCoding, &'a [u8]),
}

/// What a frame is refocused from.
#[derive(Clone, Copy)]
struct Inputs<'a> {
    image: Colour<'a>,
    right: Option<&'a [u8]>,
    disparity: &'a [f32],
    width: u32,
    height: u32,
}

/// Where the refocused frame goes: 4-byte pixels, or the planes of a converted format coded
/// on the GPU.
enum Output<'a> {
    Pixels(&'a mut [u8]),
    Planes(&'a PlaneCoding, &'a mut Vec<u8>),
}

/// How a frame's planes are drawn, decided once its plan is made.
struct FrameWork {
    /// Byte cells and disc blurs written per disc (else f32 prefix sums, see
    /// [`takes_fast_path`]).
    fast: bool,
    /// The planes of level 0 (in `plan.planes`) that read tagged pixels, if any.
    tagged: Option<Range<usize>>,
    schedule: Schedule,
    turns: CellTurns,
    /// On the fast path, the disc blur of each step that blurs planes.
    disc_blurs: Vec<Option<wgpu::ComputePipeline>>,
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
            uniform_stride,
            frame: None,
            plan: FramePlan::default(),
            clamped: Vec::new(),
            hidden: Hidden::default(),
            nearest_behind: Vec::new(),
            step_uniforms: Vec::new(),
            decoder: None,
            coder: None,
        })
    }

    /// The device in use, "name (backend, type)".
    pub fn device_name(&self) -> String {
        self.context.describe()
    }

    /// Whether frames of converted formats are best decoded here ([`Colour::Planes`]) rather
    /// than on the host: on a GPU, yes (and 1.5 bytes a pixel of NV12 cross to it instead
    /// of 4); on a CPU adapter such as lavapipe, no: the per-pixel decoding there cost about
    /// 100 ms of a 1920x1080 frame against 36 ms for the host's row-wise tables
    /// (`bench_refocus --outputs`, README). Coding the output costs the same either way
    /// there, and is always done here.
    pub fn decodes_planes(&self) -> bool {
        self.context.adapter.device_type != wgpu::DeviceType::Cpu
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
        self.render_views(image, None, disparity, width, height, params, output)
    }

    /// [`Renderer::render`] with the right view (`image`'s layout), from which the
    /// foreground fill takes what near objects hide where the right camera saw it.
    #[allow(clippy::too_many_arguments)]
    pub fn render_views(
        &mut self,
        image: &[u8],
        right: Option<&[u8]>,
        disparity: &[f32],
        width: u32,
        height: u32,
        params: &Params,
        output: &mut [u8],
    ) -> Result<RenderStats> {
        let frame = Inputs {
            image: Colour::Pixels(image),
            right,
            disparity,
            width,
            height,
        };
        self.render_frame(&frame, params, Output::Pixels(output))
    }

    /// [`Renderer::render_views`] whose output is coded on the GPU into the planes of
    /// `coding` (NV12, I420, ...; [`PlaneCoding::planes`]' layout), in `planes`. `image`:
    /// RGBA pixels, or planes decoded on the GPU (not with the foreground fill, which reads
    /// the pixels on the host).
    #[allow(clippy::too_many_arguments)]
    pub fn render_planes(
        &mut self,
        image: Colour,
        right: Option<&[u8]>,
        disparity: &[f32],
        width: u32,
        height: u32,
        params: &Params,
        coding: &PlaneCoding,
        planes: &mut Vec<u8>,
    ) -> Result<RenderStats> {
        self.render_into(
            image,
            right,
            disparity,
            width,
            height,
            params,
            Some(coding),
            planes,
        )
    }

    /// What the elements call: [`Renderer::render_views`] into `output` (resized to the
    /// frame) for the 4-byte formats (`coding` `None`), else [`Renderer::render_planes`].
    #[allow(clippy::too_many_arguments)]
    pub fn render_into(
        &mut self,
        image: Colour,
        right: Option<&[u8]>,
        disparity: &[f32],
        width: u32,
        height: u32,
        params: &Params,
        coding: Option<&PlaneCoding>,
        output: &mut Vec<u8>,
    ) -> Result<RenderStats> {
        let frame = Inputs {
            image,
            right,
            disparity,
            width,
            height,
        };
        match coding {
            Some(coding) => self.render_frame(&frame, params, Output::Planes(coding, output)),
            None => {
                output.resize(width as usize * height as usize * 4, 0);
                self.render_frame(&frame, params, Output::Pixels(output))
            }
        }
    }

    fn render_frame(
        &mut self,
        inputs: &Inputs,
        params: &Params,
        output: Output,
    ) -> Result<RenderStats> {
        let Inputs {
            image,
            right,
            disparity,
            width,
            height,
        } = *inputs;
        params.validate()?;
        self.check_size(width, height)?;
        let pixels = width as usize * height as usize;
        let image_bytes = match image {
            Colour::Pixels(image) => image.len(),
            Colour::Planes(coding, _) => {
                ensure!(
                    coding.size() == (width, height),
                    "input planes coded for {:?} of a {width}x{height} frame",
                    coding.size()
                );
                ensure!(
                    !params.fill_hidden,
                    "the foreground fill needs the frame's pixels, not its planes"
                );
                // (the planes' length is the decoder's to check)
                pixels * 4
            }
        };
        let output_bytes = match &output {
            Output::Pixels(pixels) => pixels.len(),
            Output::Planes(coding, _) => {
                ensure!(
                    coding.size() == (width, height),
                    "planes coded for {:?} of a {width}x{height} frame",
                    coding.size()
                );
                pixels * 4
            }
        };
        for (what, len, expected) in [
            ("image bytes", image_bytes, pixels * 4),
            (
                "right view bytes",
                right.map_or(pixels * 4, <[u8]>::len),
                pixels * 4,
            ),
            ("disparity values", disparity.len(), pixels),
            ("output bytes", output_bytes, pixels * 4),
        ] {
            ensure!(
                len == expected,
                "{len} {what} for a {width}x{height} frame, expected {expected}"
            );
        }
        clamp_disparity(disparity, params, &mut self.clamped);
        if let (true, Colour::Pixels(image)) = (params.fill_hidden, image) {
            let (w, h) = (width as usize, height as usize);
            self.hidden = fill::hidden_layer(image, right, &self.clamped, w, h, params);
            self.nearest_behind.clear();
            self.nearest_behind.extend(
                self.clamped
                    .iter()
                    .zip(&self.hidden.disparity)
                    .map(|(&d, &b)| d.min(b)),
            );
        }
        self.ensure_frame(width, height)?;
        let work = self.plan_frame(width, height, params)?;
        self.upload(image, params, &work)?;

        let frame = self.frame.as_mut().expect("ensure_frame made it");
        let mut encoder =
            self.context
                .device
                .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                    label: Some("refocus"),
                });
        if let Colour::Planes(coding, planes) = image {
            let decoder = self
                .decoder
                .get_or_insert_with(|| Decoder::new(&self.context));
            decoder.record(&self.context, &mut encoder, planes, coding, &frame.image)?;
        }
        let pipelines = self.shaders.pipelines(
            &self.context,
            shaders::Variant {
                linear: params.light != Light::Encoded,
                fill: params.fill_hidden,
            },
        )?;
        let passes = passes::Frame {
            buffers: frame,
            pipelines: &pipelines,
            plan: &self.plan,
            work: &work,
            uniform_stride: self.uniform_stride,
        };
        passes::record(&mut encoder, &passes, frame.values_zero);
        frame.values_zero = work.fast;
        let bytes = pixels as u64 * 4;
        match output {
            Output::Pixels(output) => {
                encoder.copy_buffer_to_buffer(&frame.output, 0, &frame.readback, 0, bytes);
                self.context.queue.submit([encoder.finish()]);
                let slice = frame.readback.slice(..bytes);
                self.context
                    .read_back(&frame.readback, slice, "refocusing", |bytes| {
                        output.copy_from_slice(bytes)
                    })?;
            }
            Output::Planes(coding, planes) => {
                let coder = self
                    .coder
                    .get_or_insert_with(|| Encoder::new(&self.context));
                coder.record(&self.context, &mut encoder, &frame.output, coding);
                self.context.queue.submit([encoder.finish()]);
                coder.read(&self.context, planes)?;
            }
        }
        Ok(RenderStats {
            planes_drawn: self.plan.planes.len(),
            planes_total: params.planes().len(),
        })
    }

    /// Plans the frame of `self.clamped` and decides how its planes are drawn: the path, the
    /// schedule (with tagged planes paired), the cells' turns and the disc blurs.
    fn plan_frame(&mut self, width: u32, height: u32, params: &Params) -> Result<FrameWork> {
        let levels = &self.frame.as_ref().expect("ensure_frame made it").levels;
        let mut fast = takes_fast_path(params);
        // The planes' bands must meet the hidden layer's disparities too.
        let disparities: &[&[f32]] = if params.fill_hidden {
            &[&self.clamped, &self.nearest_behind]
        } else {
            &[&self.clamped]
        };
        self.plan
            .build(disparities, width, height, params, levels.max(), !fast);
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
                .build(disparities, width, height, params, levels.max(), true);
        }
        let plane_levels: Vec<u32> = self.plan.planes.iter().map(|w| w.plane.level).collect();
        let tagged = self.tagged_planes(params, fast);
        let mut schedule = Schedule::new(&plane_levels, levels, tagged.is_some());
        if let Some(planes) = &tagged {
            let plan = &mut self.plan;
            schedule.pair_tagged(planes, |first| {
                let tiles = |k: usize| plan.planes[k].blur_tiles;
                plan.push_tile_union(tiles(first), tiles(first + 1))
            });
        }
        let turns = CellTurns::new(&schedule, |plane| {
            fast && !tagged
                .as_ref()
                .is_some_and(|planes| planes.contains(&plane))
        });
        let disc_blurs = self.disc_blurs(&schedule, fast, tagged.as_ref())?;
        Ok(FrameWork {
            fast,
            tagged,
            schedule,
            turns,
            disc_blurs,
        })
    }

    /// The planes of level 0 (in `plan.planes`) if they read tagged pixels: on the fast path
    /// with hard masks and no hidden layer (a tagged pixel holds one colour).
    fn tagged_planes(&self, params: &Params, fast: bool) -> Option<Range<usize>> {
        let planes = &self.plan.planes;
        let first = planes.iter().position(|w| w.plane.level == 0)?;
        let count = planes[first..]
            .iter()
            .take_while(|w| w.plane.level == 0)
            .count();
        let tags =
            fast && params.mask == Mask::Hard && !params.fill_hidden && count <= TAGGED_PLANES;
        tags.then_some(first..first + count)
    }

    /// On the fast path, the disc blur of each step of `schedule` that blurs planes.
    fn disc_blurs(
        &self,
        schedule: &Schedule,
        fast: bool,
        tagged: Option<&Range<usize>>,
    ) -> Result<Vec<Option<wgpu::ComputePipeline>>> {
        let mut blurs = Vec::with_capacity(schedule.steps.len());
        for step in &schedule.steps {
            let planes = match step {
                Step::Plane { index, .. } if fast => *index..*index + 1,
                Step::PlanePair { first, .. } => *first..*first + 2,
                _ => {
                    blurs.push(None);
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
            blurs.push(Some(blur));
        }
        Ok(blurs)
    }

    /// Whether this GPU can refocus frames of this size (its largest buffer within the
    /// device's limits); the error says what to do. Elements call it before costlier work.
    pub fn check_size(&self, width: u32, height: u32) -> Result<()> {
        ensure!(width > 0 && height > 0, "empty frame {width}x{height}");
        ensure!(
            width < 1 << 16 && height < 1 << 16,
            "a {width}x{height} frame is too large; scale the video below 65536 pixels a side"
        );
        let largest = buffers::largest_buffer(width, height);
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
        self.frame = Some(FrameBuffers::new(
            &self.context,
            &self.shaders.layout,
            width,
            height,
            self.uniform_stride,
        ));
        Ok(())
    }

    /// Writes the frame's inputs (the image unless it is decoded on the GPU), lists and step
    /// uniforms, growing buffers as needed.
    fn upload(&mut self, image: Colour, params: &Params, work: &FrameWork) -> Result<()> {
        let frame = self.frame.as_mut().expect("frame buffers exist");
        let (width, height) = (frame.width, frame.height);
        let region_cells = buffers::region_cells(width, height) as u32;
        let stride = self.uniform_stride as usize;
        uniforms::write_steps(
            &mut self.step_uniforms,
            stride,
            &self.plan,
            work,
            params,
            region_cells,
        );
        let lists_bytes = (self.plan.lists.len().max(1) * 4) as u64;
        let steps_bytes = self.step_uniforms.len() as u64;
        frame.fit(
            &self.context,
            &self.shaders.layout,
            lists_bytes,
            steps_bytes,
        )?;

        let queue = &self.context.queue;
        let frame_uniform = uniforms::frame_uniform(width, height, params, work.fast);
        queue.write_buffer(&frame.frame_uniform, 0, bytemuck::bytes_of(&frame_uniform));
        queue.write_buffer(&frame.disparity, 0, bytemuck::cast_slice(&self.clamped));
        if let Colour::Pixels(image) = image {
            queue.write_buffer(&frame.image, 0, image);
        }
        if params.fill_hidden {
            let behind = u64::from(width) * u64::from(height) * 4;
            let hidden = &self.hidden;
            queue.write_buffer(&frame.image, behind, bytemuck::cast_slice(&hidden.colour));
            queue.write_buffer(
                &frame.disparity,
                behind,
                bytemuck::cast_slice(&hidden.disparity),
            );
        }
        let ranges = bytemuck::cast_slice(self.plan.sub_ranges());
        queue.write_buffer(&frame.ranges, 0, ranges);
        if !self.plan.lists.is_empty() {
            queue.write_buffer(&frame.lists, 0, bytemuck::cast_slice(&self.plan.lists));
        }
        queue.write_buffer(&frame.steps, 0, &self.step_uniforms);
        Ok(())
    }
}

/// `disparity` clamped to the parameters' range into `clamped`; NaN (a broken depth source)
/// is treated as the far end of the range.
fn clamp_disparity(disparity: &[f32], params: &Params, clamped: &mut Vec<f32>) {
    let (min, max) = (params.min_disparity, params.max_disparity);
    clamped.clear();
    // Plain comparisons, which compile to a few vector instructions per 8 pixels.
    clamped.extend(disparity.iter().map(|&d| {
        if d.is_nan() || d < min {
            min
        } else if d > max {
            max
        } else {
            d
        }
    }));
}

/// Whether the planes take the fast path (byte cells, discs written out per kernel): when
/// kernels are capped small enough that a disc's sums fit 16 bits per channel (unless a frame
/// too small for a plane's level widens its kernel, see `plan_frame`), and values are blurred
/// as encoded (bytes of linear light would lose the shadows).
fn takes_fast_path(params: &Params) -> bool {
    (1..=FAST_MAX_KERNEL).contains(&params.max_kernel) && params.light == Light::Encoded
}
