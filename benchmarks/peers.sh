#!/usr/bin/env bash
# Install the peers the benchmarks compare against into .peers/ (ignored by git; never a project dependency).
# pysptools 0.15 is broken on current NumPy/SciPy (np.int/np.float, scipy.linalg._flinalg): the private copy
# is patched in place. hyde-images (HyDe) needs pytorch_wavelets, PyWavelets and setuptools<81; neuraloperator 2.0
# needs tensorly, tensorly-torch, opt-einsum, zencfg, configmypy and ruamel.yaml (not wandb for what we use).
set -euo pipefail
cd "$(dirname "$0")/.."
target=.peers
python -m pip install -q --target "$target" --no-deps pysptools==0.15.0 cvxopt scikit-learn joblib threadpoolctl narwhals \
  hyde-images pytorch_wavelets PyWavelets "setuptools<81" kornia kornia_rs bm3d bm4d \
  neuraloperator==2.0.0 spectral==0.25 tensorly tensorly-torch opt-einsum zencfg configmypy ruamel.yaml
sed -i -E 's/dtype=np\.float\b/dtype=np.float64/; s/dtype=np\.int\b/dtype=np.int64/' \
  "$target"/pysptools/abundance_maps/amaps_int.py "$target"/pysptools/eea/eea.py "$target"/pysptools/eea/eea_int.py
sed -i 's/math.fabs(sp.linalg._flinalg.sdet_c(TestMatrix)\[0\])/math.fabs(np.linalg.det(TestMatrix))/' \
  "$target"/pysptools/eea/nfindr.py
echo "peers installed in $target; benchmarks add it to sys.path"
