#!/bin/bash
# GPU check (run on the lent device machine): CUDA tests, GPU determinism, cross-CPU pinned fingerprints,
# full-data 5-epoch training of each architecture (seed 1234) on the GPU with timings.
set -u
export PYTHONUNBUFFERED=1
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 3
export PYTHONPATH=/tmp/site:$PWD/src
{ nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv; lscpu | grep -E 'Model name|^CPU\(s\)';
  python3 -c "import torch,numpy;print('torch',torch.__version__,'cuda',torch.version.cuda,'cudnn',torch.backends.cudnn.version(),'numpy',numpy.__version__)"; } > $OUT/machine.txt 2>&1
cat $OUT/machine.txt
# 1. the training tests, CUDA ones included
timeout 150 python3 -m pytest -q -rA -p no:cacheprovider tests/test_training.py -k cuda > $OUT/pytest_training.txt 2>&1; echo "pytest rc=$?"; tail -25 $OUT/pytest_training.txt
# 2. pinned CPU training fingerprints on this machine's CPU (torch version differs: see machine.txt)
(cd tests && timeout 60 python3 -c "
from imdb_rnn.numerics import pin; pin('avx2')
import json, torch, test_numerics as t
f = t._training_fingerprints(); c = json.load(open('data/pinned_fingerprints.json'))['training']
print('cpu capability', torch.backends.cpu.get_cpu_capability()); print({a: f[a] == c[a] for a in f})
") > $OUT/fingerprints.txt 2>&1; cat $OUT/fingerprints.txt
# 3. full data on the GPU: every architecture, seed 1234, 5 epochs
mkdir -p /tmp/d/prepared /tmp/r
for f in train valid test; do gunzip -c gpu_data/$f.npz.gz > /tmp/d/prepared/$f.npz; done
cp gpu_data/tokenizer.json /tmp/d/prepared/; gunzip -c gpu_data/embedding.npy.gz > /tmp/d/embedding.npy
for arch in bilstm2 birnn2 birnn1 rnn1; do
  SECONDS=0; limit=100; [ $arch = bilstm2 ] && limit=120
  timeout $limit python3 workflow/scripts/train.py --params gpu_data/params.yaml --arch $arch --seed 1234 --data /tmp/d/prepared \
    --embedding /tmp/d/embedding.npy --checkpoint /tmp/r/$arch.pt --resume /tmp/r/$arch-resume.pt --metrics /tmp/r/$arch.json \
    --history /tmp/r/$arch.csv --structure /tmp/r/$arch.txt --predictions /tmp/r/$arch.csv.gz > /tmp/r/$arch.log 2>&1
  echo "$arch rc=$? wall=${SECONDS} s"; tail -c 400 /tmp/r/$arch.log | tr '\r' '\n' | tail -3
done
tar -C /tmp/r -cf $OUT/runs.tar $(cd /tmp/r && ls *.json *.csv *.log *.txt 2>/dev/null)
