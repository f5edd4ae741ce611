import CNative
import Foundation

/// Geometry of a 2-D convolution over NCHW input.
struct ConvGeometry {
    let n, cin, h, w, cout, kh, kw, stride, padding, groups, ho, wo: Int
    var cinPerGroup: Int { cin / groups }
    var coutPerGroup: Int { cout / groups }
    var kk: Int { kh * kw }
    var spatialOut: Int { ho * wo }
}

extension Tensor {
    /// 2-D convolution (cross-correlation, as PyTorch): x [N, Cin, H, W], weight
    /// [Cout, Cin/groups, kh, kw], bias [Cout]. Depthwise convs run a direct loop;
    /// every other conv is im2col over the whole batch and one GEMM per group.
    public func conv2d(weight: Tensor, bias: Tensor?, stride: Int = 1, padding: Int = 0, groups: Int = 1) -> Tensor {
        precondition(rank == 4 && weight.rank == 4, "conv2d: input \(shape), weight \(weight.shape)")
        let (n, cin, h, w) = (shape[0], shape[1], shape[2], shape[3])
        let (cout, cpg, kh, kw) = (weight.shape[0], weight.shape[1], weight.shape[2], weight.shape[3])
        precondition(cin % groups == 0 && cout % groups == 0 && cpg == cin / groups,
                     "conv2d: \(cin) input channels, weight \(weight.shape), groups \(groups)")
        let ho = (h + 2 * padding - kh) / stride + 1, wo = (w + 2 * padding - kw) / stride + 1
        precondition(ho > 0 && wo > 0, "conv2d: kernel \(kh)x\(kw) larger than padded input \(h)x\(w)")
        if let m = Tensor.metaResult([self, weight], [n, cout, ho, wo], macs: n * cout * ho * wo * cpg * kh * kw) { return m }
        let geo = ConvGeometry(n: n, cin: cin, h: h, w: w, cout: cout, kh: kh, kw: kw, stride: stride,
                               padding: padding, groups: groups, ho: ho, wo: wo)
        if groups == cin && cout == cin { return depthwiseConv2d(weight: weight, bias: bias, geo) }
        let x = self
        let out = Tensor.empty([n, cout, ho, wo])
        let cols = geo.cin * geo.kk, spatial = n * geo.spatialOut
        var col: Storage? = Storage(count: cols * spatial, zeroed: false)
        im2col(x.pointer, geo, col!.pointer)
        var tmp: Storage? = Storage(count: cout * spatial, zeroed: false)
        for gi in 0..<groups {
            let rowsC = geo.cinPerGroup * geo.kk
            BLAS.sgemm(m: geo.coutPerGroup, n: spatial, k: rowsC,
                       a: weight.pointer + gi * geo.coutPerGroup * rowsC, lda: rowsC,
                       b: col!.pointer + gi * rowsC * spatial, ldb: spatial,
                       c: tmp!.pointer + gi * geo.coutPerGroup * spatial, ldc: spatial)
        }
        col = nil
        // [Cout, N, HoWo] -> [N, Cout, HoWo], adding the bias on the way.
        let so = geo.spatialOut, po = out.pointer, pt = tmp!.pointer, pb = bias?.pointer
        parallelFor(n * cout, grain: 16) { r in
            for idx in r {
                let b = idx / cout, c = idx % cout
                let d = po + idx * so, s = pt + (c * n + b) * so
                let bv = pb?[c] ?? 0
                for i in 0..<so { d[i] = s[i] + bv }
            }
        }
        tmp = nil
        return out.record("conv2d", [x, weight] + (bias.map { [$0] } ?? [])) { g in
            let col = Storage(count: cols * spatial, zeroed: false)
            // dOut [N, Cout, HoWo] -> gT [Cout, N*HoWo]
            let gT = Storage(count: cout * spatial, zeroed: false)
            let pg = g.pointer, pgt = gT.pointer
            parallelFor(n * cout, grain: 16) { r in
                for idx in r {
                    let b = idx / cout, c = idx % cout
                    (pgt + (c * n + b) * so).update(from: pg + idx * so, count: so)
                }
            }
            if let bias, bias.requiresGrad {
                bias.accumulateGrad { pdb in
                    for c in 0..<cout { var acc: Float = 0; let s = pgt + c * spatial; for i in 0..<spatial { acc += s[i] }; pdb[c] += acc }
                }
            }
            let rowsC = geo.cinPerGroup * geo.kk
            if weight.requiresGrad {
                // The columns are rebuilt rather than kept: memory for a whole network's
                // im2col buffers would dominate, and the copy is cheap next to the GEMM.
                im2col(x.pointer, geo, col.pointer)
                weight.accumulateGrad { pdw in
                    for gi in 0..<groups {
                        BLAS.sgemm(transB: true, m: geo.coutPerGroup, n: rowsC, k: spatial,
                                   a: pgt + gi * geo.coutPerGroup * spatial, lda: spatial,
                                   b: col.pointer + gi * rowsC * spatial, ldb: spatial,
                                   beta: 1, c: pdw + gi * geo.coutPerGroup * rowsC, ldc: rowsC)
                    }
                }
            }
            if x.requiresGrad {
                for gi in 0..<groups {
                    BLAS.sgemm(transA: true, m: rowsC, n: spatial, k: geo.coutPerGroup,
                               a: weight.pointer + gi * geo.coutPerGroup * rowsC, lda: rowsC,
                               b: pgt + gi * geo.coutPerGroup * spatial, ldb: spatial,
                               c: col.pointer + gi * rowsC * spatial, ldc: spatial)
                }
                x.accumulateGrad { pdx in col2imAdd(col.pointer, geo, pdx) }
            }
        }
    }

    /// Depthwise conv (groups == channels), one plane at a time in C over a zero-padded
    /// copy of the plane (no bounds checks in the inner loops; see depthwise.c).
    private func depthwiseConv2d(weight: Tensor, bias: Tensor?, _ geo: ConvGeometry) -> Tensor {
        let x = self
        let out = Tensor.empty([geo.n, geo.cout, geo.ho, geo.wo])
        let px = x.pointer, pw = weight.pointer, po = out.pointer, pb = bias?.pointer
        let (h, w, ho, wo, kh, kw, s, p, c) = (geo.h, geo.w, geo.ho, geo.wo, geo.kh, geo.kw, geo.stride, geo.padding, geo.cin)
        let (ih, iw, ikh, ikw, i_s, ip, iho, iwo) = (Int32(h), Int32(w), Int32(kh), Int32(kw), Int32(s), Int32(p), Int32(ho), Int32(wo))
        let scratchCount = (h + 2 * p) * (w + 2 * p)
        parallelFor(geo.n * c, grain: 4) { r in
            let scratch = UnsafeMutablePointer<Float>.allocate(capacity: scratchCount)
            defer { scratch.deallocate() }
            for plane in r {
                let ch = plane % c
                skd_dwconv_forward_plane(px + plane * h * w, pw + ch * kh * kw, pb?[ch] ?? 0, po + plane * ho * wo,
                                         ih, iw, ikh, ikw, i_s, ip, iho, iwo, scratch)
            }
        }
        return out.record("depthwise_conv2d", [x, weight] + (bias.map { [$0] } ?? [])) { g in
            let pg = g.pointer
            if let bias, bias.requiresGrad {
                bias.accumulateGrad { pdb in
                    for plane in 0..<(geo.n * c) { var acc: Float = 0; let gp = pg + plane * ho * wo; for i in 0..<(ho * wo) { acc += gp[i] }; pdb[plane % c] += acc }
                }
            }
            if weight.requiresGrad {
                // Per channel, the batch's planes are added in sample order (deterministic).
                weight.accumulateGrad { pdw in
                    parallelFor(c, grain: 1) { r in
                        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: scratchCount)
                        defer { scratch.deallocate() }
                        for ch in r {
                            for b in 0..<geo.n {
                                let plane = b * c + ch
                                skd_dwconv_backward_weight_plane(px + plane * h * w, pg + plane * ho * wo, pdw + ch * kh * kw,
                                                                 ih, iw, ikh, ikw, i_s, ip, iho, iwo, scratch)
                            }
                        }
                    }
                }
            }
            if x.requiresGrad {
                x.accumulateGrad { pdx in
                    parallelFor(geo.n * c, grain: 4) { r in
                        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: scratchCount)
                        defer { scratch.deallocate() }
                        for plane in r {
                            skd_dwconv_backward_input_plane(pg + plane * ho * wo, pw + (plane % c) * kh * kw, pdx + plane * h * w,
                                                            ih, iw, ikh, ikw, i_s, ip, iho, iwo, scratch)
                        }
                    }
                }
            }
        }
    }
}

extension ConvGeometry {
    /// The output columns ox whose input column ox*stride - padding + kx lies inside the
    /// image, as a half-open range (empty when none does): the loops below run over it
    /// without bounds checks, and zero-fill (im2col) or skip (col2im) the rest.
    func validColumns(_ kx: Int) -> Range<Int> {
        let lowNeed = padding - kx                       // ox*stride >= padding - kx
        let lo = lowNeed <= 0 ? 0 : (lowNeed + stride - 1) / stride
        let highNeed = w - 1 + padding - kx              // ox*stride <= w - 1 + padding - kx
        let hi = highNeed < 0 ? 0 : Swift.min(wo, highNeed / stride + 1)
        return lo < hi ? lo..<hi : 0..<0
    }
}

/// col[(c*kh + ky)*kw + kx][b*HoWo + oy*Wo + ox] = x[b, c, oy*s - p + ky, ox*s - p + kx] (0 outside).
func im2col(_ x: UnsafePointer<Float>, _ g: ConvGeometry, _ col: UnsafeMutablePointer<Float>) {
    let spatial = g.n * g.spatialOut
    parallelFor(g.cin * g.kk, grain: 1) { rows in
        for row in rows {
            let c = row / g.kk, ky = (row / g.kw) % g.kh, kx = row % g.kw
            let dst = col + row * spatial
            let valid = g.validColumns(kx), offset = kx - g.padding, st = g.stride
            for b in 0..<g.n {
                let src = x + (b * g.cin + c) * g.h * g.w
                let d = dst + b * g.spatialOut
                for oy in 0..<g.ho {
                    let iy = oy * st - g.padding + ky
                    let drow = d + oy * g.wo
                    if iy < 0 || iy >= g.h || valid.isEmpty { drow.update(repeating: 0, count: g.wo); continue }
                    let srow = src + iy * g.w + offset
                    if valid.lowerBound > 0 { drow.update(repeating: 0, count: valid.lowerBound) }
                    if st == 1 {
                        (drow + valid.lowerBound).update(from: srow + valid.lowerBound, count: valid.count)
                    } else {
                        for ox in valid { drow[ox] = srow[ox * st] }
                    }
                    if valid.upperBound < g.wo { (drow + valid.upperBound).update(repeating: 0, count: g.wo - valid.upperBound) }
                }
            }
        }
    }
}

/// The adjoint of im2col: dx[b, c, iy, ix] += col[...]. Parallel over input channels so
/// no two threads write the same element; each element's terms are added in (ky, kx) order.
func col2imAdd(_ col: UnsafePointer<Float>, _ g: ConvGeometry, _ dx: UnsafeMutablePointer<Float>) {
    let spatial = g.n * g.spatialOut
    parallelFor(g.cin, grain: 1) { chans in
        for c in chans {
            for ky in 0..<g.kh { for kx in 0..<g.kw {
                let src = col + ((c * g.kh + ky) * g.kw + kx) * spatial
                let valid = g.validColumns(kx), offset = kx - g.padding, st = g.stride
                if valid.isEmpty { continue }
                for b in 0..<g.n {
                    let d = dx + (b * g.cin + c) * g.h * g.w, s = src + b * g.spatialOut
                    for oy in 0..<g.ho {
                        let iy = oy * st - g.padding + ky
                        if iy < 0 || iy >= g.h { continue }
                        let drow = d + iy * g.w + offset, srow = s + oy * g.wo
                        if st == 1 {
                            for ox in valid { drow[ox] += srow[ox] }
                        } else {
                            for ox in valid { drow[ox * st] += srow[ox] }
                        }
                    }
                }
            } }
        }
    }
}
