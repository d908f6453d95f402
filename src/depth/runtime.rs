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
use std::sync::{Arc, LazyLock, Mutex, OnceLock};

use anyhow::{Result, anyhow, bail};
use ort::environment::Environment;

/// Environment variable naming the ONNX Runtime library (the same one `ort` reads).
pub const ORT_DYLIB_ENV: &str = "ORT_DYLIB_PATH";

/// File names of the library, in the order they are tried in each folder.
pub const LIBRARY_NAMES: [&str; 2] = ["libonnxruntime.so", "libonnxruntime.so.1"];

/// Where a library path came from, for messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LibrarySource {
    /// Given by the caller (the element's property).
    Explicit,
    /// The `ORT_DYLIB_PATH` environment variable.
    Environment,
    /// The folder of the plugin file GStreamer loaded (where `meson install` can put it).
    NextToPlugin,
    /// `LD_LIBRARY_PATH` and the system's library folders.
    LibraryPath,
}

impl LibrarySource {
    fn describe(self) -> &'static str {
        match self {
            LibrarySource::Explicit => "the path given",
            LibrarySource::Environment => "ORT_DYLIB_PATH",
            LibrarySource::NextToPlugin => "next to the plugin",
            LibrarySource::LibraryPath => "the library path",
        }
    }
}

/// The plugin file this code was loaded from, set once by the plugin's init function.
static PLUGIN_FILE: OnceLock<PathBuf> = OnceLock::new();

/// Records the plugin file GStreamer loaded (the plugin's init function calls this), so
/// that a library installed next to it is found.
pub fn set_plugin_file(path: PathBuf) {
    let _ = PLUGIN_FILE.set(path);
}

/// The system's library folders searched after `LD_LIBRARY_PATH`, as the dynamic loader
/// would (local installs first).
fn system_library_folders() -> Vec<PathBuf> {
    let triple = format!("{}-linux-gnu", std::env::consts::ARCH);
    [
        "/usr/local/lib",
        &format!("/usr/local/lib/{triple}"),
        &format!("/usr/lib/{triple}"),
        "/usr/lib64",
        "/usr/lib",
    ]
    .iter()
    .map(PathBuf::from)
    .collect()
}

/// The places to look for the library, in order. An explicit path, else a non-empty
/// `ORT_DYLIB_PATH`, is the only candidate (a wrong one is an error, never silently
/// skipped); otherwise the plugin's folder, then each `LD_LIBRARY_PATH` folder, then the
/// system's folders, each with the names of [`LIBRARY_NAMES`]. Pure, so the order is
/// testable.
pub fn library_candidates(
    explicit: Option<&Path>,
    environment: Option<OsString>,
    plugin_folder: Option<&Path>,
    ld_library_path: Option<OsString>,
    system_folders: &[PathBuf],
) -> Vec<(PathBuf, LibrarySource)> {
    if let Some(path) = explicit {
        return vec![(path.to_path_buf(), LibrarySource::Explicit)];
    }
    if let Some(value) = environment.filter(|value| !value.is_empty()) {
        return vec![(PathBuf::from(value), LibrarySource::Environment)];
    }
    let in_folder = |folder: &Path, source| {
        LIBRARY_NAMES
            .iter()
            .map(move |name| (folder.join(name), source))
            .collect::<Vec<_>>()
    };
    let mut candidates = Vec::new();
    if let Some(folder) = plugin_folder {
        candidates.extend(in_folder(folder, LibrarySource::NextToPlugin));
    }
    let ld_folders: Vec<PathBuf> = ld_library_path
        .map(|value| {
            std::env::split_paths(&value)
                .filter(|p| !p.as_os_str().is_empty())
                .collect()
        })
        .unwrap_or_default();
    for folder in ld_folders.iter().chain(system_folders) {
        candidates.extend(in_folder(folder, LibrarySource::LibraryPath));
    }
    candidates
}

/// The first candidate that is a file, or an error that lists every place looked.
fn find_library(candidates: &[(PathBuf, LibrarySource)]) -> Result<(PathBuf, LibrarySource)> {
    for (path, source) in candidates {
        if path.is_file() {
            let canonical = path.canonicalize().map_err(|error| {
                anyhow!(
                    "cannot resolve ONNX Runtime library path {}: {error}",
                    path.display()
                )
            })?;
            return Ok((canonical, *source));
        }
    }
    let places = candidates
        .iter()
        .map(|(path, source)| format!("{} ({})", path.display(), source.describe()))
        .collect::<Vec<_>>()
        .join(", ");
    bail!(
        "ONNX Runtime library not found; looked at: {places}. Set the onnxruntime-library property or \
         {ORT_DYLIB_ENV} to the libonnxruntime.so of an onnxruntime >= 1.{} installation (the PyPI wheel \
         has it in onnxruntime/capi/), or put it next to the plugin (meson's onnxruntime_library option \
         does), or in a folder of the library path; in the source tree, scripts/setup.sh fetches it",
        ort::MINOR_VERSION
    )
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
    /// The process-wide runtime, loading the library on first use from the first of
    /// [`library_candidates`] that exists.
    ///
    /// Once a library is loaded, asking for a different file explicitly is an error: ONNX
    /// Runtime cannot be loaded twice in one process.
    pub fn get(explicit: Option<&Path>) -> Result<Arc<Runtime>> {
        let candidates = library_candidates(
            explicit,
            std::env::var_os(ORT_DYLIB_ENV),
            PLUGIN_FILE.get().and_then(|file| file.parent()),
            std::env::var_os("LD_LIBRARY_PATH"),
            &system_library_folders(),
        );
        let mut slot = RUNTIME
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(runtime) = slot.as_ref() {
            if explicit.is_some() {
                let (wanted, _) = find_library(&candidates)?;
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
        let (library, _) = find_library(&candidates)?;
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

/// Opens the library and builds the environment; `ort` panics in a few corner cases of a
/// broken library, so those are caught and turned into errors.
fn load(library: &Path) -> Result<Environment> {
    let result = catch_unwind(AssertUnwindSafe(|| -> Result<Environment> {
        let builder = ort::init_from(library).map_err(|error| {
            anyhow!(
                "cannot load ONNX Runtime library {}: {error}; set the onnxruntime-library property or \
                 {ORT_DYLIB_ENV} to the libonnxruntime.so of an onnxruntime >= 1.{} installation",
                library.display(),
                ort::MINOR_VERSION
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

    fn paths(candidates: &[(PathBuf, LibrarySource)]) -> Vec<(String, LibrarySource)> {
        candidates
            .iter()
            .map(|(path, source)| (path.display().to_string(), *source))
            .collect()
    }

    #[test]
    fn explicit_path_wins_then_environment_then_plugin_folder_then_library_path() {
        let system = [PathBuf::from("/usr/lib")];
        let explicit = Path::new("/x/libonnxruntime.so");
        let all = |explicit, environment: Option<&str>| {
            paths(&library_candidates(
                explicit,
                environment.map(OsString::from),
                Some(Path::new("/prefix/lib/gstreamer-1.0")),
                Some("/ld/a:/ld/b".into()),
                &system,
            ))
        };
        assert_eq!(
            all(Some(explicit), Some("/env/lib.so")),
            [("/x/libonnxruntime.so".to_string(), LibrarySource::Explicit)]
        );
        assert_eq!(
            all(None, Some("/env/lib.so")),
            [("/env/lib.so".to_string(), LibrarySource::Environment)]
        );
        let searched = [
            ("/prefix/lib/gstreamer-1.0", LibrarySource::NextToPlugin),
            ("/ld/a", LibrarySource::LibraryPath),
            ("/ld/b", LibrarySource::LibraryPath),
            ("/usr/lib", LibrarySource::LibraryPath),
        ]
        .iter()
        .flat_map(|(folder, source)| {
            LIBRARY_NAMES
                .iter()
                .map(move |name| (format!("{folder}/{name}"), *source))
        })
        .collect::<Vec<_>>();
        assert_eq!(all(None, Some("")), searched);
        assert_eq!(all(None, None), searched);
    }

    #[test]
    fn a_missing_library_is_an_error_that_lists_where_it_looked() {
        let candidates = library_candidates(
            None,
            None,
            Some(Path::new("/nonexistent/plugins")),
            None,
            &[PathBuf::from("/nonexistent/lib")],
        );
        let error = find_library(&candidates)
            .err()
            .map(|error| error.to_string())
            .unwrap_or_default();
        for place in [
            "/nonexistent/plugins/libonnxruntime.so (next to the plugin)",
            "/nonexistent/plugins/libonnxruntime.so.1 (next to the plugin)",
            "/nonexistent/lib/libonnxruntime.so (the library path)",
        ] {
            assert!(error.contains(place), "{place} missing from: {error}");
        }
        assert!(error.contains("onnxruntime-library property"), "{error}");
    }

    #[test]
    fn the_first_existing_candidate_is_taken() {
        let folder =
            std::env::temp_dir().join(format!("sterefo-ort-search-{}", std::process::id()));
        std::fs::create_dir_all(&folder).expect("temporary folder");
        std::fs::write(folder.join("libonnxruntime.so.1"), b"not really").expect("write");
        let candidates = library_candidates(
            None,
            None,
            Some(Path::new("/nonexistent")),
            None,
            std::slice::from_ref(&folder),
        );
        let (path, source) = find_library(&candidates).expect("found");
        assert_eq!(
            path,
            folder
                .join("libonnxruntime.so.1")
                .canonicalize()
                .expect("exists")
        );
        assert_eq!(source, LibrarySource::LibraryPath);
        std::fs::remove_dir_all(&folder).expect("clean up");
    }
}
