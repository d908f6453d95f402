//! The one place that creates the wgpu instance, adapter and device.
//!
//! Elements share one device per process: creating a Vulkan device costs tens of
//! milliseconds and some drivers limit how many can exist.

use std::sync::{Arc, LazyLock, Mutex, Weak};

use anyhow::{Context, Result, anyhow};

/// A wgpu device and its queue, with what was chosen, for logs and properties.
pub struct GpuContext {
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    pub adapter: wgpu::AdapterInfo,
    pub limits: wgpu::Limits,
    /// The last GPU error not caught where it happened (wgpu would panic on it otherwise).
    uncaptured: Arc<Mutex<Option<String>>>,
}

static SHARED: LazyLock<Mutex<Weak<GpuContext>>> = LazyLock::new(|| Mutex::new(Weak::new()));

impl GpuContext {
    /// The process-wide device, created on first use and dropped with its last user.
    pub fn shared() -> Result<Arc<GpuContext>> {
        let mut shared = SHARED
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(context) = shared.upgrade() {
            return Ok(context);
        }
        let context = Arc::new(Self::new()?);
        *shared = Arc::downgrade(&context);
        Ok(context)
    }

    /// Creates a device on the best adapter, or the one named by `WGPU_ADAPTER_NAME`.
    /// `WGPU_BACKEND` (vulkan, gl, ...) restricts the backends tried.
    pub fn new() -> Result<Self> {
        let mut descriptor = wgpu::InstanceDescriptor::new_without_display_handle();
        descriptor.backends = wgpu::Backends::all().with_env();
        // Validation layers are for wgpu's own development; keep them off unless asked for.
        descriptor.flags = wgpu::InstanceFlags::empty().with_env();
        let instance = wgpu::Instance::new(descriptor);
        let adapter = pollster::block_on(pick_adapter(&instance))?;
        let limits = adapter.limits();
        let adapter_info = adapter.get_info();
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("sterefo"),
            required_features: wgpu::Features::empty(),
            required_limits: limits.clone(),
            ..Default::default()
        }))
        .with_context(|| {
            format!(
                "could not open GPU device on adapter '{}'",
                adapter_info.name
            )
        })?;
        // wgpu's default handler panics; keep the error for the renderer to report instead.
        let uncaptured = Arc::new(Mutex::new(None));
        let slot = Arc::clone(&uncaptured);
        device.on_uncaptured_error(Arc::new(move |error: wgpu::Error| {
            *slot.lock().unwrap_or_else(|e| e.into_inner()) = Some(error.to_string());
        }));
        Ok(GpuContext {
            device,
            queue,
            adapter: adapter_info,
            limits,
            uncaptured,
        })
    }

    /// Takes the last GPU error that was not caught where it happened, if any.
    pub fn take_error(&self) -> Option<String> {
        self.uncaptured
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
    }

    /// Maps `slice` of a readback buffer after the submitted work, waits for it, and hands
    /// its bytes to `read`; `doing` ("refocusing", ...) says in errors what the GPU was
    /// doing. The buffer is unmapped again.
    pub fn read_back(
        &self,
        buffer: &wgpu::Buffer,
        slice: wgpu::BufferSlice,
        doing: &str,
        read: impl FnOnce(&[u8]),
    ) -> Result<()> {
        let (sender, receiver) = std::sync::mpsc::channel();
        slice.map_async(wgpu::MapMode::Read, move |result| {
            let _ = sender.send(result);
        });
        self.device.poll(wgpu::PollType::wait_indefinitely())?;
        if let Some(error) = self.take_error() {
            anyhow::bail!("the GPU reported an error while {doing}: {error}");
        }
        match receiver.recv() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                anyhow::bail!("could not read the result of {doing} back from the GPU: {e}")
            }
            Err(_) => anyhow::bail!("the GPU device was lost while {doing}"),
        }
        {
            let mapped = slice
                .get_mapped_range()
                .map_err(|e| anyhow!("could not map the GPU readback buffer: {e}"))?;
            read(&mapped);
        }
        buffer.unmap();
        Ok(())
    }

    /// "name (backend, type)", for logs.
    pub fn describe(&self) -> String {
        format!(
            "{} ({:?}, {:?})",
            self.adapter.name, self.adapter.backend, self.adapter.device_type
        )
    }
}

/// A compute layout of a uniform buffer (binding 0) and the storage buffers `bindings`
/// (binding, read-only).
pub fn bind_group_layout(
    device: &wgpu::Device,
    label: &str,
    bindings: &[(u32, bool)],
) -> wgpu::BindGroupLayout {
    let entry = |binding, ty| wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::COMPUTE,
        ty: wgpu::BindingType::Buffer {
            ty,
            has_dynamic_offset: false,
            min_binding_size: None,
        },
        count: None,
    };
    let mut entries = vec![entry(0, wgpu::BufferBindingType::Uniform)];
    entries.extend(bindings.iter().map(|&(binding, read_only)| {
        entry(binding, wgpu::BufferBindingType::Storage { read_only })
    }));
    device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
        label: Some(label),
        entries: &entries,
    })
}

/// Bind group entry `binding`: all of `buffer`.
pub fn binding(binding: u32, buffer: &wgpu::Buffer) -> wgpu::BindGroupEntry<'_> {
    wgpu::BindGroupEntry {
        binding,
        resource: buffer.as_entire_binding(),
    }
}

async fn pick_adapter(instance: &wgpu::Instance) -> Result<wgpu::Adapter> {
    if let Ok(wanted) = std::env::var("WGPU_ADAPTER_NAME") {
        let wanted = wanted.to_lowercase();
        let adapters = instance.enumerate_adapters(wgpu::Backends::all()).await;
        let names: Vec<String> = adapters.iter().map(|a| a.get_info().name).collect();
        return adapters
            .into_iter()
            .find(|a| a.get_info().name.to_lowercase().contains(&wanted))
            .ok_or_else(|| {
                anyhow!("WGPU_ADAPTER_NAME={wanted} matches none of the adapters {names:?}")
            });
    }
    instance
        .request_adapter(&wgpu::RequestAdapterOptions {
            power_preference: wgpu::PowerPreference::HighPerformance,
            ..Default::default()
        })
        .await
        .map_err(|e| {
            anyhow!(
                "no usable GPU adapter ({e}); install a Vulkan driver (on Debian without a GPU: \
                 apt-get install mesa-vulkan-drivers) or set WGPU_BACKEND=gl"
            )
        })
}
