#!/usr/bin/env bash
# The geo scale figures through JAX on a lent GPU machine, in one prepared run (no network there).
#
# Here, once: download the pure-Python/cp312 wheels the GPU image lacks into .whl/ (git-ignored):
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
#     --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d .whl \
#     pymc==6.4.0 pytensor==3.3.8 arviz==1.3.0 arviz-base==1.3.1 arviz-stats==1.3.3 arviz-plots==1.3.2 \
#     better-optimize==0.5.1 'cachetools<7' xarray-einstats h5netcdf openpyxl et-xmlfile blackjax
# There (the image has JAX with CUDA, numpyro, numba, numpy, pandas, scipy, xarray, matplotlib):
#   bash bench/device_geo_jax.sh   # GEOS="40 200" TUNE=DRAWS=200 CASE_TIMEOUT=240 by default: fits a 15-minute lease
# (4 x (1000 + 1000) took over 200 s per case on an H100; set TUNE/DRAWS for longer leases)
# Writes the bench's JSON lines and table to $OUT/geo_scale_gpu.log (or ./geo_scale_gpu.log).
set -u
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
  || { echo "wheel install failed" >&2; exit 3; }
export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1
log=${OUT:-.}/geo_scale_gpu.log
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>&1 | tee "$log"
versions='import jax, numpyro, numba, pytensor, pymc, numpy as np
print("jax", jax.__version__, jax.devices(), "numpyro", numpyro.__version__, "numba", numba.__version__,
      "pytensor", pytensor.__version__, "pymc", pymc.__version__, "numpy", np.__version__)
import pytensor.tensor as pt
x = pt.dvector("x"); assert pytensor.function([x], 2 * x)(np.ones(2)).sum() == 4'
if ! python3 -c "$versions" 2>&1 | tee -a "$log"; then
  echo "PyTensor's default (numba) backend failed here; retrying with its C backend" | tee -a "$log"
  export PYTENSOR_FLAGS=linker=cvm
  python3 -c "$versions" 2>&1 | tee -a "$log" || exit 4
fi
python3 bench/geo_scale.py --geos ${GEOS:-40 200} --sampler ${SAMPLER:-numpyro} --float32 \
  --draws ${DRAWS:-200} --tune ${TUNE:-200} --timeout ${CASE_TIMEOUT:-240} 2>&1 | grep -v Warning | tee -a "$log"
