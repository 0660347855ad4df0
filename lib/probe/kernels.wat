;; Dense column kernels of the L1 logistic-regression solver (lib/probe/logistic.ts), WebAssembly SIMD:
;; float32 raw column values are widened to float64 and every operation is float64 (f64x2).
;; All pointers are byte offsets into the imported memory; n is the number of rows.
;; Rebuild the embedded bytes (kernels_wasm.ts) with:
;;   deno run --allow-read --allow-write --allow-run lib/common/wasm_build.ts lib/probe/kernels.wat
(module
  (import "env" "mem" (memory 1))

  ;; Σᵢ col[i]·a[i]·b[i]  (col float32 at pc; a, b float64 at pa, pb)
  (func (export "dot3") (param $pc i32) (param $pa i32) (param $pb i32) (param $n i32) (result f64)
    (local $acc0 v128) (local $acc1 v128) (local $end i32) (local $s f64)
    (local.set $end (i32.add (local.get $pc) (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2))))
    (block $done
      (loop $l
        (br_if $done (i32.ge_u (local.get $pc) (local.get $end)))
        (local.set $acc0 (f64x2.add (local.get $acc0)
          (f64x2.mul (f64x2.mul (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $pc)))
            (v128.load (local.get $pa))) (v128.load (local.get $pb)))))
        (local.set $acc1 (f64x2.add (local.get $acc1)
          (f64x2.mul (f64x2.mul (f64x2.promote_low_f32x4 (v128.load64_zero offset=8 (local.get $pc)))
            (v128.load offset=16 (local.get $pa))) (v128.load offset=16 (local.get $pb)))))
        (local.set $pc (i32.add (local.get $pc) (i32.const 16)))
        (local.set $pa (i32.add (local.get $pa) (i32.const 32)))
        (local.set $pb (i32.add (local.get $pb) (i32.const 32)))
        (br $l)))
    (local.set $acc0 (f64x2.add (local.get $acc0) (local.get $acc1)))
    (local.set $s (f64.add (f64x2.extract_lane 0 (local.get $acc0)) (f64x2.extract_lane 1 (local.get $acc0))))
    (local.set $end (i32.add (local.get $end) (i32.shl (i32.and (local.get $n) (i32.const 3)) (i32.const 2))))
    (block $done2
      (loop $l2
        (br_if $done2 (i32.ge_u (local.get $pc) (local.get $end)))
        (local.set $s (f64.add (local.get $s) (f64.mul (f64.mul (f64.promote_f32 (f32.load (local.get $pc)))
          (f64.load (local.get $pa))) (f64.load (local.get $pb)))))
        (local.set $pc (i32.add (local.get $pc) (i32.const 4)))
        (local.set $pa (i32.add (local.get $pa) (i32.const 8)))
        (local.set $pb (i32.add (local.get $pb) (i32.const 8)))
        (br $l2)))
    (local.get $s))

  ;; out[i] += alpha·col[i]  (col float32 at pc; out float64 at po)
  (func (export "axpy") (param $pc i32) (param $alpha f64) (param $po i32) (param $n i32)
    (local $va v128) (local $end i32)
    (local.set $va (f64x2.splat (local.get $alpha)))
    (local.set $end (i32.add (local.get $pc) (i32.shl (i32.and (local.get $n) (i32.const -2)) (i32.const 2))))
    (block $done
      (loop $l
        (br_if $done (i32.ge_u (local.get $pc) (local.get $end)))
        (v128.store (local.get $po) (f64x2.add (v128.load (local.get $po))
          (f64x2.mul (local.get $va) (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $pc))))))
        (local.set $pc (i32.add (local.get $pc) (i32.const 8)))
        (local.set $po (i32.add (local.get $po) (i32.const 16)))
        (br $l)))
    (if (i32.and (local.get $n) (i32.const 1))
      (then (f64.store (local.get $po) (f64.add (f64.load (local.get $po))
        (f64.mul (local.get $alpha) (f64.promote_f32 (f32.load (local.get $pc)))))))))

  ;; out[0..3] = [Σ v·g, Σ v·D, Σ v²·D] for the column v (float32 at pc; g, D float64 at pg, pd; out at pout)
  (func (export "sums") (param $pc i32) (param $pg i32) (param $pd i32) (param $n i32) (param $pout i32)
    (local $gs v128) (local $e v128) (local $h v128) (local $v v128) (local $vd v128) (local $end i32)
    (local $sg f64) (local $se f64) (local $sh f64) (local $x f64) (local $xd f64)
    (local.set $end (i32.add (local.get $pc) (i32.shl (i32.and (local.get $n) (i32.const -2)) (i32.const 2))))
    (block $done
      (loop $l
        (br_if $done (i32.ge_u (local.get $pc) (local.get $end)))
        (local.set $v (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $pc))))
        (local.set $vd (f64x2.mul (local.get $v) (v128.load (local.get $pd))))
        (local.set $gs (f64x2.add (local.get $gs) (f64x2.mul (local.get $v) (v128.load (local.get $pg)))))
        (local.set $e (f64x2.add (local.get $e) (local.get $vd)))
        (local.set $h (f64x2.add (local.get $h) (f64x2.mul (local.get $v) (local.get $vd))))
        (local.set $pc (i32.add (local.get $pc) (i32.const 8)))
        (local.set $pg (i32.add (local.get $pg) (i32.const 16)))
        (local.set $pd (i32.add (local.get $pd) (i32.const 16)))
        (br $l)))
    (local.set $sg (f64.add (f64x2.extract_lane 0 (local.get $gs)) (f64x2.extract_lane 1 (local.get $gs))))
    (local.set $se (f64.add (f64x2.extract_lane 0 (local.get $e)) (f64x2.extract_lane 1 (local.get $e))))
    (local.set $sh (f64.add (f64x2.extract_lane 0 (local.get $h)) (f64x2.extract_lane 1 (local.get $h))))
    (if (i32.and (local.get $n) (i32.const 1))
      (then
        (local.set $x (f64.promote_f32 (f32.load (local.get $pc))))
        (local.set $xd (f64.mul (local.get $x) (f64.load (local.get $pd))))
        (local.set $sg (f64.add (local.get $sg) (f64.mul (local.get $x) (f64.load (local.get $pg)))))
        (local.set $se (f64.add (local.get $se) (local.get $xd)))
        (local.set $sh (f64.add (local.get $sh) (f64.mul (local.get $x) (local.get $xd))))))
    (f64.store (local.get $pout) (local.get $sg))
    (f64.store offset=8 (local.get $pout) (local.get $se))
    (f64.store offset=16 (local.get $pout) (local.get $sh)))
)
