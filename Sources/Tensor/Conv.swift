import CNative
import Foundation

/// Geometry of a 2-D convolution over NCHW input.
struct ConvGeometry {
    let n, cin, h, w, cout, kh, kw, stride, padding, groups, ho, wo: Int
    var cinPerGroup: Int { cin / groups }
    var coutPerGroup: Int { cout / groups }
    var kk: Int { kh * kw }
    var spatialOut: Int { ho * wo }
    /// A 1x1 conv with stride 1 and no padding: the input image is its own im2col matrix.
    var isPointwise: Bool { kh == 1 && kw == 1 && stride == 1 && padding == 0 }
    /// The same convolution on a single image.
    var oneImage: ConvGeometry {
        ConvGeometry(n: 1, cin: cin, h: h, w: w, cout: cout, kh: kh, kw: kw, stride: stride,
                     padding: padding, groups: groups, ho: ho, wo: wo)
    }
}

extension Tensor {
    /// 2-D convolution (cross-correlation, as PyTorch): x [N, Cin, H, W], weight
    /// [Cout, Cin/groups, kh, kw], bias [Cout]. Depthwise convs run a direct loop;
    /// every other conv is im2col per image and one GEMM per image and group.
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
        // One image at a time, images spread over the loop threads: each image's GEMM
        // writes its NCHW output plane block directly (no [Cout, N*HoWo] layout copy) and
        // its im2col columns stay small enough for the cache.
        let one = geo.oneImage, so = geo.spatialOut, imageIn = cin * h * w, imageOut = cout * so
        let rowsC = geo.cinPerGroup * geo.kk, coutG = geo.coutPerGroup
        let direct = geo.isPointwise
        let px = x.pointer, pw = weight.pointer, po = out.pointer, pb = bias?.pointer
        parallelChunks(n, chunks: parallelChunkCount(n)) { _, images in
            let col = direct ? nil : UnsafeMutablePointer<Float>.allocate(capacity: cin * geo.kk * so)
            defer { col?.deallocate() }
            for b in images {
                let ob = po + b * imageOut
                if let pb { for c in 0..<cout { (ob + c * so).update(repeating: pb[c], count: so) } }
                let src: UnsafePointer<Float>
                if let col { im2col(px + b * imageIn, one, col); src = UnsafePointer(col) } else { src = UnsafePointer(px + b * imageIn) }
                for gi in 0..<groups {
                    BLAS.sgemm(m: coutG, n: so, k: rowsC, a: pw + gi * coutG * rowsC, lda: rowsC,
                               b: src + gi * rowsC * so, ldb: so,
                               beta: pb == nil ? 0 : 1, c: ob + gi * coutG * so, ldc: so)
                }
            }
        }
        return out.record("conv2d", [x, weight] + (bias.map { [$0] } ?? [])) { g in
            let pg = g.pointer
            if let bias, bias.requiresGrad {
                bias.accumulateGrad { pdb in
                    for b in 0..<n { for c in 0..<cout {
                        var acc: Float = 0; let s = pg + b * imageOut + c * so
                        for i in 0..<so { acc += s[i] }
                        pdb[c] += acc
                    } }
                }
            }
            let pdw = weight.requiresGrad ? weight.gradBuffer().pointer : nil
            let pdx = x.requiresGrad ? x.gradBuffer().pointer : nil
            if pdw == nil && pdx == nil { return }
            // Each chunk of images sums its weight gradient into its own buffer, transposed
            // ([group][rowsC, coutG]: col x dOut^T runs ~1.2-1.6x faster in OpenBLAS than
            // dOut x col^T for these thin shapes, e.g. 48 vs 30 GFLOP/s at cout 16, 32x32);
            // the buffers are added in chunk order (deterministic for a thread count).
            let chunks = parallelChunkCount(n)
            let dwPartials = (0..<(pdw == nil ? 0 : chunks)).map { _ in Storage(count: cout * rowsC) }
            parallelChunks(n, chunks: chunks) { ci, images in
                let col = direct ? nil : UnsafeMutablePointer<Float>.allocate(capacity: cin * geo.kk * so)
                defer { col?.deallocate() }
                for b in images {
                    let gb = pg + b * imageOut
                    if pdw != nil {
                        // The columns are rebuilt rather than kept from the forward pass:
                        // a whole network's im2col buffers would dominate memory.
                        let src: UnsafePointer<Float>
                        if let col { im2col(px + b * imageIn, one, col); src = UnsafePointer(col) } else { src = UnsafePointer(px + b * imageIn) }
                        let dwT = dwPartials[ci].pointer
                        for gi in 0..<groups {
                            BLAS.sgemm(transB: true, m: rowsC, n: coutG, k: so, a: src + gi * rowsC * so, lda: so,
                                       b: gb + gi * coutG * so, ldb: so, beta: 1, c: dwT + gi * rowsC * coutG, ldc: coutG)
                        }
                    }
                    if let pdx {
                        // dcol = W^T dOut, then scattered back (col2im); a 1x1 conv adds straight into dx.
                        let dst = col ?? pdx + b * imageIn
                        for gi in 0..<groups {
                            BLAS.sgemm(transA: true, m: rowsC, n: so, k: coutG, a: pw + gi * coutG * rowsC, lda: rowsC,
                                       b: gb + gi * coutG * so, ldb: so, beta: direct ? 1 : 0, c: dst + gi * rowsC * so, ldc: so)
                        }
                        if let col { col2imAdd(UnsafePointer(col), one, pdx + b * imageIn) }
                    }
                }
            }
            if let pdw {
                for part in dwPartials {
                    let t = part.pointer
                    for gi in 0..<groups {
                        let dwG = pdw + gi * coutG * rowsC, tG = t + gi * rowsC * coutG
                        for co in 0..<coutG { for r in 0..<rowsC { dwG[co * rowsC + r] += tG[r * coutG + co] } }
                    }
                }
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

/// col[(c*kh + ky)*kw + kx][oy*Wo + ox] = x[c, oy*s - p + ky, ox*s - p + kx] (0 outside), one image.
@inline(__always)
func im2col(_ x: UnsafePointer<Float>, _ g: ConvGeometry, _ col: UnsafeMutablePointer<Float>) {
    precondition(g.n == 1, "im2col runs per image")
    skd_im2col_image(x, Int32(g.cin), Int32(g.h), Int32(g.w), Int32(g.kh), Int32(g.kw), Int32(g.stride),
                     Int32(g.padding), Int32(g.ho), Int32(g.wo), col)
}

/// The adjoint of im2col for one image: dx[c, iy, ix] += col[...], terms added in (ky, kx) order.
@inline(__always)
func col2imAdd(_ col: UnsafePointer<Float>, _ g: ConvGeometry, _ dx: UnsafeMutablePointer<Float>) {
    precondition(g.n == 1, "col2im runs per image")
    skd_col2im_add_image(col, Int32(g.cin), Int32(g.h), Int32(g.w), Int32(g.kh), Int32(g.kw), Int32(g.stride),
                         Int32(g.padding), Int32(g.ho), Int32(g.wo), dx)
}
