//! Stereo disparity from an ONNX model on ONNX Runtime (paper section 3.1).
//!
//! [`DepthEstimator`] turns a rectified stereo pair of 8-bit 4-byte pixels into a left-view
//! disparity map in pixels of the input, at the input's size. No GStreamer types here: the
//! elements wrap it.
//!
//! # Model layout (checked when the model is loaded)
//!
//! Any ONNX model with this layout works, so users can bring their own:
//!
//! | name | direction | type | shape | meaning |
//! |---|---|---|---|---|
//! | `left` | input | float32 | `[1, 3, H, W]` | left image, RGB planes, values in [0, 1] |
//! | `right` | input | float32 | `[1, 3, H, W]` | right image, same layout |
//! | `disparity` | output | float32 | `[1, 1, H, W]` | left-view disparity, pixels of the given input |
//!
//! - `H` and `W` must be multiples of the model's stride: the ONNX metadata property
//!   `stride` (a positive integer), 32 when absent. Dimensions may be symbolic (any size)
//!   or fixed; with fixed spatial dimensions only that padded size can run.
//! - Optional metadata `max_disparity`: the largest disparity the model can output, in pixels
//!   at its input resolution ([`DepthEstimator::max_disparity`] reports it at the caller's
//!   input resolution).
//! - Other outputs are allowed and not computed; other inputs are not allowed.
//!
//! # Processing
//!
//! 1. The pair is converted to float RGB in [0, 1] (alpha ignored, [`ChannelOrder`] says
//!    where R, G, B are).
//! 2. Optionally reduced to a working resolution (`scale`, e.g. 0.5) by area averaging; the
//!    network runs there, which is roughly `1 / scale^2` times faster.
//! 3. Padded to the stride by replicating the right column and the bottom row.
//! 4. The network runs; a NaN or infinite output is an error, never passed on.
//! 5. The padding is cropped, the disparity is upsampled bilinearly to the input size and
//!    multiplied by `input width / working width` so it is in input pixels.
//!
//! Input tensors, the output tensor, the resampling tables and scratch planes are kept
//! between frames and rebuilt only when the frame size or the scale changes.
//!
//! # ONNX Runtime and execution providers
//!
//! The library is loaded at run time from [`DepthOptions::ort_library`], else
//! `ORT_DYLIB_PATH`, else the first `libonnxruntime.so` next to the plugin, in
//! `LD_LIBRARY_PATH` or in the system's library folders; see [`runtime`]. [`Provider`] picks where the network runs;
//! the provider actually in use is [`DepthEstimator::provider`], never a silent fallback.

pub mod resample;
pub mod runtime;

use std::ffi::CString;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, anyhow, bail, ensure};
use ort::AsPointer;
use ort::memory::Allocator;
use ort::session::builder::SessionBuilder;
use ort::session::{HasSelectedOutputs, OutputSelector, RunOptions, Session};
use ort::value::{Tensor, TensorElementType, ValueType};

pub use resample::ChannelOrder;
use resample::{PackedPixels, Taps, pad_replicate, resample_plane, unpack_rgb};
pub use runtime::Runtime;

/// Name of the left-image input.
pub const INPUT_LEFT: &str = "left";
/// Name of the right-image input.
pub const INPUT_RIGHT: &str = "right";
/// Name of the disparity output.
pub const OUTPUT_DISPARITY: &str = "disparity";
/// Stride used when the model has no `stride` metadata.
pub const DEFAULT_STRIDE: usize = 32;
/// Intra-op threads of the CPU provider by default.
pub const DEFAULT_CPU_THREADS: usize = 2;
/// Name of the WebGPU plugin execution provider inside ONNX Runtime.
pub const WEBGPU_EP_NAME: &str = "WebGpuExecutionProvider";

/// The model shipped with the plugin, built into it: `models/stereonet.onnx` when the
/// crate was compiled (so an installed plugin needs no file of the source tree).
pub static BUILTIN_MODEL: &[u8] = include_bytes!("../../models/stereonet.onnx");

/// Which network to run.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Model {
    /// [`BUILTIN_MODEL`].
    #[default]
    Builtin,
    /// An ONNX file with the layout above.
    File(PathBuf),
}

impl Model {
    /// `None` or an empty path: the built-in model.
    pub fn from_path(path: Option<PathBuf>) -> Model {
        match path {
            Some(path) if !path.as_os_str().is_empty() => Model::File(path),
            _ => Model::Builtin,
        }
    }

    /// The file, `None` for the built-in model.
    pub fn path(&self) -> Option<&Path> {
        match self {
            Model::Builtin => None,
            Model::File(path) => Some(path),
        }
    }
}

impl std::fmt::Display for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Model::Builtin => f.write_str("the built-in model"),
            Model::File(path) => write!(f, "model {}", path.display()),
        }
    }
}

impl From<&Path> for Model {
    fn from(path: &Path) -> Model {
        Model::File(path.to_path_buf())
    }
}

impl From<&PathBuf> for Model {
    fn from(path: &PathBuf) -> Model {
        Model::File(path.clone())
    }
}

impl From<&Model> for Model {
    fn from(model: &Model) -> Model {
        model.clone()
    }
}

/// Where the network runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Provider {
    /// CUDA when it can be registered, else the CPU (the reason is in the description).
    #[default]
    Auto,
    /// ONNX Runtime's CPU provider.
    Cpu,
    /// NVIDIA CUDA (needs the library of the `onnxruntime-gpu` wheel, CUDA and cuDNN).
    Cuda,
    /// The WebGPU plugin provider (PyPI `onnxruntime-ep-webgpu`), on any Vulkan GPU.
    WebGpu,
}

/// How to load and run the model.
#[derive(Debug, Clone)]
pub struct DepthOptions {
    /// Where the network runs.
    pub provider: Provider,
    /// ONNX Runtime library to load; `None`: `ORT_DYLIB_PATH`, else a search next to the
    /// plugin and in the library path ([`runtime::library_candidates`]).
    pub ort_library: Option<PathBuf>,
    /// Intra-op threads of the CPU provider (also used for CPU nodes of GPU providers).
    pub cpu_threads: usize,
    /// CUDA device index.
    pub device_id: i32,
    /// The WebGPU plugin library (`libonnxruntime_providers_webgpu.so`); `None`: the one
    /// that goes with the ONNX Runtime library ([`default_webgpu_library`]).
    pub webgpu_library: Option<PathBuf>,
    /// Working scale in (0, 1]: the network runs on the input resized by this factor.
    pub scale: f32,
}

impl Default for DepthOptions {
    fn default() -> Self {
        DepthOptions {
            provider: Provider::Auto,
            ort_library: None,
            cpu_threads: DEFAULT_CPU_THREADS,
            device_id: 0,
            webgpu_library: None,
            scale: 1.0,
        }
    }
}

/// One input image: 4-byte pixels, `stride` bytes per row.
#[derive(Debug, Clone, Copy)]
pub struct StereoImage<'a> {
    pub data: &'a [u8],
    pub width: usize,
    pub height: usize,
    /// Bytes per row, at least `4 * width`.
    pub stride: usize,
    pub order: ChannelOrder,
}

impl<'a> StereoImage<'a> {
    /// A tightly packed image (`stride = 4 * width`).
    pub fn packed(data: &'a [u8], width: usize, height: usize, order: ChannelOrder) -> Self {
        StereoImage {
            data,
            width,
            height,
            stride: 4 * width,
            order,
        }
    }

    fn check(&self, which: &str) -> Result<()> {
        ensure!(
            self.width > 0 && self.height > 0,
            "{which} image is empty ({}x{})",
            self.width,
            self.height
        );
        ensure!(
            self.stride >= 4 * self.width,
            "{which} image row stride {} is less than 4 bytes x width {}",
            self.stride,
            self.width
        );
        let needed = self.stride * (self.height - 1) + 4 * self.width;
        ensure!(
            self.data.len() >= needed,
            "{which} image has {} bytes, {}x{} with stride {} needs {needed}",
            self.data.len(),
            self.width,
            self.height,
            self.stride
        );
        Ok(())
    }
}

/// The tensors fed to the network: RGB planes `[3, height, width]` in [0, 1], padded.
#[derive(Debug, Clone, Copy)]
pub struct NetworkInput<'a> {
    pub left: &'a [f32],
    pub right: &'a [f32],
    /// Padded width and height (multiples of the stride).
    pub width: usize,
    pub height: usize,
}

/// What was read from the model file and checked against the layout.
#[derive(Debug, Clone)]
struct Layout {
    /// Position of `left` and `right` among the session's inputs.
    left_index: usize,
    /// Fixed (height, width) of the inputs, when the model does not take any size.
    fixed_size: Option<(usize, usize)>,
    stride: usize,
    max_disparity: Option<f32>,
}

/// Buffers and tables for one input size and scale, kept between frames.
struct FrameState {
    input_width: usize,
    input_height: usize,
    working_width: usize,
    working_height: usize,
    padded_width: usize,
    padded_height: usize,
    /// Network inputs, `[1, 3, padded_height, padded_width]`.
    left: Tensor<f32>,
    right: Tensor<f32>,
    /// Holds the preallocated output `[1, 1, padded_height, padded_width]`.
    run_options: RunOptions<HasSelectedOutputs>,
    /// Area downscale and bilinear upscale tables, when the working size differs.
    resize: Option<ResizeTables>,
    /// Full-resolution float planes before downscaling.
    planes: Vec<f32>,
    scratch: Vec<f32>,
}

struct ResizeTables {
    down_x: Taps,
    down_y: Taps,
    up_x: Taps,
    up_y: Taps,
}

/// A stereo network on ONNX Runtime with its pre- and post-processing.
pub struct DepthEstimator {
    session: Session,
    layout: Layout,
    model: Model,
    provider: Provider,
    provider_description: String,
    scale: f32,
    frame: Option<FrameState>,
    runtime: Arc<Runtime>,
}

impl DepthEstimator {
    /// Loads `model` on the provider of `options` and checks its layout.
    pub fn new(model: impl Into<Model>, options: &DepthOptions) -> Result<Self> {
        let model = model.into();
        check_scale(options.scale)?;
        ensure!(options.cpu_threads > 0, "cpu_threads must be at least 1");
        if let Some(path) = model.path() {
            ensure!(
                path.is_file(),
                "depth model file {} not found; give the path of an ONNX stereo model (the `model` \
                 property), or leave it empty for the built-in model",
                path.display()
            );
        }
        let runtime = Runtime::get(options.ort_library.as_deref())?;
        let (builder, provider, provider_description) = session_builder(&runtime, options)?;
        let session = commit(builder, &model)?;
        let layout = check_layout(&session, &model)?;
        Ok(DepthEstimator {
            session,
            layout,
            model,
            provider,
            provider_description,
            scale: options.scale,
            frame: None,
            runtime,
        })
    }

    /// The provider the network runs on (for `Auto`: what it resolved to).
    pub fn provider(&self) -> Provider {
        self.provider
    }

    /// The provider in words, with the reason when `Auto` fell back to the CPU.
    pub fn provider_description(&self) -> &str {
        &self.provider_description
    }

    /// The ONNX Runtime library it runs on.
    pub fn runtime_library(&self) -> &Path {
        &self.runtime.library
    }

    /// The model it runs.
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// The model's stride: padded sizes are multiples of it.
    pub fn stride(&self) -> usize {
        self.layout.stride
    }

    /// The model's largest disparity in pixels of an input processed at the current scale
    /// (its `max_disparity` metadata divided by the scale), if the model states it.
    pub fn max_disparity(&self) -> Option<f32> {
        self.layout.max_disparity.map(|d| d / self.scale)
    }

    /// The working scale.
    pub fn scale(&self) -> f32 {
        self.scale
    }

    /// Changes the working scale in (0, 1]; buffers are rebuilt on the next frame.
    pub fn set_scale(&mut self, scale: f32) -> Result<()> {
        check_scale(scale)?;
        if scale != self.scale {
            self.scale = scale;
            self.frame = None;
        }
        Ok(())
    }

    /// The working and padded sizes for an input size at the current scale:
    /// `(working_width, working_height, padded_width, padded_height)`.
    pub fn network_size(&self, width: usize, height: usize) -> (usize, usize, usize, usize) {
        let working_width = ((width as f64 * f64::from(self.scale)).round() as usize).max(1);
        let working_height = ((height as f64 * f64::from(self.scale)).round() as usize).max(1);
        let stride = self.layout.stride;
        (
            working_width,
            working_height,
            working_width.div_ceil(stride) * stride,
            working_height.div_ceil(stride) * stride,
        )
    }

    /// Left-view disparity of a rectified pair, in pixels of the input, `width x height`
    /// values row by row in `disparity` (resized as needed).
    pub fn estimate(
        &mut self,
        left: &StereoImage,
        right: &StereoImage,
        disparity: &mut Vec<f32>,
    ) -> Result<()> {
        left.check("left")?;
        right.check("right")?;
        ensure!(
            left.width == right.width && left.height == right.height,
            "left and right images differ in size: {}x{} and {}x{}",
            left.width,
            left.height,
            right.width,
            right.height
        );
        self.prepare(left.width, left.height)?;
        let frame = self.frame.as_mut().context("frame buffers missing")?;
        fill_input(frame, left, true)?;
        fill_input(frame, right, false)?;

        let mut scratch = std::mem::take(&mut frame.scratch);
        let inputs = if self.layout.left_index == 0 {
            ort::inputs![&frame.left, &frame.right]
        } else {
            ort::inputs![&frame.right, &frame.left]
        };
        let outputs = self
            .session
            .run_with_options(inputs, &frame.run_options)
            .map_err(|error| anyhow!("running the depth {} failed: {error}", self.model))?;
        let output = outputs
            .get(OUTPUT_DISPARITY)
            .context("the depth model produced no `disparity` output")?;
        let (shape, raw) = output.try_extract_tensor::<f32>().map_err(|error| {
            anyhow!("the depth model's `disparity` output is not float32: {error}")
        })?;
        let expected = [1, 1, frame.padded_height as i64, frame.padded_width as i64];
        ensure!(
            **shape == expected,
            "the depth model returned disparity of shape {:?} for an input of {}x{}; expected {expected:?}",
            &**shape,
            frame.padded_width,
            frame.padded_height
        );
        let result = postprocess(frame, raw, disparity, &mut scratch);
        drop(outputs);
        frame.scratch = scratch;
        result
    }

    /// The network inputs of the last [`estimate`](Self::estimate).
    pub fn network_input(&self) -> Option<NetworkInput<'_>> {
        let frame = self.frame.as_ref()?;
        Some(NetworkInput {
            left: frame.left.extract_tensor().1,
            right: frame.right.extract_tensor().1,
            width: frame.padded_width,
            height: frame.padded_height,
        })
    }

    /// Runs the bare network on tensors already in the layout (`[1, 3, height, width]`
    /// each, sizes multiples of the stride) and returns its raw output `[1, 1, height, width]`.
    /// For checks and other callers with their own pre-processing; allocates per call.
    pub fn run_network(
        &mut self,
        left: &[f32],
        right: &[f32],
        width: usize,
        height: usize,
        disparity: &mut Vec<f32>,
    ) -> Result<()> {
        let size = 3 * width * height;
        ensure!(
            left.len() == size && right.len() == size,
            "network inputs must have 3 x {height} x {width} = {size} values; got {} and {}",
            left.len(),
            right.len()
        );
        self.check_network_size(width, height)?;
        let tensor = |data: &[f32]| {
            Tensor::from_array(([1usize, 3, height, width], data.to_vec()))
                .map_err(|error| anyhow!("cannot create an input tensor: {error}"))
        };
        let (left, right) = (tensor(left)?, tensor(right)?);
        let inputs = if self.layout.left_index == 0 {
            ort::inputs![left, right]
        } else {
            ort::inputs![right, left]
        };
        let outputs = self
            .session
            .run(inputs)
            .map_err(|error| anyhow!("running the depth {} failed: {error}", self.model))?;
        let output = outputs
            .get(OUTPUT_DISPARITY)
            .context("the depth model produced no `disparity` output")?;
        let (_, raw) = output.try_extract_tensor::<f32>().map_err(|error| {
            anyhow!("the depth model's `disparity` output is not float32: {error}")
        })?;
        disparity.clear();
        disparity.extend_from_slice(raw);
        Ok(())
    }

    fn check_network_size(&self, width: usize, height: usize) -> Result<()> {
        let stride = self.layout.stride;
        ensure!(
            width.is_multiple_of(stride)
                && height.is_multiple_of(stride)
                && width > 0
                && height > 0,
            "network input {width}x{height} is not a multiple of the model's stride {stride}"
        );
        if let Some((fixed_height, fixed_width)) = self.layout.fixed_size {
            ensure!(
                (height, width) == (fixed_height, fixed_width),
                "{} only accepts {fixed_width}x{fixed_height} inputs (fixed in the file), \
                 the working image is padded to {width}x{height}; export it with dynamic height and width \
                 or change the input size or scale",
                self.model
            );
        }
        Ok(())
    }

    /// Makes the frame buffers for this size and the current scale, if not already there.
    fn prepare(&mut self, width: usize, height: usize) -> Result<()> {
        if let Some(frame) = &self.frame
            && frame.input_width == width
            && frame.input_height == height
        {
            return Ok(());
        }
        self.frame = None;
        let (working_width, working_height, padded_width, padded_height) =
            self.network_size(width, height);
        self.check_network_size(padded_width, padded_height)?;
        let input_shape = [1usize, 3, padded_height, padded_width];
        let input_len = 3 * padded_height * padded_width;
        let tensor_error =
            |error: ort::Error| anyhow!("cannot allocate the network's tensors: {error}");
        let left =
            Tensor::from_array((input_shape, vec![0.0f32; input_len])).map_err(tensor_error)?;
        let right =
            Tensor::from_array((input_shape, vec![0.0f32; input_len])).map_err(tensor_error)?;
        let output = Tensor::<f32>::new(
            &Allocator::default(),
            [1usize, 1, padded_height, padded_width],
        )
        .map_err(tensor_error)?;
        let run_options = RunOptions::new().map_err(tensor_error)?.with_outputs(
            OutputSelector::no_default()
                .with(OUTPUT_DISPARITY)
                .preallocate(OUTPUT_DISPARITY, output),
        );
        let resized = (working_width, working_height) != (width, height);
        let resize = resized.then(|| ResizeTables {
            down_x: Taps::area(width, working_width),
            down_y: Taps::area(height, working_height),
            up_x: Taps::linear(working_width, width),
            up_y: Taps::linear(working_height, height),
        });
        self.frame = Some(FrameState {
            input_width: width,
            input_height: height,
            working_width,
            working_height,
            padded_width,
            padded_height,
            left,
            right,
            run_options,
            resize,
            planes: if resized {
                vec![0.0; 3 * width * height]
            } else {
                Vec::new()
            },
            scratch: Vec::new(),
        });
        Ok(())
    }
}

fn check_scale(scale: f32) -> Result<()> {
    ensure!(
        scale > 0.0 && scale <= 1.0,
        "working scale must be in (0, 1] (1 = full resolution, 0.5 = half); got {scale}"
    );
    Ok(())
}

/// Writes one image into its network tensor: unpack, downscale if needed, pad.
fn fill_input(frame: &mut FrameState, image: &StereoImage, is_left: bool) -> Result<()> {
    let (padded_width, padded_height) = (frame.padded_width, frame.padded_height);
    let plane_size = padded_width * padded_height;
    let tensor = if is_left {
        &mut frame.left
    } else {
        &mut frame.right
    };
    let (_, data) = tensor.extract_tensor_mut();
    let pixels = PackedPixels {
        data: image.data,
        width: image.width,
        height: image.height,
        stride: image.stride,
        order: image.order,
    };
    match &frame.resize {
        None => unpack_rgb(&pixels, data, plane_size, padded_width),
        Some(tables) => {
            let full_size = image.width * image.height;
            unpack_rgb(&pixels, &mut frame.planes, full_size, image.width);
            for c in 0..3 {
                resample_plane(
                    &frame.planes[c * full_size..(c + 1) * full_size],
                    image.width,
                    image.height,
                    &tables.down_x,
                    &tables.down_y,
                    &mut data[c * plane_size..(c + 1) * plane_size],
                    padded_width,
                    1.0,
                    &mut frame.scratch,
                );
            }
        }
    }
    for c in 0..3 {
        pad_replicate(
            &mut data[c * plane_size..(c + 1) * plane_size],
            frame.working_width,
            frame.working_height,
            padded_width,
            padded_height,
        );
    }
    Ok(())
}

/// Crops the padding, checks the values, upsamples to the input size in input pixels.
fn postprocess(
    frame: &FrameState,
    raw: &[f32],
    disparity: &mut Vec<f32>,
    scratch: &mut Vec<f32>,
) -> Result<()> {
    let (width, height) = (frame.input_width, frame.input_height);
    let padded_width = frame.padded_width;
    for y in 0..frame.working_height {
        let row = &raw[y * padded_width..y * padded_width + frame.working_width];
        if let Some(x) = row.iter().position(|v| !v.is_finite()) {
            bail!(
                "model returned non-finite disparity ({} at working pixel {x}, {y}); the model file is broken \
                 or does not follow the layout",
                row[x]
            );
        }
    }
    disparity.resize(width * height, 0.0);
    match &frame.resize {
        None => {
            for (y, out) in disparity.chunks_exact_mut(width).enumerate() {
                out.copy_from_slice(&raw[y * padded_width..y * padded_width + width]);
            }
        }
        Some(tables) => {
            let factor = width as f32 / frame.working_width as f32;
            resample_plane(
                raw,
                padded_width,
                frame.working_height,
                &tables.up_x,
                &tables.up_y,
                disparity,
                width,
                factor,
                scratch,
            );
        }
    }
    Ok(())
}

/// A session builder with the provider of `options` registered.
fn session_builder(
    runtime: &Runtime,
    options: &DepthOptions,
) -> Result<(SessionBuilder, Provider, String)> {
    let builder_error = |error: ort::Error<SessionBuilder>| {
        anyhow!("cannot configure the ONNX Runtime session: {error}")
    };
    let builder = Session::builder(&runtime.environment)
        .map_err(|error| anyhow!("cannot create an ONNX Runtime session: {error}"))?
        .with_intra_threads(options.cpu_threads)
        .map_err(builder_error)?
        .with_inter_threads(1)
        .map_err(builder_error)?
        // The CPU is shared with the rest of the pipeline: threads sleep rather than spin
        // between operators.
        .with_intra_op_spinning(false)
        .map_err(builder_error)?;
    let threads = options.cpu_threads;
    match options.provider {
        Provider::Cpu => Ok((
            cpu(builder)?,
            Provider::Cpu,
            format!("CPU ({threads} threads)"),
        )),
        Provider::Cuda => {
            let mut builder = builder;
            register_cuda(&mut builder, options.device_id).map_err(|reason| {
                anyhow!(
                    "provider cuda was asked for but CUDA is not available: {reason}. The library {} must be the one \
                     from the onnxruntime-gpu wheel (with CUDA and cuDNN installed and a GPU present); \
                     or choose provider auto or cpu",
                    runtime.library.display()
                )
            })?;
            Ok((
                builder,
                Provider::Cuda,
                format!("CUDA (device {})", options.device_id),
            ))
        }
        Provider::Auto => {
            let mut cuda_builder = builder.clone();
            match register_cuda(&mut cuda_builder, options.device_id) {
                Ok(()) => Ok((
                    cuda_builder,
                    Provider::Cuda,
                    format!("CUDA (device {}; auto)", options.device_id),
                )),
                Err(reason) => Ok((
                    cpu(builder)?,
                    Provider::Cpu,
                    format!("CPU ({threads} threads; auto: CUDA unavailable: {reason})"),
                )),
            }
        }
        Provider::WebGpu => {
            let (builder, device) = webgpu(runtime, builder, options)?;
            Ok((builder, Provider::WebGpu, format!("WebGPU ({device})")))
        }
    }
}

/// The CPU provider with ONNX Runtime's memory arena (`ort` leaves it off): without it
/// every run allocates its intermediate tensors afresh and pays their page faults: version 2
/// of the network took 720 ms at 1920x1088 without it and 514 ms with it (`bench_depth` on
/// this project's CPU, 2026-12-07).
fn cpu(builder: SessionBuilder) -> Result<SessionBuilder> {
    builder
        .with_execution_providers([ort::ep::CPU::default()
            .with_arena_allocator(true)
            .build()
            .error_on_failure()])
        .map_err(|error| anyhow!("cannot register the CPU execution provider: {error}"))
}

/// Appends the CUDA provider through the C API (`ort`'s `cuda` feature only adds this same
/// call). Fails when the library has no CUDA provider or it cannot load CUDA.
fn register_cuda(builder: &mut SessionBuilder, device_id: i32) -> Result<(), String> {
    let api = ort::api();
    let mut options: *mut ort::sys::OrtCUDAProviderOptionsV2 = std::ptr::null_mut();
    // SAFETY: C API calls with valid pointers; `options` is released below on every path.
    unsafe {
        ort::Error::result_from_status((api.CreateCUDAProviderOptions)(&mut options))
            .map_err(|e| e.to_string())?;
        if options.is_null() {
            return Err("ONNX Runtime returned no CUDA options".into());
        }
        let key = CString::new("device_id").map_err(|e| e.to_string())?;
        let value = CString::new(device_id.to_string()).map_err(|e| e.to_string())?;
        let result = ort::Error::result_from_status((api.UpdateCUDAProviderOptions)(
            options,
            &key.as_ptr(),
            &value.as_ptr(),
            1,
        ))
        .and_then(|()| {
            ort::Error::result_from_status((api.SessionOptionsAppendExecutionProvider_CUDA_V2)(
                builder.ptr_mut(),
                options,
            ))
        });
        (api.ReleaseCUDAProviderOptions)(options);
        result.map_err(|error| error.message().trim().to_string())
    }
}

/// The WebGPU plugin provider: registers its library with the environment and appends the
/// GPU device it offers.
fn webgpu(
    runtime: &Runtime,
    builder: SessionBuilder,
    options: &DepthOptions,
) -> Result<(SessionBuilder, String)> {
    let library = options
        .webgpu_library
        .clone()
        .unwrap_or_else(|| default_webgpu_library(&runtime.library));
    if !library.is_file() {
        bail!(
            "provider webgpu was asked for but the WebGPU execution provider library is not at {}; \
             install the PyPI package onnxruntime-ep-webgpu and point webgpu_library at its \
             libonnxruntime_providers_webgpu.so, or choose provider auto or cpu",
            library.display()
        );
    }
    runtime
        .register_ep_library("sterefo.webgpu", &library)
        .context("provider webgpu was asked for but its library could not be registered")?;
    let mut devices: Vec<_> = runtime
        .environment
        .devices()
        .filter(|device| device.ep().is_ok_and(|name| name == WEBGPU_EP_NAME))
        .collect();
    if devices.is_empty() {
        bail!(
            "provider webgpu was asked for but the WebGPU execution provider offers no device: ONNX Runtime \
             found no hardware GPU (software Vulkan such as lavapipe is not offered, and the provider \
             refuses virtual devices); choose provider auto or cpu"
        );
    }
    // the WebGPU provider takes one device and picks the physical GPU itself
    let device = devices.swap_remove(0);
    let description = format!(
        "{} {:?} {}",
        device
            .hardware_device()
            .vendor()
            .unwrap_or("unknown vendor"),
        device.hardware_device().ty(),
        device.hardware_device().id()
    );
    let builder = builder.with_devices([device], None).map_err(|error| {
        anyhow!("provider webgpu was asked for but its device could not be used: {error}")
    })?;
    Ok((builder, description))
}

/// The WebGPU plugin provider that goes with the ONNX Runtime library `ort_library`: next
/// to it, else in a sibling folder `onnxruntime-webgpu` (where `scripts/setup.sh` puts it);
/// the first of the two when neither exists.
pub fn default_webgpu_library(ort_library: &Path) -> PathBuf {
    const NAME: &str = "libonnxruntime_providers_webgpu.so";
    let folder = ort_library.parent().unwrap_or(Path::new("."));
    let beside = folder.join(NAME);
    let sibling = folder.join("..").join("onnxruntime-webgpu").join(NAME);
    if !beside.is_file() && sibling.is_file() {
        sibling
    } else {
        beside
    }
}

fn commit(mut builder: SessionBuilder, model: &Model) -> Result<Session> {
    let session = match model {
        Model::Builtin => builder.commit_from_memory(BUILTIN_MODEL),
        Model::File(path) => builder.commit_from_file(path),
    };
    session.map_err(|error| {
        anyhow!(
            "cannot load depth {model}: {}; is it an ONNX file? (leave the `model` property empty for \
             the built-in model)",
            error.message().trim(),
        )
    })
}

/// Checks the session's inputs, outputs and metadata against the layout in the module doc.
fn check_layout(session: &Session, model: &Model) -> Result<Layout> {
    let describe = |outlets: &[ort::value::Outlet]| {
        outlets
            .iter()
            .map(|o| format!("`{}`: {}", o.name(), o.dtype()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let layout_error = |what: String| {
        anyhow!(
            "{} does not follow the depth model layout: {what} (expected inputs `left`, `right`: \
             float32 [1, 3, H, W] and output `disparity`: float32 [1, 1, H, W]; see the sterefo depth module doc)",
            model
        )
    };
    let inputs = session.inputs();
    let names: Vec<&str> = inputs.iter().map(|o| o.name()).collect();
    let (Some(left_index), Some(right_index)) = (
        names.iter().position(|n| *n == INPUT_LEFT),
        names.iter().position(|n| *n == INPUT_RIGHT),
    ) else {
        return Err(layout_error(format!("found inputs {}", describe(inputs))));
    };
    if inputs.len() != 2 {
        return Err(layout_error(format!(
            "found {} inputs ({}), expected exactly two",
            inputs.len(),
            describe(inputs)
        )));
    }
    let mut fixed_size = None;
    for index in [left_index, right_index] {
        let outlet = &inputs[index];
        let dims = check_tensor(outlet.dtype(), 3).map_err(|what| {
            layout_error(format!(
                "input `{}` is {} ({what})",
                outlet.name(),
                outlet.dtype()
            ))
        })?;
        if let (Some(h), Some(w)) = (dims[2], dims[3]) {
            fixed_size = Some((h, w));
        }
    }
    let outputs = session.outputs();
    let Some(output) = outputs.iter().find(|o| o.name() == OUTPUT_DISPARITY) else {
        return Err(layout_error(format!("found outputs {}", describe(outputs))));
    };
    check_tensor(output.dtype(), 1).map_err(|what| {
        layout_error(format!("output `disparity` is {} ({what})", output.dtype()))
    })?;

    let metadata = session
        .metadata()
        .map_err(|error| anyhow!("cannot read the metadata of {}: {error}", model))?;
    let stride = match metadata.custom("stride") {
        None => DEFAULT_STRIDE,
        Some(text) => text
            .trim()
            .parse::<usize>()
            .ok()
            .filter(|s| *s > 0)
            .ok_or_else(|| {
                layout_error(format!(
                    "metadata `stride` = {text:?} is not a positive integer"
                ))
            })?,
    };
    let max_disparity = match metadata.custom("max_disparity") {
        None => None,
        Some(text) => Some(
            text.trim()
                .parse::<f32>()
                .ok()
                .filter(|d| d.is_finite() && *d > 0.0)
                .ok_or_else(|| {
                    layout_error(format!(
                        "metadata `max_disparity` = {text:?} is not a positive number"
                    ))
                })?,
        ),
    };
    if let Some((h, w)) = fixed_size
        && (!h.is_multiple_of(stride) || !w.is_multiple_of(stride))
    {
        return Err(layout_error(format!(
            "fixed input size {w}x{h} is not a multiple of the stride {stride}"
        )));
    }
    Ok(Layout {
        left_index,
        fixed_size,
        stride,
        max_disparity,
    })
}

/// Checks a float32 rank-4 tensor `[1, channels, H, W]` (symbolic dimensions accepted) and
/// returns its dimensions, `None` where symbolic.
fn check_tensor(dtype: &ValueType, channels: i64) -> Result<[Option<usize>; 4], String> {
    let (Some(element), Some(shape)) = (dtype.tensor_type(), dtype.tensor_shape()) else {
        return Err("not a tensor".into());
    };
    if element != TensorElementType::Float32 {
        return Err(format!("element type {element}, expected float32"));
    }
    if shape.len() != 4 {
        return Err(format!("rank {}, expected 4", shape.len()));
    }
    let dims = [shape[0], shape[1], shape[2], shape[3]].map(|d| usize::try_from(d).ok());
    if dims[0].is_some_and(|n| n != 1) {
        return Err(format!("batch {}, expected 1", shape[0]));
    }
    if dims[1].is_some_and(|c| c as i64 != channels) {
        return Err(format!("{} channels, expected {channels}", shape[1]));
    }
    Ok(dims)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estimator_can_move_between_threads() {
        fn assert_send<T: Send>() {}
        assert_send::<DepthEstimator>();
    }
}
