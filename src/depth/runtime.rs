//! The one place that loads the ONNX Runtime library and creates its environment.
//!
//! `ort` is built with `load-dynamic`: `libonnxruntime.so` is opened at run time, once per
//! process, and ONNX Runtime allows one environment per process. Both live here, behind a
//! mutex, for the life of the process. Nothing here panics on a bad library: the file is
//! checked first and what `ort` could still panic on is caught.

use std::collections::HashSet;
use std::ffi::OsString;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, Mutex};

use anyhow::{Result, anyhow, bail};
use ort::environment::Environment;

/// Environment variable naming the ONNX Runtime library (the same one `ort` reads).
pub const ORT_DYLIB_ENV: &str = "ORT_DYLIB_PATH";

/// Where `scripts/setup.sh` puts the library, relative to the crate root.
pub const SETUP_LIBRARY: &str = ".deps/onnxruntime/libonnxruntime.so";

/// Where a library path came from, for messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LibrarySource {
    /// Given by the caller (the element's property).
    Explicit,
    /// The `ORT_DYLIB_PATH` environment variable.
    Environment,
    /// The folder `scripts/setup.sh` fills.
    SetupFolder,
}

impl LibrarySource {
    fn describe(self) -> &'static str {
        match self {
            LibrarySource::Explicit => "the path given",
            LibrarySource::Environment => "ORT_DYLIB_PATH",
            LibrarySource::SetupFolder => "the scripts/setup.sh default",
        }
    }
}

/// The default library path: `<crate root>/.deps/onnxruntime/libonnxruntime.so`.
pub fn default_library_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(SETUP_LIBRARY)
}

/// Which library to load: the explicit path, else `ORT_DYLIB_PATH` (when set and not empty),
/// else the set-up folder. Pure, so the order is testable.
pub fn resolve_library(
    explicit: Option<&Path>,
    environment: Option<OsString>,
) -> (PathBuf, LibrarySource) {
    if let Some(path) = explicit {
        return (path.to_path_buf(), LibrarySource::Explicit);
    }
    match environment {
        Some(value) if !value.is_empty() => (PathBuf::from(value), LibrarySource::Environment),
        _ => (default_library_path(), LibrarySource::SetupFolder),
    }
}

/// The loaded library and the process-wide environment.
pub struct Runtime {
    /// The environment every session is created in.
    pub environment: Environment,
    /// The library file that was loaded (canonical path).
    pub library: PathBuf,
    /// Execution-provider plugin libraries already registered (canonical paths).
    ep_libraries: Mutex<HashSet<PathBuf>>,
}

static RUNTIME: LazyLock<Mutex<Option<Arc<Runtime>>>> = LazyLock::new(|| Mutex::new(None));

impl Runtime {
    /// The process-wide runtime, loading the library on first use.
    ///
    /// `explicit` (the caller's path) wins over `ORT_DYLIB_PATH`, which wins over the
    /// set-up folder. Once a library is loaded, asking for a different file is an error:
    /// ONNX Runtime cannot be loaded twice in one process.
    pub fn get(explicit: Option<&Path>) -> Result<Arc<Runtime>> {
        let (path, source) = resolve_library(explicit, std::env::var_os(ORT_DYLIB_ENV));
        let mut slot = RUNTIME
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(runtime) = slot.as_ref() {
            if source == LibrarySource::Explicit {
                let wanted = check_library_file(&path, source)?;
                if wanted != runtime.library {
                    bail!(
                        "ONNX Runtime is already loaded in this process from {}; cannot switch to {} \
                         (one library per process: use the same path, or restart the process)",
                        runtime.library.display(),
                        wanted.display()
                    );
                }
            }
            return Ok(Arc::clone(runtime));
        }
        let library = check_library_file(&path, source)?;
        let environment = load(&library)?;
        let runtime = Arc::new(Runtime {
            environment,
            library,
            ep_libraries: Mutex::new(HashSet::new()),
        });
        *slot = Some(Arc::clone(&runtime));
        Ok(runtime)
    }

    /// Registers an execution-provider plugin library (such as the WebGPU EP) once.
    pub fn register_ep_library(&self, name: &str, path: &Path) -> Result<()> {
        let canonical = path.canonicalize().map_err(|error| {
            anyhow!(
                "execution provider library not found at {} ({error})",
                path.display()
            )
        })?;
        let mut registered = self
            .ep_libraries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if registered.contains(&canonical) {
            return Ok(());
        }
        self.environment
            .register_ep_library(name, &canonical)
            .map_err(|error| {
                anyhow!(
                    "ONNX Runtime could not register the execution provider library {}: {error}",
                    canonical.display()
                )
            })?;
        registered.insert(canonical);
        Ok(())
    }
}

/// Checks that `path` is an existing file and returns its canonical form.
fn check_library_file(path: &Path, source: LibrarySource) -> Result<PathBuf> {
    if !path.is_file() {
        bail!(
            "ONNX Runtime library not found at {} (from {}); run scripts/setup.sh or set {ORT_DYLIB_ENV} \
             to the libonnxruntime.so of an onnxruntime >= 1.{} installation",
            path.display(),
            source.describe(),
            ort::MINOR_VERSION
        );
    }
    path.canonicalize().map_err(|error| {
        anyhow!(
            "cannot resolve ONNX Runtime library path {}: {error}",
            path.display()
        )
    })
}

/// Opens the library and builds the environment; `ort` panics in a few corner cases of a
/// broken library, so those are caught and turned into errors.
fn load(library: &Path) -> Result<Environment> {
    let result = catch_unwind(AssertUnwindSafe(|| -> Result<Environment> {
        let builder = ort::init_from(library).map_err(|error| {
            anyhow!(
                "cannot load ONNX Runtime library {}: {error}; run scripts/setup.sh or set {ORT_DYLIB_ENV}",
                library.display()
            )
        })?;
        builder
            .with_name("sterefo")
            .with_telemetry(false)
            .build()
            .map_err(|error| anyhow!("cannot create the ONNX Runtime environment: {error}"))
    }));
    match result {
        Ok(result) => result,
        Err(panic) => {
            let message = panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("unknown panic");
            Err(anyhow!(
                "cannot load ONNX Runtime library {}: {message}",
                library.display()
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_path_wins_then_environment_then_setup_folder() {
        let explicit = Path::new("/x/libonnxruntime.so");
        let (path, source) = resolve_library(Some(explicit), Some("/env/lib.so".into()));
        assert_eq!(
            (path.as_path(), source),
            (explicit, LibrarySource::Explicit)
        );
        let (path, source) = resolve_library(None, Some("/env/lib.so".into()));
        assert_eq!(
            (path, source),
            (PathBuf::from("/env/lib.so"), LibrarySource::Environment)
        );
        let (path, source) = resolve_library(None, Some("".into()));
        assert_eq!(
            (path, source),
            (default_library_path(), LibrarySource::SetupFolder)
        );
        let (path, source) = resolve_library(None, None);
        assert_eq!(
            (path, source),
            (default_library_path(), LibrarySource::SetupFolder)
        );
    }

    #[test]
    fn missing_library_is_a_clear_error() {
        let error = check_library_file(
            Path::new("/nonexistent/libonnxruntime.so"),
            LibrarySource::Explicit,
        )
        .err()
        .map(|error| error.to_string())
        .unwrap_or_default();
        assert!(
            error.contains("ONNX Runtime library not found at /nonexistent/libonnxruntime.so"),
            "{error}"
        );
        assert!(error.contains("scripts/setup.sh"), "{error}");
    }
}
