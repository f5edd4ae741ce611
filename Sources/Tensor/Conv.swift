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

/// How an ungrouped or grouped (not depthwise) conv runs on one image.
enum ConvAlgorithm {
    /// im2col of the image and one GEMM per group.
    case gemm
    /// The direct 3x3 kernel of conv3x3.c (stride 1, pad 1, one group).
    case direct3x3
}

extension ConvGeometry {
    var isDirect3x3Shape: Bool { kh == 3 && kw == 3 && stride == 1 && padding == 1 && groups == 1 }
    /// The direct kernel wins where the GEMM is packing-bound: few output channels (each
    /// im2col column is reused only cout times) on planes of at least 8x8 (on smaller
    /// planes the padded columns it computes and drops are a large share).
    var prefersDirect3x3: Bool { directConvEnabled && isDirect3x3Shape && cout <= 64 && h >= 8 && w >= 8 }
}

/// SCALEKD_DIRECT_CONV=0 sends every 3x3 conv through im2col + GEMM (A/B benchmarks).
let directConvEnabled = ProcessInfo.processInfo.environment["SCALEKD_DIRECT_CONV"] != "0"

/// The im2col columns of one image at a time, in a buffer of one thread's chunk; a 1x1
/// stride-1 conv reads the image itself.
struct ImageColumns {
    let geo: ConvGeometry
    let buffer: UnsafeMutablePointer<Float>?
    init(_ geo: ConvGeometry) {
        self.geo = geo.oneImage
        buffer = geo.isPointwise ? nil : .allocate(capacity: geo.cin * geo.kk * geo.spatialOut)
    }
    func of(_ image: UnsafePointer<Float>) -> UnsafePointer<Float> {
        guard let buffer else { return image }
        im2col(image, geo, buffer)
        return UnsafePointer(buffer)
    }
    func deallocate() { buffer?.deallocate() }
}

/// The direct 3x3 kernel (conv3x3.c): weights packed for its register tile (the forward
/// conv, or the transposed conv that maps the output gradient to the input gradient), and
/// images copied into zero-padded planes.
struct Direct3x3 {
    let packed: UnsafeMutablePointer<Float>
    let cin, cout, h, w: Int
    init(weight: UnsafePointer<Float>, _ geo: ConvGeometry, transposed: Bool) {
        (cin, cout, h, w) = transposed ? (geo.cout, geo.cin, geo.h, geo.w) : (geo.cin, geo.cout, geo.h, geo.w)
        packed = .allocate(capacity: skd_conv3x3_packed_count(Int32(cout), Int32(cin)))
        skd_conv3x3_pack_weights(weight, Int32(geo.cout), Int32(geo.cin), transposed ? 1 : 0, packed)
    }
    /// out (+)= this conv of an image already padded; bias only when writing.
    func apply(padded: UnsafePointer<Float>, bias: UnsafePointer<Float>?, accumulate: Bool, _ out: UnsafeMutablePointer<Float>) {
        skd_conv3x3_image(padded, Int32(cin), Int32(h), Int32(w), packed, Int32(cout), bias, accumulate ? 1 : 0, out)
    }
    func deallocate() { packed.deallocate() }

    /// Room for `channels` padded planes of an h x w image.
    static func paddedBuffer(channels: Int, _ geo: ConvGeometry) -> UnsafeMutablePointer<Float> {
        .allocate(capacity: channels * skd_conv3x3_plane_stride(Int32(geo.h), Int32(geo.w)))
    }
    static func pad(_ image: UnsafePointer<Float>, channels: Int, _ geo: ConvGeometry, into padded: UnsafeMutablePointer<Float>) {
        skd_conv3x3_pad_image(image, Int32(channels), Int32(geo.h), Int32(geo.w), padded)
    }
    /// The weight gradient's direct kernel pays a lane sum per (channel pair, kernel row);
    /// on planes under 16x16 that outweighs its sweep and im2col + GEMM is faster.
    static func prefersDirectWeightGradient(_ geo: ConvGeometry) -> Bool { geo.h * geo.w >= 256 }
}

extension Tensor {
    /// 2-D convolution (cross-correlation, as PyTorch): x [N, Cin, H, W], weight
    /// [Cout, Cin/groups, kh, kw], bias [Cout]. On oneDNN where ConvBackend says so; else
    /// depthwise convs run a direct loop, small 3x3 stride-1 convs a direct kernel, every
    /// other conv im2col per image and one GEMM per image and group.
    public func conv2d(weight: Tensor, bias: Tensor?, stride: Int = 1, padding: Int = 0, groups: Int = 1) -> Tensor {
        conv2d(weight: weight, bias: bias, stride: stride, padding: padding, groups: groups, algorithm: nil)
    }

    /// `algorithm` nil picks by shape; tests force one to compare the two.
    func conv2d(weight: Tensor, bias: Tensor?, stride: Int, padding: Int, groups: Int, algorithm requested: ConvAlgorithm?) -> Tensor {
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
        if requested == nil && ConvBackend.choice(for: geo, channelsLast: false) == .dnnl {
            return dnnlConv2d(weight: weight, bias: bias, geo, channelsLast: false)
        }
        if groups == cin && cout == cin && requested == nil { return depthwiseConv2d(weight: weight, bias: bias, geo) }
        let algorithm = requested ?? (geo.prefersDirect3x3 ? .direct3x3 : .gemm)
        precondition(algorithm == .gemm || geo.isDirect3x3Shape, "conv2d: the direct kernel is 3x3, stride 1, pad 1, one group")
        let x = self
        let out = Tensor.empty([n, cout, ho, wo])
        // One image at a time, images spread over the loop threads: each image's result
        // is written into its NCHW output block directly, and its scratch (im2col columns
        // or padded planes) stays small enough for the cache.
        let so = geo.spatialOut, imageIn = cin * h * w, imageOut = cout * so
        let rowsC = geo.cinPerGroup * geo.kk, coutG = geo.coutPerGroup
        let px = x.pointer, pw = weight.pointer, po = out.pointer, pb = bias?.pointer
        if algorithm == .direct3x3 {
            let kernel = Direct3x3(weight: pw, geo, transposed: false)
            defer { kernel.deallocate() }
            parallelChunks(n, chunks: parallelChunkCount(n)) { _, images in
                let padded = Direct3x3.paddedBuffer(channels: cin, geo)
                defer { padded.deallocate() }
                for b in images {
                    Direct3x3.pad(px + b * imageIn, channels: cin, geo, into: padded)
                    kernel.apply(padded: padded, bias: pb, accumulate: false, po + b * imageOut)
                }
            }
        } else {
            parallelChunks(n, chunks: parallelChunkCount(n)) { _, images in
                let columns = ImageColumns(geo)
                defer { columns.deallocate() }
                for b in images {
                    let ob = po + b * imageOut
                    if let pb { for c in 0..<cout { (ob + c * so).update(repeating: pb[c], count: so) } }
                    let src = columns.of(px + b * imageIn)
                    for gi in 0..<groups {
                        BLAS.sgemm(m: coutG, n: so, k: rowsC, a: pw + gi * coutG * rowsC, lda: rowsC,
                                   b: src + gi * rowsC * so, ldb: so,
                                   beta: pb == nil ? 0 : 1, c: ob + gi * coutG * so, ldc: so)
                    }
                }
            }
        }
        return out.record(algorithm == .direct3x3 ? "conv2d_direct3x3" : "conv2d", [x, weight] + (bias.map { [$0] } ?? [])) { g in
            let pg = g.pointer
            if let bias, bias.requiresGrad {
                bias.accumulateGrad { pdb in addPlaneSums(pg, images: n, channels: cout, plane: so, into: pdb) }
            }
            let pdw = weight.requiresGrad ? weight.gradBuffer().pointer : nil
            let pdx = x.requiresGrad ? x.gradBuffer().pointer : nil
            if pdw == nil && pdx == nil { return }
            let direct = algorithm == .direct3x3
            let inputGradKernel = pdx != nil && direct ? Direct3x3(weight: pw, geo, transposed: true) : nil
            defer { inputGradKernel?.deallocate() }
            let directWeightGrad = pdw != nil && direct && Direct3x3.prefersDirectWeightGradient(geo)
            // Each chunk of images sums its weight gradient into its own buffer, added in
            // chunk order (deterministic for a thread count). The GEMM path keeps it
            // transposed ([group][rowsC, coutG]: col x dOut^T runs ~1.2-1.6x faster in
            // OpenBLAS than dOut x col^T for these thin shapes, e.g. 48 vs 30 GFLOP/s at
            // cout 16, 32x32); the direct kernel writes the weight's own layout.
            let chunks = parallelChunkCount(n)
            let dwPartials = ChunkPartials(chunks: pdw == nil ? 0 : chunks, width: cout * rowsC)
            parallelChunks(n, chunks: chunks) { ci, images in
                // The columns are rebuilt rather than kept from the forward pass: a whole
                // network's im2col buffers would dominate memory.
                let columns = pdw != nil && !directWeightGrad || pdx != nil && !direct ? ImageColumns(geo) : nil
                let paddedG = direct && (pdx != nil || directWeightGrad) ? Direct3x3.paddedBuffer(channels: cout, geo) : nil
                let paddedX = directWeightGrad ? Direct3x3.paddedBuffer(channels: cin, geo) : nil
                defer { columns?.deallocate(); paddedG?.deallocate(); paddedX?.deallocate() }
                for b in images {
                    let gb = pg + b * imageOut
                    if let paddedG { Direct3x3.pad(gb, channels: cout, geo, into: paddedG) }
                    if pdw != nil {
                        let part = dwPartials.buffer(ci)
                        if let paddedX, let paddedG {
                            Direct3x3.pad(px + b * imageIn, channels: cin, geo, into: paddedX)
                            skd_conv3x3_weight_grad_image(paddedX, Int32(cin), paddedG, Int32(cout), Int32(h), Int32(w), part)
                        } else if let columns {
                            let src = columns.of(px + b * imageIn)
                            for gi in 0..<groups {
                                BLAS.sgemm(transB: true, m: rowsC, n: coutG, k: so, a: src + gi * rowsC * so, lda: so,
                                           b: gb + gi * coutG * so, ldb: so, beta: 1, c: part + gi * rowsC * coutG, ldc: coutG)
                            }
                        }
                    }
                    guard let pdx else { continue }
                    if let inputGradKernel, let paddedG {
                        inputGradKernel.apply(padded: paddedG, bias: nil, accumulate: true, pdx + b * imageIn)
                    } else if let columns {
                        // dcol = W^T dOut, then scattered back (col2im); a 1x1 conv adds straight into dx.
                        let dst = columns.buffer ?? pdx + b * imageIn
                        for gi in 0..<groups {
                            BLAS.sgemm(transA: true, m: rowsC, n: so, k: coutG, a: pw + gi * coutG * rowsC, lda: rowsC,
                                       b: gb + gi * coutG * so, ldb: so, beta: columns.buffer == nil ? 1 : 0,
                                       c: dst + gi * rowsC * so, ldc: so)
                        }
                        if let col = columns.buffer { col2imAdd(UnsafePointer(col), geo.oneImage, pdx + b * imageIn) }
                    }
                }
            }
            if let pdw {
                if directWeightGrad { dwPartials.addInOrder(into: pdw) }
                for ci in 0..<dwPartials.chunks where !directWeightGrad {
                    for gi in 0..<groups {
                        addTransposed(dwPartials.buffer(ci) + gi * rowsC * coutG, rows: rowsC, cols: coutG, into: pdw + gi * coutG * rowsC)
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
                bias.accumulateGrad { pdb in addPlaneSums(pg, images: geo.n, channels: c, plane: ho * wo, into: pdb) }
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

    /// Depthwise conv of a channels-last batch [N, H, W, C] with a conv weight [C, 1, k, k]
    /// (k odd), stride 1, padding k/2, giving [N, H, W, C]: ConvNeXt's blocks, whose layer
    /// norm and MLP are channels-last too, so they need no NCHW <-> NHWC copies (which PyTorch
    /// avoids with strided views and channels-last kernels). On oneDNN where ConvBackend says so.
    public func depthwiseConv2dChannelsLast(weight: Tensor, bias: Tensor?) -> Tensor {
        let k = weight.rank == 4 ? weight.shape[2] : 0
        precondition(rank == 4 && weight.shape == [shape[3], 1, k, k] && k % 2 == 1 && (bias == nil || bias!.shape == [shape[3]]),
                     "depthwiseConv2dChannelsLast: x \(shape) [N, H, W, C] needs a weight [C, 1, k, k] with k odd, got \(weight.shape)")
        let (n, h, w, c) = (shape[0], shape[1], shape[2], shape[3])
        let inputs = [self, weight] + (bias.map { [$0] } ?? [])
        if let m = Tensor.metaResult(inputs, shape, macs: count * k * k) { return m }
        let geo = ConvGeometry(n: n, cin: c, h: h, w: w, cout: c, kh: k, kw: k, stride: 1, padding: k / 2, groups: c, ho: h, wo: w)
        if ConvBackend.choice(for: geo, channelsLast: true) == .dnnl { return dnnlConv2d(weight: weight, bias: bias, geo, channelsLast: true) }
        let x = self, out = Tensor.empty(shape), image = h * w * c, taps = k * k
        // The kernel taps-major, [k*k][C], so every tap is a contiguous row of channels.
        let packed = Storage(count: taps * c, zeroed: false)
        let pk = packed.pointer, pw = weight.pointer
        for ch in 0..<c { for t in 0..<taps { pk[t * c + ch] = pw[ch * taps + t] } }
        let px = x.pointer, po = out.pointer, pb = bias?.pointer
        let (ih, iw, ic, ik) = (Int32(h), Int32(w), Int32(c), Int32(k))
        parallelForEach(n) { b in skd_dwconv_nhwc_forward(px + b * image, pk, pb, po + b * image, ih, iw, ic, ik) }
        return out.record("depthwise_conv2d_nhwc", inputs) { g in
            let pg = g.pointer
            if let bias, bias.requiresGrad {
                bias.accumulateGrad { pdb in addColumnSums(pg, rows: n * h * w, cols: c, into: pdb) }
            }
            if weight.requiresGrad {
                let partials = ChunkPartials(chunks: parallelChunkCount(n), width: taps * c)
                parallelChunks(n, chunks: partials.chunks) { ci, images in
                    for b in images {
                        skd_dwconv_nhwc_backward_weight(px + b * image, pg + b * image, partials.buffer(ci), ih, iw, ic, ik)
                    }
                }
                weight.accumulateGrad { pdw in
                    for ci in 0..<partials.chunks { addTransposed(partials.buffer(ci), rows: taps, cols: c, into: pdw) }
                }
            }
            if x.requiresGrad {
                _ = packed  // the packed kernel lives as long as this backward
                x.accumulateGrad { pdx in
                    parallelForEach(n) { b in skd_dwconv_nhwc_backward_input(pg + b * image, pk, pdx + b * image, ih, iw, ic, ik) }
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

/// The bias gradient of a conv: db[c] += the sum of plane c of every image, images in
/// order. Channels split over the threads: each still sees the serial loop's additions.
func addPlaneSums(_ g: UnsafePointer<Float>, images: Int, channels: Int, plane: Int, into db: UnsafeMutablePointer<Float>) {
    parallelFor(channels, grain: Swift.max(1, 65536 / Swift.max(1, images * plane))) { cs in
        for c in cs {
            for b in 0..<images {
                let s = g + (b * channels + c) * plane
                var acc: Float = 0
                for i in 0..<plane { acc += s[i] }
                db[c] += acc
            }
        }
    }
}

/// out[j * rows + i] += t[i * cols + j]: a weight-gradient partial kept transposed ([taps or
/// im2col rows][channels]) added into the weight's own layout.
private func addTransposed(_ t: UnsafePointer<Float>, rows: Int, cols: Int, into out: UnsafeMutablePointer<Float>) {
    for j in 0..<cols { for i in 0..<rows { out[j * rows + i] += t[i * cols + j] } }
}
