import CNative
import Foundation

extension Tensor {
    /// Batched matrix product: a [..., M, K] x b [..., K, N] -> [..., M, N].
    /// Batch axes of a and b must be equal, or b may be a single matrix [K, N].
    /// `transposeA`/`transposeB` read the last two axes of a/b transposed (no copy).
    public func matmul(_ b: Tensor, transposeA: Bool = false, transposeB: Bool = false) -> Tensor {
        let a = self
        precondition(a.rank >= 2 && b.rank >= 2, "matmul needs matrices: \(a.shape) x \(b.shape)")
        let m = transposeA ? a.shape[a.rank - 1] : a.shape[a.rank - 2]
        let k = transposeA ? a.shape[a.rank - 2] : a.shape[a.rank - 1]
        let kb = transposeB ? b.shape[b.rank - 1] : b.shape[b.rank - 2]
        let n = transposeB ? b.shape[b.rank - 2] : b.shape[b.rank - 1]
        precondition(k == kb, "matmul: inner sizes differ: \(a.shape)\(transposeA ? "^T" : "") x \(b.shape)\(transposeB ? "^T" : "")")
        let batchA = Array(a.shape.dropLast(2)), batchB = Array(b.shape.dropLast(2))
        let sharedB = b.rank == 2
        precondition(sharedB || batchA == batchB, "matmul: batch axes differ: \(a.shape) x \(b.shape)")
        let batch = batchA.reduce(1, *)
        if let mt = Tensor.metaResult([a, b], batchA + [m, n], macs: batch * m * n * k) { return mt }
        let out = Tensor.empty(batchA + [m, n])
        let pa = a.pointer, pb = b.pointer, pc = out.pointer
        let lda = a.shape[a.rank - 1], ldb = b.shape[b.rank - 1]
        if sharedB && !transposeA {
            // One GEMM over all rows: [batch*M, K] x [K, N].
            BLAS.sgemm(transB: transposeB, m: batch * m, n: n, k: k, a: pa, lda: lda, b: pb, ldb: ldb, c: pc, ldc: n)
        } else {
            // Many small products (window attention): one per loop thread; OpenBLAS runs
            // products this small on the calling thread.
            batchedGEMM(batch: batch, work: m * n * k) { i in
                BLAS.sgemm(transA: transposeA, transB: transposeB, m: m, n: n, k: k,
                           a: pa + i * m * k, lda: lda, b: pb + (sharedB ? 0 : i * k * n), ldb: ldb,
                           c: pc + i * m * n, ldc: n)
            }
        }
        return out.record("matmul", [a, b]) { g in
            let pg = g.pointer
            if a.requiresGrad {
                // dA = dC B^T  (or B dC^T when A was read transposed)
                a.accumulateGrad { pda in
                    batchedGEMM(batch: batch, work: m * n * k) { i in
                        let gb = pg + i * m * n, bb = pb + (sharedB ? 0 : i * k * n), da = pda + i * m * k
                        if !transposeA {
                            BLAS.sgemm(transB: !transposeB, m: m, n: k, k: n, a: gb, lda: n, b: bb, ldb: ldb, beta: 1, c: da, ldc: lda)
                        } else {
                            BLAS.sgemm(transA: transposeB, transB: true, m: k, n: m, k: n, a: bb, lda: ldb, b: gb, ldb: n, beta: 1, c: da, ldc: lda)
                        }
                    }
                }
            }
            if b.requiresGrad {
                // dB = A^T dC  (or dC^T A when B was read transposed); summed over batch for a shared B.
                b.accumulateGrad { pdb in
                    if sharedB && !transposeA {
                        if !transposeB {
                            BLAS.sgemm(transA: true, m: k, n: n, k: batch * m, a: pa, lda: lda, b: pg, ldb: n, beta: 1, c: pdb, ldc: ldb)
                        } else {
                            BLAS.sgemm(transA: true, m: n, n: k, k: batch * m, a: pg, lda: n, b: pa, ldb: lda, beta: 1, c: pdb, ldc: ldb)
                        }
                        return
                    }
                    // A shared B accumulates from every batch entry: keep that serial.
                    let body = { (i: Int) in
                        let ab = pa + i * m * k, gb = pg + i * m * n, db = pdb + (sharedB ? 0 : i * k * n)
                        if !transposeB {
                            BLAS.sgemm(transA: !transposeA, m: k, n: n, k: m, a: ab, lda: lda, b: gb, ldb: n, beta: 1, c: db, ldc: ldb)
                        } else {
                            BLAS.sgemm(transA: true, transB: transposeA, m: n, n: k, k: m, a: gb, lda: n, b: ab, ldb: lda, beta: 1, c: db, ldc: ldb)
                        }
                    }
                    if sharedB { for i in 0..<batch { body(i) } } else { batchedGEMM(batch: batch, work: m * n * k, body) }
                }
            }
        }
    }

    /// y = x W^T + b for x [..., in], W [out, in], b [out] (PyTorch's Linear layout).
    public func linear(weight: Tensor, bias: Tensor?) -> Tensor {
        let inF = shape[rank - 1], outF = weight.shape[0]
        precondition(weight.shape == [outF, inF], "linear: weight \(weight.shape) for input \(shape)")
        let rows = count / inF
        if let m = Tensor.metaResult([self, weight], Array(shape.dropLast()) + [outF], macs: rows * inF * outF) { return m }
        let out = Tensor.empty(Array(shape.dropLast()) + [outF])
        let px = pointer, pw = weight.pointer, py = out.pointer
        if let bias {
            let pb = bias.pointer
            parallelFor(rows, grain: Swift.max(1, 16384 / outF)) { r in for row in r { (py + row * outF).update(from: pb, count: outF) } }
        }
        BLAS.sgemm(transB: true, m: rows, n: outF, k: inF, a: px, lda: inF, b: pw, ldb: inF,
                   beta: bias == nil ? 0 : 1, c: py, ldc: outF)
        let x = self
        return out.record("linear", [x, weight] + (bias.map { [$0] } ?? [])) { g in
            let pg = g.pointer
            if x.requiresGrad {
                x.accumulateGrad { pdx in
                    BLAS.sgemm(m: rows, n: inF, k: outF, a: pg, lda: outF, b: pw, ldb: inF, beta: 1, c: pdx, ldc: inF)
                }
            }
            if weight.requiresGrad {
                weight.accumulateGrad { pdw in
                    BLAS.sgemm(transA: true, m: outF, n: inF, k: rows, a: pg, lda: outF, b: px, ldb: inF, beta: 1, c: pdw, ldc: inF)
                }
            }
            if let bias, bias.requiresGrad {
                bias.accumulateGrad { pdb in addColumnSums(pg, rows: rows, cols: outF, into: pdb) }
            }
        }
    }
}

/// out[j] += sum over rows of x[r, j]: chunks of rows summed in parallel (C loop over
/// contiguous rows), each into its own buffer, added in chunk order (deterministic for a
/// thread count).
func addColumnSums(_ x: UnsafePointer<Float>, rows: Int, cols: Int, into out: UnsafeMutablePointer<Float>) {
    let chunks = parallelChunkCount(rows, grain: Swift.max(1, 16384 / Swift.max(1, cols)))
    if chunks == 1 { skd_column_sums_add(x, rows, cols, out); return }
    let partials = ChunkPartials(chunks: chunks, width: cols)
    parallelChunks(rows, chunks: chunks) { c, r in skd_column_sums_add(x + r.lowerBound * cols, r.count, cols, partials.buffer(c)) }
    partials.addInOrder(into: out)
}

/// Runs `body` for each batch entry: entries spread over the loop threads when there are
/// enough of them (each GEMM then runs on its thread), otherwise one after another with
/// each large GEMM split over the threads.
@inline(__always)
func batchedGEMM(batch: Int, work: Int, _ body: (Int) -> Void) {
    if batch >= Parallel.threads || work < BLAS.splitWork { parallelForEach(batch, body) } else { for i in 0..<batch { body(i) } }
}
