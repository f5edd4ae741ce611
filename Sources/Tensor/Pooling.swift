import Foundation

extension Tensor {
    /// Max pooling over the last two axes of [N, C, H, W] (padding counts as -inf).
    public func maxPool2d(kernel: Int, stride: Int? = nil, padding: Int = 0) -> Tensor {
        let s = stride ?? kernel
        let (n, c, h, w) = (shape[0], shape[1], shape[2], shape[3])
        let ho = (h + 2 * padding - kernel) / s + 1, wo = (w + 2 * padding - kernel) / s + 1
        if let m = Tensor.metaResult([self], [n, c, ho, wo]) { return m }
        let out = Tensor.empty([n, c, ho, wo])
        var argmax = [Int32](repeating: -1, count: out.count)
        let px = pointer, po = out.pointer
        argmax.withUnsafeMutableBufferPointer { am in
            let pam = am.baseAddress!
            parallelFor(n * c, grain: 8) { r in
                for plane in r {
                    let xin = px + plane * h * w
                    for oy in 0..<ho { for ox in 0..<wo {
                        var best = -Float.infinity, bi: Int32 = -1
                        for ky in 0..<kernel {
                            let iy = oy * s - padding + ky
                            if iy < 0 || iy >= h { continue }
                            for kx in 0..<kernel {
                                let ix = ox * s - padding + kx
                                if ix < 0 || ix >= w { continue }
                                let v = xin[iy * w + ix]
                                if bi < 0 || v > best { best = v; bi = Int32(iy * w + ix) }
                            }
                        }
                        let o = plane * ho * wo + oy * wo + ox
                        po[o] = best; pam[o] = bi
                    } }
                }
            }
        }
        return out.record("max_pool2d", [self]) { g in
            self.accumulateGrad { pd in
                let pg = g.pointer
                parallelFor(n * c, grain: 8) { r in
                    for plane in r {
                        for i in 0..<(ho * wo) {
                            let a = argmax[plane * ho * wo + i]
                            if a >= 0 { pd[plane * h * w + Int(a)] += pg[plane * ho * wo + i] }
                        }
                    }
                }
            }
        }
    }

    /// Average pooling (PyTorch defaults: zero padding counted in the divisor).
    public func avgPool2d(kernel: Int, stride: Int? = nil, padding: Int = 0) -> Tensor {
        let s = stride ?? kernel
        let (n, c, h, w) = (shape[0], shape[1], shape[2], shape[3])
        let ho = (h + 2 * padding - kernel) / s + 1, wo = (w + 2 * padding - kernel) / s + 1
        let inv = 1 / Float(kernel * kernel)
        if let m = Tensor.metaResult([self], [n, c, ho, wo]) { return m }
        let out = Tensor.empty([n, c, ho, wo])
        let px = pointer, po = out.pointer
        parallelFor(n * c, grain: 8) { r in
            for plane in r {
                let xin = px + plane * h * w
                for oy in 0..<ho { for ox in 0..<wo {
                    var acc: Float = 0
                    for ky in 0..<kernel {
                        let iy = oy * s - padding + ky
                        if iy < 0 || iy >= h { continue }
                        for kx in 0..<kernel {
                            let ix = ox * s - padding + kx
                            if ix >= 0 && ix < w { acc += xin[iy * w + ix] }
                        }
                    }
                    po[plane * ho * wo + oy * wo + ox] = acc * inv
                } }
            }
        }
        return out.record("avg_pool2d", [self]) { g in
            self.accumulateGrad { pd in
                let pg = g.pointer
                parallelFor(n * c, grain: 8) { r in
                    for plane in r {
                        let d = pd + plane * h * w
                        for oy in 0..<ho { for ox in 0..<wo {
                            let gv = pg[plane * ho * wo + oy * wo + ox] * inv
                            for ky in 0..<kernel {
                                let iy = oy * s - padding + ky
                                if iy < 0 || iy >= h { continue }
                                for kx in 0..<kernel {
                                    let ix = ox * s - padding + kx
                                    if ix >= 0 && ix < w { d[iy * w + ix] += gv }
                                }
                            }
                        } }
                    }
                }
            }
        }
    }

    /// Adaptive average pooling to [outH, outW] with PyTorch's bin edges
    /// (start = floor(i*H/out), end = ceil((i+1)*H/out)).
    public func adaptiveAvgPool2d(_ outH: Int, _ outW: Int) -> Tensor {
        let (n, c, h, w) = (shape[0], shape[1], shape[2], shape[3])
        func bins(_ size: Int, _ out: Int) -> [(Int, Int)] {
            (0..<out).map { i in (i * size / out, ((i + 1) * size + out - 1) / out) }
        }
        let by = bins(h, outH), bx = bins(w, outW)
        if let m = Tensor.metaResult([self], [n, c, outH, outW]) { return m }
        let out = Tensor.empty([n, c, outH, outW])
        let px = pointer, po = out.pointer
        parallelFor(n * c, grain: 8) { r in
            for plane in r {
                let xin = px + plane * h * w
                for (oy, (y0, y1)) in by.enumerated() { for (ox, (x0, x1)) in bx.enumerated() {
                    var acc: Float = 0
                    for y in y0..<y1 { for x in x0..<x1 { acc += xin[y * w + x] } }
                    po[(plane * outH + oy) * outW + ox] = acc / Float((y1 - y0) * (x1 - x0))
                } }
            }
        }
        return out.record("adaptive_avg_pool2d", [self]) { g in
            self.accumulateGrad { pd in
                let pg = g.pointer
                parallelFor(n * c, grain: 8) { r in
                    for plane in r {
                        let d = pd + plane * h * w
                        for (oy, (y0, y1)) in by.enumerated() { for (ox, (x0, x1)) in bx.enumerated() {
                            let gv = pg[(plane * outH + oy) * outW + ox] / Float((y1 - y0) * (x1 - x0))
                            for y in y0..<y1 { for x in x0..<x1 { d[y * w + x] += gv } }
                        } }
                    }
                }
            }
        }
    }
}
