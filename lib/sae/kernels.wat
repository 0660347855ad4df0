;; Training kernels of the TopK SAE (lib/sae/kernels.ts): WebAssembly SIMD over float32, the reference's
;; precision (torch float32 ops). Pointers are byte offsets into the imported memory; n counts float32s.
;; Every sum runs in a fixed order (eight lanes, a fixed combining tree, then the tail), so a result depends
;; on its inputs only. Rebuild the embedded bytes (kernels_wasm.ts) with:
;;   deno run --allow-read --allow-write --allow-run lib/common/wasm_build.ts lib/sae/kernels.wat
(module
  (import "env" "mem" (memory 1))

  ;; Σ a[i]·b[i]
  (func (export "dot") (param $pa i32) (param $pb i32) (param $n i32) (result f32)
    (local $acc0 v128) (local $acc1 v128) (local $end i32) (local $s f32)
    (local.set $end (i32.add (local.get $pa) (i32.shl (i32.and (local.get $n) (i32.const -8)) (i32.const 2))))
    (block $done
      (loop $l
        (br_if $done (i32.ge_u (local.get $pa) (local.get $end)))
        (local.set $acc0 (f32x4.add (local.get $acc0)
          (f32x4.mul (v128.load (local.get $pa)) (v128.load (local.get $pb)))))
        (local.set $acc1 (f32x4.add (local.get $acc1)
          (f32x4.mul (v128.load offset=16 (local.get $pa)) (v128.load offset=16 (local.get $pb)))))
        (local.set $pa (i32.add (local.get $pa) (i32.const 32)))
        (local.set $pb (i32.add (local.get $pb) (i32.const 32)))
        (br $l)))
    (local.set $acc0 (f32x4.add (local.get $acc0) (local.get $acc1)))
    (local.set $s (f32.add
      (f32.add (f32x4.extract_lane 0 (local.get $acc0)) (f32x4.extract_lane 1 (local.get $acc0)))
      (f32.add (f32x4.extract_lane 2 (local.get $acc0)) (f32x4.extract_lane 3 (local.get $acc0)))))
    (local.set $end (i32.add (local.get $end) (i32.shl (i32.and (local.get $n) (i32.const 7)) (i32.const 2))))
    (block $done2
      (loop $l2
        (br_if $done2 (i32.ge_u (local.get $pa) (local.get $end)))
        (local.set $s (f32.add (local.get $s) (f32.mul (f32.load (local.get $pa)) (f32.load (local.get $pb)))))
        (local.set $pa (i32.add (local.get $pa) (i32.const 4)))
        (local.set $pb (i32.add (local.get $pb) (i32.const 4)))
        (br $l2)))
    (local.get $s))

  ;; y[i] += alpha·x[i]
  (func (export "axpy") (param $alpha f32) (param $px i32) (param $py i32) (param $n i32)
    (local $va v128) (local $end i32)
    (local.set $va (f32x4.splat (local.get $alpha)))
    (local.set $end (i32.add (local.get $px) (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2))))
    (block $done
      (loop $l
        (br_if $done (i32.ge_u (local.get $px) (local.get $end)))
        (v128.store (local.get $py)
          (f32x4.add (v128.load (local.get $py)) (f32x4.mul (local.get $va) (v128.load (local.get $px)))))
        (local.set $px (i32.add (local.get $px) (i32.const 16)))
        (local.set $py (i32.add (local.get $py) (i32.const 16)))
        (br $l)))
    (local.set $end (i32.add (local.get $end) (i32.shl (i32.and (local.get $n) (i32.const 3)) (i32.const 2))))
    (block $done2
      (loop $l2
        (br_if $done2 (i32.ge_u (local.get $px) (local.get $end)))
        (f32.store (local.get $py)
          (f32.add (f32.load (local.get $py)) (f32.mul (local.get $alpha) (f32.load (local.get $px)))))
        (local.set $px (i32.add (local.get $px) (i32.const 4)))
        (local.set $py (i32.add (local.get $py) (i32.const 4)))
        (br $l2))))

  ;; x[i] /= s
  (func (export "divide") (param $px i32) (param $s f32) (param $n i32)
    (local $vs v128) (local $end i32)
    (local.set $vs (f32x4.splat (local.get $s)))
    (local.set $end (i32.add (local.get $px) (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2))))
    (block $done
      (loop $l
        (br_if $done (i32.ge_u (local.get $px) (local.get $end)))
        (v128.store (local.get $px) (f32x4.div (v128.load (local.get $px)) (local.get $vs)))
        (local.set $px (i32.add (local.get $px) (i32.const 16)))
        (br $l)))
    (local.set $end (i32.add (local.get $end) (i32.shl (i32.and (local.get $n) (i32.const 3)) (i32.const 2))))
    (block $done2
      (loop $l2
        (br_if $done2 (i32.ge_u (local.get $px) (local.get $end)))
        (f32.store (local.get $px) (f32.div (f32.load (local.get $px)) (local.get $s)))
        (local.set $px (i32.add (local.get $px) (i32.const 4)))
        (br $l2))))

  ;; One element of Adam, as torch.optim.Adam computes it in float32 (the SIMD body below is the same per lane):
  ;;   m ← β1·m + (1−β1)·g;  v ← β2·v + ((1−β2)·g)·g;  p ← p − step · m / (√v / bc2 + ε)
  ;; with step = lr / (1 − β1ᵗ) and bc2 = √(1 − β2ᵗ).
  (func $adam1 (param $pp i32) (param $pg i32) (param $pm i32) (param $pv i32)
    (param $b1 f32) (param $c1 f32) (param $b2 f32) (param $c2 f32) (param $step f32) (param $bc2 f32) (param $eps f32)
    (local $g f32) (local $m f32) (local $v f32)
    (local.set $g (f32.load (local.get $pg)))
    (local.set $m (f32.add (f32.mul (local.get $b1) (f32.load (local.get $pm))) (f32.mul (local.get $c1) (local.get $g))))
    (local.set $v (f32.add (f32.mul (local.get $b2) (f32.load (local.get $pv)))
      (f32.mul (f32.mul (local.get $c2) (local.get $g)) (local.get $g))))
    (f32.store (local.get $pm) (local.get $m))
    (f32.store (local.get $pv) (local.get $v))
    (f32.store (local.get $pp) (f32.sub (f32.load (local.get $pp))
      (f32.mul (local.get $step) (f32.div (local.get $m)
        (f32.add (f32.div (f32.sqrt (local.get $v)) (local.get $bc2)) (local.get $eps)))))))

  ;; Adam over n elements; pg = -1 means a zero gradient (the moments decay, the parameter still moves).
  (func (export "adam") (param $pp i32) (param $pg i32) (param $pm i32) (param $pv i32) (param $n i32)
    (param $b1 f32) (param $c1 f32) (param $b2 f32) (param $c2 f32) (param $step f32) (param $bc2 f32) (param $eps f32)
    (local $vb1 v128) (local $vc1 v128) (local $vb2 v128) (local $vc2 v128) (local $vstep v128) (local $vbc2 v128)
    (local $veps v128) (local $g v128) (local $m v128) (local $v v128) (local $end i32) (local $zero i32)
    (local.set $zero (i32.eq (local.get $pg) (i32.const -1)))
    (local.set $vb1 (f32x4.splat (local.get $b1)))
    (local.set $vc1 (f32x4.splat (local.get $c1)))
    (local.set $vb2 (f32x4.splat (local.get $b2)))
    (local.set $vc2 (f32x4.splat (local.get $c2)))
    (local.set $vstep (f32x4.splat (local.get $step)))
    (local.set $vbc2 (f32x4.splat (local.get $bc2)))
    (local.set $veps (f32x4.splat (local.get $eps)))
    (local.set $end (i32.add (local.get $pp) (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2))))
    (block $done
      (loop $l
        (br_if $done (i32.ge_u (local.get $pp) (local.get $end)))
        (local.set $g (if (result v128) (local.get $zero)
          (then (v128.const i32x4 0 0 0 0)) (else (v128.load (local.get $pg)))))
        (local.set $m (f32x4.add (f32x4.mul (local.get $vb1) (v128.load (local.get $pm)))
          (f32x4.mul (local.get $vc1) (local.get $g))))
        (local.set $v (f32x4.add (f32x4.mul (local.get $vb2) (v128.load (local.get $pv)))
          (f32x4.mul (f32x4.mul (local.get $vc2) (local.get $g)) (local.get $g))))
        (v128.store (local.get $pm) (local.get $m))
        (v128.store (local.get $pv) (local.get $v))
        (v128.store (local.get $pp) (f32x4.sub (v128.load (local.get $pp))
          (f32x4.mul (local.get $vstep) (f32x4.div (local.get $m)
            (f32x4.add (f32x4.div (f32x4.sqrt (local.get $v)) (local.get $vbc2)) (local.get $veps))))))
        (local.set $pp (i32.add (local.get $pp) (i32.const 16)))
        (local.set $pg (i32.add (local.get $pg) (select (i32.const 0) (i32.const 16) (local.get $zero))))
        (local.set $pm (i32.add (local.get $pm) (i32.const 16)))
        (local.set $pv (i32.add (local.get $pv) (i32.const 16)))
        (br $l)))
    (local.set $end (i32.add (local.get $end) (i32.shl (i32.and (local.get $n) (i32.const 3)) (i32.const 2))))
    (block $done2
      (loop $l2
        (br_if $done2 (i32.ge_u (local.get $pp) (local.get $end)))
        (if (local.get $zero)
          (then
            ;; a zero gradient: the same arithmetic with g = 0 (read from the vector zero below)
            (v128.store (i32.const 0) (v128.const i32x4 0 0 0 0))
            (call $adam1 (local.get $pp) (i32.const 0) (local.get $pm) (local.get $pv) (local.get $b1) (local.get $c1)
              (local.get $b2) (local.get $c2) (local.get $step) (local.get $bc2) (local.get $eps)))
          (else
            (call $adam1 (local.get $pp) (local.get $pg) (local.get $pm) (local.get $pv) (local.get $b1) (local.get $c1)
              (local.get $b2) (local.get $c2) (local.get $step) (local.get $bc2) (local.get $eps))
            (local.set $pg (i32.add (local.get $pg) (i32.const 4)))))
        (local.set $pp (i32.add (local.get $pp) (i32.const 4)))
        (local.set $pm (i32.add (local.get $pm) (i32.const 4)))
        (local.set $pv (i32.add (local.get $pv) (i32.const 4)))
        (br $l2))))
)
