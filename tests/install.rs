//! The plugin installs like any GStreamer plugin and works from its installed copy alone.
//!
//! `meson setup --prefix P` + `meson install` into a temporary prefix (with ONNX Runtime
//! installed next to the plugin by the `onnxruntime_library` option), the meson build
//! folder moved away, then `gst-inspect-1.0` and a pipeline run from the installed copy with
//! no `ORT_DYLIB_PATH`, in a fresh registry, from a folder outside the source tree. The
//! installed file must not name the source tree at all, so nothing in it can look there.
//! Nothing outside the temporary folder is written (the cargo build reuses the crate's own
//! target folder, which `scripts/test.sh` has just built).
//!
//! Needs meson and ninja (`scripts/setup.sh` installs them) and the ONNX Runtime library
//! (`ORT_DYLIB_PATH`, set by `scripts/env.sh`).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn crate_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The crate's target folder: the test binary is `<target>/<profile>/deps/install-*`.
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    exe.ancestors()
        .nth(3)
        .expect("<target>/<profile>/deps/<binary>")
        .to_path_buf()
}

fn run(what: &str, command: &mut Command) -> Output {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {what}: {e} (scripts/setup.sh installs it)"));
    assert!(
        output.status.success(),
        "{what} failed ({}):\n{}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn find_file(folder: &Path, name: &str) -> Option<PathBuf> {
    for entry in std::fs::read_dir(folder).ok()?.flatten() {
        let path = entry.path();
        if path.is_dir() {
            if let Some(found) = find_file(&path, name) {
                return Some(found);
            }
        } else if path.file_name().is_some_and(|n| n == name) {
            return Some(path);
        }
    }
    None
}

#[test]
fn meson_installs_a_plugin_that_works_without_the_build_or_source_tree() {
    let onnxruntime = std::env::var_os("ORT_DYLIB_PATH")
        .map(PathBuf::from)
        .expect("ORT_DYLIB_PATH (source scripts/env.sh)")
        .canonicalize()
        .expect("the ONNX Runtime library of ORT_DYLIB_PATH");
    let scratch = std::env::temp_dir().join(format!("sterefo-install-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch).expect("temporary folder");
    let (build, prefix) = (scratch.join("build"), scratch.join("prefix"));

    run(
        "meson setup",
        Command::new("meson")
            .current_dir(crate_root())
            .arg("setup")
            .arg(&build)
            .arg(format!("--prefix={}", prefix.display()))
            .arg(format!("-Dcargo_target_dir={}", target_dir().display()))
            .arg(format!("-Donnxruntime_library={}", onnxruntime.display())),
    );
    run(
        "meson install",
        Command::new("meson").arg("install").arg("-C").arg(&build),
    );
    std::fs::rename(&build, scratch.join("build-moved")).expect("move the build folder away");

    let plugin = find_file(&prefix, "libgststerefo.so").expect("the plugin under the prefix");
    let plugin_dir = plugin.parent().expect("plugin folder").to_path_buf();
    assert!(
        plugin_dir.ends_with("gstreamer-1.0") && plugin_dir.starts_with(prefix.join("lib")),
        "installed at {}, not under <prefix>/<libdir>/gstreamer-1.0",
        plugin.display()
    );
    assert!(
        plugin_dir.join("libonnxruntime.so.1").is_file(),
        "ONNX Runtime next to the plugin"
    );
    let bytes = std::fs::read(&plugin).expect("read the installed plugin");
    let source = crate_root().to_string_lossy().into_owned();
    assert!(
        !bytes.windows(source.len()).any(|w| w == source.as_bytes()),
        "the installed plugin names the source tree {source}: it must not look for files there"
    );

    let installed = |program: &str| {
        let mut command = Command::new(program);
        command
            .current_dir(&scratch)
            .env_remove("ORT_DYLIB_PATH")
            .env("GST_PLUGIN_PATH", &plugin_dir)
            .env("GST_REGISTRY_1_0", scratch.join("registry.bin"))
            .env("GST_DEBUG", "sterefo:4")
            .env("GST_DEBUG_NO_COLOR", "1");
        command
    };
    let inspect = run(
        "gst-inspect-1.0 sterefo",
        installed("gst-inspect-1.0").arg("sterefo"),
    );
    let text = String::from_utf8_lossy(&inspect.stdout);
    assert!(
        text.contains(&plugin.display().to_string()),
        "gst-inspect shows another file:\n{text}"
    );
    assert!(!text.contains("example.invalid"), "{text}");

    let (width, height, frames) = (320usize, 192usize, 2usize);
    let out = scratch.join("out.rgba");
    let source = |pad: &str| {
        format!(
            "videotestsrc num-buffers={frames} pattern=ball ! video/x-raw,format=RGBA,width={width},height={height} ! s.{pad}"
        )
    };
    let pipeline = format!(
        "sterefo name=s ! video/x-raw,format=RGBA ! filesink location={} {} {}",
        out.display(),
        source("sink_left"),
        source("sink_right")
    );
    let launch = run(
        "gst-launch-1.0 with the installed plugin",
        installed("gst-launch-1.0")
            .arg("-q")
            .args(pipeline.split(' ')),
    );
    let log = String::from_utf8_lossy(&launch.stderr);
    let runtime = plugin_dir
        .join("libonnxruntime.so.1")
        .canonicalize()
        .expect("installed library");
    assert!(
        log.contains("the built-in model")
            && log.contains(&format!("ONNX Runtime {}", runtime.display())),
        "the installed plugin did not run the built-in model on the ONNX Runtime next to it:\n{log}"
    );
    let written = std::fs::metadata(&out).expect("the output file").len() as usize;
    assert_eq!(written, frames * width * height * 4, "two refocused frames");

    // Without the library next to it, the element says everywhere it looked (or, on a
    // machine with ONNX Runtime in the library path, runs on that one).
    std::fs::remove_file(&runtime).expect("remove the installed ONNX Runtime");
    let output = installed("gst-launch-1.0")
        .arg("-q")
        .args(pipeline.split(' '))
        .output()
        .expect("gst-launch-1.0");
    let log = String::from_utf8_lossy(&output.stderr);
    if output.status.success() {
        assert!(
            log.contains("ONNX Runtime /")
                && !log.contains(&format!("ONNX Runtime {}", runtime.display())),
            "{log}"
        );
    } else {
        let text = format!("{log}{}", String::from_utf8_lossy(&output.stdout));
        let expected = format!(
            "looked at: {} (next to the plugin)",
            plugin_dir.join("libonnxruntime.so").display()
        );
        assert!(
            text.contains(&expected),
            "no list of the places looked at in:\n{text}"
        );
        assert!(text.contains("onnxruntime-library property"), "{text}");
    }
    std::fs::remove_dir_all(&scratch).expect("clean up");
}
