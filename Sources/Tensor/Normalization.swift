import CNative
import Foundation

extension Tensor {
    /// Batch norm over axis 1 of [N, C, ...]. In training it uses batch statistics and
    /// updates the running ones in place (PyTorch: momentum 0.1, unbiased running variance).
    public func batchNorm(weight: Tensor?, bias: Tensor?, runningMean: Tensor, runningVar: Tensor,
                          training: Bool, momentum: Float = 0.1, eps: Float = 1e-5) -> Tensor {
        if let mt = Tensor.metaResult([self], shape) { return mt }
        let n = shape[0], c = shape[1], inner = count / (n * c), m = n * inner
        let x = self
        let px = pointer
        var mean = [Float](repeating: 0, count: c), invStd = [Float](repeating: 0, count: c)
        if training {
            mean.withUnsafeMutableBufferPointer { pm in invStd.withUnsafeMutableBufferPointer { pi in
                let pmean = pm.baseAddress!, pinv = pi.baseAddress!
                parallelFor(c, grain: 1) { r in
                    for ch in r {
                        var mu: Double = 0, v: Double = 0
                        skd_bn_channel_moments(px, n, c, inner, ch, &mu, &v)
                        let varB = v / Double(m)
                        pmean[ch] = Float(mu)
                        pinv[ch] = Float(1 / (varB + Double(eps)).squareRoot())
                        let rm = runningMean.pointer, rv = runningVar.pointer
                        rm[ch] = (1 - momentum) * rm[ch] + momentum * Float(mu)
                        rv[ch] = (1 - momentum) * rv[ch] + momentum * Float(v / Double(Swift.max(m - 1, 1)))
                    }
                }
            } }
        } else {
            for ch in 0..<c {
                mean[ch] = runningMean.pointer[ch]
                invStd[ch] = 1 / (runningVar.pointer[ch] + eps).squareRoot()
            }
        }
        let out = Tensor.empty(shape)
        let po = out.pointer, pw = weight?.pointer, pb = bias?.pointer
        parallelFor(n * c, grain: 4) { r in
            for plane in r {
                let ch = plane % c
                let scale = invStd[ch] * (pw?[ch] ?? 1), shift = (pb?[ch] ?? 0) - mean[ch] * scale
                let s = px + plane * inner, d = po + plane * inner
                for i in 0..<inner { d[i] = s[i] * scale + shift }
            }
        }
        var inputs = [x]
        if let weight { inputs.append(weight) }
        if let bias { inputs.append(bias) }
        return out.record("batch_norm", inputs) { g in
            let pg = g.pointer
            // Per-channel sums of dy and dy * xhat.
            var sumG = [Float](repeating: 0, count: c), sumGX = [Float](repeating: 0, count: c)
            sumG.withUnsafeMutableBufferPointer { sg in sumGX.withUnsafeMutableBufferPointer { sgx in
                let psg = sg.baseAddress!, psgx = sgx.baseAddress!
                parallelFor(c, grain: 1) { r in
                    for ch in r {
                        var a: Double = 0, b2: Double = 0
                        skd_bn_channel_grad_sums(px, pg, n, c, inner, ch, mean[ch], invStd[ch], &a, &b2)
                        psg[ch] = Float(a); psgx[ch] = Float(b2)
                    }
                }
            } }
            if let weight, weight.requiresGrad { weight.accumulateGrad { d in for ch in 0..<c { d[ch] += sumGX[ch] } } }
            if let bias, bias.requiresGrad { bias.accumulateGrad { d in for ch in 0..<c { d[ch] += sumG[ch] } } }
            if x.requiresGrad {
                x.accumulateGrad { pdx in
                    parallelFor(n * c, grain: 4) { r in
                        for plane in r {
                            let ch = plane % c, gamma = pw?[ch] ?? 1, inv = invStd[ch], mu = mean[ch]
                            let off = plane * inner
                            if training {
                                let k = gamma * inv / Float(m)
                                let sg = sumG[ch], sgx = sumGX[ch]
                                for i in 0..<inner {
                                    let xh = (px[off + i] - mu) * inv
                                    pdx[off + i] += k * (Float(m) * pg[off + i] - sg - xh * sgx)
                                }
                            } else {
                                let k = gamma * inv
                                for i in 0..<inner { pdx[off + i] += k * pg[off + i] }
                            }
                        }
                    }
                }
            }
        }
    }

    /// Layer norm over the last axis (token layout [..., D]).
    public func layerNorm(weight: Tensor?, bias: Tensor?, eps: Float = 1e-5) -> Tensor {
        if let m = Tensor.metaResult([self], shape) { return m }
        let d = shape[rank - 1], rows = count / d
        let x = self, px = pointer
        let out = Tensor.empty(shape)
        let po = out.pointer, pw = weight?.pointer, pb = bias?.pointer
        var stats = [Float](repeating: 0, count: 2 * rows)  // mean, invStd per row
        stats.withUnsafeMutableBufferPointer { st in
            let ps = st.baseAddress!
            parallelFor(rows, grain: 64) { r in
                skd_layernorm_forward_rows(px + r.lowerBound * d, pw, pb, po + r.lowerBound * d,
                                           ps + 2 * r.lowerBound, r.count, d, eps)
            }
        }
        var inputs = [x]
        if let weight { inputs.append(weight) }
        if let bias { inputs.append(bias) }
        return out.record("layer_norm", inputs) { g in
            let pg = g.pointer
            let needW = weight?.requiresGrad == true, needB = bias?.requiresGrad == true
            if needW || needB {
                // Sums over rows of g * xhat and g, per chunk of rows ([dw | db]); one pass
                // gives both (addColumnSums would read g again for db).
                let chunks = parallelChunkCount(rows, grain: 256)
                let partials = ChunkPartials(chunks: chunks, width: 2 * d)
                stats.withUnsafeBufferPointer { st in
                    let ps = st.baseAddress!
                    parallelChunks(rows, chunks: chunks) { ci, r in
                        let o = r.lowerBound * d, part = partials.buffer(ci)
                        skd_layernorm_param_grads_rows(px + o, pg + o, ps + 2 * r.lowerBound, r.count, d, part, part + d)
                    }
                }
                if needW, let weight { weight.accumulateGrad { dw in partials.addInOrder(into: dw, count: d) } }
                if needB, let bias { bias.accumulateGrad { db in partials.addInOrder(into: db, offset: d) } }
            }
            if x.requiresGrad {
                x.accumulateGrad { pdx in
                    stats.withUnsafeBufferPointer { st in
                        let ps = st.baseAddress!
                        parallelFor(rows, grain: 64) { r in
                            let o = r.lowerBound * d
                            skd_layernorm_backward_rows(px + o, pg + o, pw, ps + 2 * r.lowerBound, pdx + o, r.count, d)
                        }
                    }
                }
            }
        }
    }

    /// x / max(||x||_2, eps) along `axis` (PyTorch's F.normalize).
    public func l2Normalized(axis: Int, eps: Float = 1e-12) -> Tensor {
        if let m = Tensor.metaResult([self], shape) { return m }
        let ax = normalizedAxis(axis)
        let outer = shape[..<ax].reduce(1, *), n = shape[ax], inner = shape[(ax + 1)...].reduce(1, *)
        let x = self, px = pointer
        let out = Tensor.empty(shape)
        let po = out.pointer
        var norms = [Float](repeating: 0, count: outer * inner)
        norms.withUnsafeMutableBufferPointer { nb in
            let pn = nb.baseAddress!
            parallelFor(outer, grain: 1) { r in
                for o in r {
                    let base = o * n * inner
                    for i in 0..<inner { pn[o * inner + i] = 0 }
                    for j in 0..<n { for i in 0..<inner { let v = px[base + j * inner + i]; pn[o * inner + i] += v * v } }
                    for i in 0..<inner { pn[o * inner + i] = Swift.max(pn[o * inner + i].squareRoot(), eps) }
                    for j in 0..<n { for i in 0..<inner { po[base + j * inner + i] = px[base + j * inner + i] / pn[o * inner + i] } }
                }
            }
        }
        return out.record("l2_normalize", [x]) { g in
            let pg = g.pointer
            x.accumulateGrad { pdx in
                parallelFor(outer, grain: 1) { r in
                    for o in r {
                        let base = o * n * inner
                        for i in 0..<inner {
                            let nrm = norms[o * inner + i]
                            // Below eps the norm is a constant, so y = x / eps is linear.
                            let clamped = nrm <= eps
                            var dot: Float = 0
                            if !clamped { for j in 0..<n { dot += pg[base + j * inner + i] * po[base + j * inner + i] } }
                            for j in 0..<n {
                                let k = base + j * inner + i
                                pdx[k] += clamped ? pg[k] / eps : (pg[k] - po[k] * dot) / nrm
                            }
                        }
                    }
                }
            }
        }
    }
}
