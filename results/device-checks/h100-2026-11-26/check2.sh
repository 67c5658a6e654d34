#!/bin/bash
set -u
export PYTHONUNBUFFERED=1 PYTEST_DISABLE_PLUGIN_AUTOLOAD=1
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 3
export PYTHONPATH=/tmp/site:$PWD/src
timeout 150 python3 -m pytest -q -rA -p no:cacheprovider tests/test_training.py -k cuda > $OUT/pytest_training.txt 2>&1; echo "pytest rc=$?"; tail -15 $OUT/pytest_training.txt
mkdir -p /tmp/d/prepared /tmp/r2
[ -f /tmp/d/prepared/test.npz ] || { for f in train valid test; do gunzip -c gpu_data/$f.npz.gz > /tmp/d/prepared/$f.npz; done; cp gpu_data/tokenizer.json /tmp/d/prepared/; gunzip -c gpu_data/embedding.npy.gz > /tmp/d/embedding.npy; }
for run in 1234 1234b 1; do
  seed=${run%b}; SECONDS=0
  timeout 120 python3 workflow/scripts/train.py --params gpu_data/params.yaml --arch bilstm2 --seed $seed --data /tmp/d/prepared \
    --embedding /tmp/d/embedding.npy --checkpoint /tmp/r2/$run.pt --resume /tmp/r2/$run-resume.pt --metrics /tmp/r2/bilstm2-$run.json \
    --history /tmp/r2/bilstm2-$run.csv --structure /tmp/r2/$run.txt --predictions /tmp/r2/$run.csv.gz > /tmp/r2/bilstm2-$run.log 2>&1
  echo "bilstm2 $run rc=$? wall=${SECONDS} s"; tail -c 200 /tmp/r2/bilstm2-$run.log | tr '\r' '\n' | tail -1
done
python3 -c "
import json; a,b=(json.load(open(f'/tmp/r2/bilstm2-{r}.json')) for r in ('1234','1234b'))
print('same seed twice on the GPU: fingerprints equal', a['fingerprints']==b['fingerprints'], 'test_acc', a['test_acc'], b['test_acc'])"
tar -C /tmp/r2 -cf $OUT/runs2.tar $(cd /tmp/r2 && ls *.json *.csv *.log)
