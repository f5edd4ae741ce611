import CDNNL
import Foundation

extension Tensor {
    /// conv2d through oneDNN, forward and both gradients: x NCHW, or [N, H, W, C] when
    /// `channelsLast` (the result likewise). The batch is split over the loop threads, one
    /// single-threaded primitive call per chunk (see DNNL); the weight gradient's chunk
    /// partials are added in chunk order, and the bias gradient is the native plane sums.
    func dnnlConv2d(weight: Tensor, bias: Tensor?, _ geo: ConvGeometry, channelsLast: Bool) -> Tensor {
        let x = self
        let out = Tensor.empty(channelsLast ? [geo.n, geo.ho, geo.wo, geo.cout] : [geo.n, geo.cout, geo.ho, geo.wo])
        let chunks = DNNLConvChunks(geo, channelsLast: channelsLast, bias: bias != nil)
        let imageIn = geo.cin * geo.h * geo.w, imageOut = geo.cout * geo.spatialOut
        let px = x.pointer, pw = weight.pointer, po = out.pointer, pb = bias.map { UnsafeMutableRawPointer($0.pointer) }
        // The weights in each plan's layout, reordered once for all chunks.
        let forwardWeights = chunks.plans.mapValues { $0.weights.inner(of: pw) }
        parallelChunks(geo.n, chunks: chunks.count) { _, images in
            let plan = chunks.plans[images.count]!
            let xs = plan.src.inner(of: px + images.lowerBound * imageIn)
            let ys = plan.dst.buffer(for: po + images.lowerBound * imageOut)
            var args = [(DNNL_ARG_SRC, plan.src.inner, xs.pointer), (DNNL_ARG_WEIGHTS, plan.weights.inner, forwardWeights[images.count]!.pointer),
                        (DNNL_ARG_DST, plan.dst.inner, ys.pointer)]
            if let pb { args.append((DNNL_ARG_BIAS, plan.bias, pb)) }
            plan.forward.run(args)
            plan.dst.deliver(ys, to: po + images.lowerBound * imageOut)
            xs.release()
        }
        for w in forwardWeights.values { w.release() }

        return out.record("conv2d_dnnl", [x, weight] + (bias.map { [$0] } ?? [])) { g in
            let pg = g.pointer
            if let bias, bias.requiresGrad {
                bias.accumulateGrad { pdb in
                    if channelsLast { addColumnSums(pg, rows: geo.n * geo.spatialOut, cols: geo.cout, into: pdb) }
                    else { addPlaneSums(pg, images: geo.n, channels: geo.cout, plane: geo.spatialOut, into: pdb) }
                }
            }
            let data = x.requiresGrad ? chunks.plans.mapValues { $0.backwardData() } : [:]
            let weightGrads = weight.requiresGrad ? chunks.plans.mapValues { $0.backwardWeights() } : [:]
            if data.isEmpty && weightGrads.isEmpty { return }
            // Written straight into a fresh input gradient; added into one that exists.
            let dxFresh = x.requiresGrad && x.grad == nil
            let dx = x.requiresGrad ? x.grad ?? Tensor.empty(x.shape) : nil, pdx = dx?.pointer
            let dataWeights = data.mapValues { $0.weights.inner(of: pw) }
            let partials = (0..<chunks.count).map { ci in
                weightGrads[chunks.size(ci)].map { DNNLBuffer(bytes: $0.diffWeights.innerBytes) }
            }
            parallelChunks(geo.n, chunks: chunks.count) { ci, images in
                let gImage = pg + images.lowerBound * imageOut
                var gData: DNNLBuffer?
                if let bd = data[images.count], let pdx {
                    let gs = bd.diffDst.inner(of: gImage)
                    let port = dxFresh ? bd.diffSrc : bd.diffSrcAdded
                    let dxs = port.buffer(for: pdx + images.lowerBound * imageIn)
                    bd.primitive.run([(DNNL_ARG_DIFF_DST, bd.diffDst.inner, gs.pointer), (DNNL_ARG_WEIGHTS, bd.weights.inner, dataWeights[images.count]!.pointer),
                                      (DNNL_ARG_DIFF_SRC, port.inner, dxs.pointer)])
                    port.deliver(dxs, to: pdx + images.lowerBound * imageIn)
                    gData = gs
                }
                if let bw = weightGrads[images.count], let part = partials[ci] {
                    let xs = bw.src.inner(of: px + images.lowerBound * imageIn)
                    // The output gradient reordered for the input gradient serves here too when the layouts agree.
                    let shared = gData != nil && data[images.count]!.diffDst.sharesInnerLayout(with: bw.diffDst)
                    let gs = shared ? gData! : bw.diffDst.inner(of: gImage)
                    bw.primitive.run([(DNNL_ARG_SRC, bw.src.inner, xs.pointer), (DNNL_ARG_DIFF_DST, bw.diffDst.inner, gs.pointer),
                                      (DNNL_ARG_DIFF_WEIGHTS, bw.diffWeights.inner, part.pointer)])
                    xs.release()
                    if !shared { gs.release() }
                }
                gData?.release()
            }
            for w in dataWeights.values { w.release() }
            if dxFresh { x.grad = dx }
            if !weightGrads.isEmpty {
                weight.accumulateGrad { pdw in
                    for ci in 0..<chunks.count {
                        if let part = partials[ci] { weightGrads[chunks.size(ci)]!.diffWeights.deliver(part, to: pdw) }
                    }
                }
            }
        }
    }
}

/// A batch split over the loop threads as parallelChunks splits it, and the plan of each
/// chunk size (at most two: the full chunks' and the last one's).
struct DNNLConvChunks {
    let count: Int
    private let per: Int, n: Int
    let plans: [Int: DNNLConvPlan]

    init(_ geo: ConvGeometry, channelsLast: Bool, bias: Bool) {
        n = geo.n
        count = parallelChunkCount(geo.n)
        per = (geo.n + count - 1) / count
        var plans: [Int: DNNLConvPlan] = [:]
        for ci in 0..<count where ci * per < geo.n {
            let size = Swift.min(geo.n, ci * per + per) - ci * per
            if plans[size] == nil {
                plans[size] = DNNLConvPlan.plan(.init(n: size, cin: geo.cin, h: geo.h, w: geo.w, cout: geo.cout, kh: geo.kh, kw: geo.kw,
                                                      stride: geo.stride, padding: geo.padding, groups: geo.groups,
                                                      channelsLast: channelsLast, bias: bias))
            }
        }
        self.plans = plans
    }

    /// Images in chunk `ci` (0 for a chunk past the end).
    func size(_ ci: Int) -> Int { Swift.max(0, Swift.min(n, ci * per + per) - ci * per) }
}

/// The oneDNN primitives of one convolution at one batch size (a chunk of a batch),
/// created on first use and kept for the process. The backward primitives wait for the
/// first backward pass (a frozen teacher's convs never need them).
final class DNNLConvPlan {
    struct Key: Hashable {
        let n, cin, h, w, cout, kh, kw, stride, padding, groups: Int
        /// x and the result are [N, H, W, C] (else NCHW).
        let channelsLast: Bool
        let bias: Bool
    }

    struct BackwardData {
        let primitive: DNNLPrimitive
        let diffDst, weights: DNNLPort
        /// Into a fresh input gradient (`diffSrc`), or added into one that exists.
        let diffSrc, diffSrcAdded: DNNLPort
    }

    struct BackwardWeights {
        let primitive: DNNLPrimitive
        let src, diffDst: DNNLPort
        /// Added into the weight's gradient.
        let diffWeights: DNNLPort
    }

    let key: Key
    let forward: DNNLPrimitive
    let src, weights, dst: DNNLPort
    /// The bias's layout; zeroed (format undefined: oneDNN's "no bias") without one.
    let bias: dnnl_memory_desc_t
    private var data: BackwardData?
    private var weightGradient: BackwardWeights?

    private static let lock = NSLock()
    nonisolated(unsafe) private static var plans: [Key: DNNLConvPlan] = [:]

    /// The plan of `key`, created on first use.
    static func plan(_ key: Key) -> DNNLConvPlan {
        lock.lock(); defer { lock.unlock() }
        if let p = plans[key] { return p }
        let p = DNNLConvPlan(key)
        plans[key] = p
        return p
    }

    private init(_ key: Key) {
        self.key = key
        DNNL.useOneThread()
        bias = key.bias ? DNNL.desc([key.cout], dnnl_a) : dnnl_memory_desc_t()
        var s = key.layout(key.srcDims), d = key.layout(key.dstDims), w = key.weightLayout(user: false), b = bias
        var op = dnnl_convolution_desc_t()
        DNNL.check(dnnl_convolution_forward_desc_init(&op, dnnl_forward_training, dnnl_convolution_direct, &s, &w, &b, &d,
                                                      key.strideDims, key.paddingDims, key.paddingDims), "describing the convolution \(key)")
        let f = DNNLPrimitive(Self.descriptor(&op, hint: nil))
        forward = f
        src = DNNLPort(user: key.layout(key.srcDims, user: true), inner: f.desc(dnnl_query_src_md), .input)
        weights = DNNLPort(user: key.weightLayout(user: true), inner: f.desc(dnnl_query_weights_md), .input)
        dst = DNNLPort(user: key.layout(key.dstDims, user: true), inner: f.desc(dnnl_query_dst_md), .output)
    }

    private static func descriptor(_ op: inout dnnl_convolution_desc_t, hint: DNNLPrimitive?) -> dnnl_primitive_desc_t {
        let attr = DNNL.attributes()
        defer { dnnl_primitive_attr_destroy(attr) }
        var pd: dnnl_primitive_desc_t?
        DNNL.check(dnnl_primitive_desc_create(&pd, &op, attr, DNNL.engine, hint?.descriptor), "choosing a convolution implementation")
        return pd!
    }

    /// The input-gradient primitive (created on first use).
    func backwardData() -> BackwardData {
        Self.lock.lock(); defer { Self.lock.unlock() }
        if let data { return data }
        DNNL.useOneThread()
        var ds = key.layout(key.srcDims), dd = key.layout(key.dstDims), w = key.weightLayout(user: false)
        var op = dnnl_convolution_desc_t()
        DNNL.check(dnnl_convolution_backward_data_desc_init(&op, dnnl_convolution_direct, &ds, &w, &dd, key.strideDims, key.paddingDims, key.paddingDims),
                   "describing the input gradient of \(key)")
        let p = DNNLPrimitive(Self.descriptor(&op, hint: forward))
        let inner = p.desc(dnnl_query_diff_src_md)
        let made = BackwardData(primitive: p,
                                diffDst: DNNLPort(user: dst.user, inner: p.desc(dnnl_query_diff_dst_md), .input),
                                weights: DNNLPort(user: weights.user, inner: p.desc(dnnl_query_weights_md), .input),
                                diffSrc: DNNLPort(user: src.user, inner: inner, .output),
                                diffSrcAdded: DNNLPort(user: src.user, inner: inner, .accumulated))
        data = made
        return made
    }

    /// The weight-gradient primitive (created on first use); without the bias, whose
    /// gradient is the engine's plane sums.
    func backwardWeights() -> BackwardWeights {
        Self.lock.lock(); defer { Self.lock.unlock() }
        if let weightGradient { return weightGradient }
        DNNL.useOneThread()
        var s = key.layout(key.srcDims), dd = key.layout(key.dstDims), dw = key.weightLayout(user: false), noBias = dnnl_memory_desc_t()
        var op = dnnl_convolution_desc_t()
        DNNL.check(dnnl_convolution_backward_weights_desc_init(&op, dnnl_convolution_direct, &s, &dw, &noBias, &dd,
                                                               key.strideDims, key.paddingDims, key.paddingDims),
                   "describing the weight gradient of \(key)")
        let p = DNNLPrimitive(Self.descriptor(&op, hint: forward))
        let made = BackwardWeights(primitive: p,
                                   src: DNNLPort(user: src.user, inner: p.desc(dnnl_query_src_md), .input),
                                   diffDst: DNNLPort(user: dst.user, inner: p.desc(dnnl_query_diff_dst_md), .input),
                                   diffWeights: DNNLPort(user: weights.user, inner: p.desc(dnnl_query_diff_weights_md), .accumulated))
        weightGradient = made
        return made
    }
}

extension DNNLConvPlan.Key {
    var srcDims: [Int] { [n, cin, h, w] }
    var dstDims: [Int] { [n, cout, (h + 2 * padding - kh) / stride + 1, (w + 2 * padding - kw) / stride + 1] }
    var strideDims: [dnnl_dim_t] { [dnnl_dim_t(stride), dnnl_dim_t(stride)] }
    var paddingDims: [dnnl_dim_t] { [dnnl_dim_t(padding), dnnl_dim_t(padding)] }

    /// An activation's layout: the tensor's own (`user`), or the primitive's choice (blocked,
    /// e.g. nChw8c under AVX2), except that channels-last activations stay as they are
    /// (oneDNN's kernels read NHWC directly).
    func layout(_ dims: [Int], user: Bool = false) -> dnnl_memory_desc_t {
        DNNL.desc(dims, channelsLast ? dnnl_nhwc : user ? dnnl_nchw : dnnl_format_tag_any)
    }

    /// The weight [Cout, Cin/groups, kh, kw] is oneDNN's goihw with groups split off.
    func weightLayout(user: Bool) -> dnnl_memory_desc_t {
        let dims = groups == 1 ? [cout, cin, kh, kw] : [groups, cout / groups, cin / groups, kh, kw]
        return DNNL.desc(dims, !user ? dnnl_format_tag_any : groups == 1 ? dnnl_oihw : dnnl_goihw)
    }
}
