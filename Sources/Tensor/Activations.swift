import CNative
import Foundation

extension Tensor {
    /// ReLU in C (the generic map called its derivative closure per element: ~8% of a
    /// ResNet-mini step). The backward reads the output (y > 0 iff x > 0).
    public func relu() -> Tensor {
        unaryC("relu", forward: { skd_relu_forward($0, $1, $2) },
               backward: { _, y, g, dx, n in skd_relu_backward(y, g, dx, n) })
    }

    /// GELU, erf form (PyTorch's default): x * Phi(x). The C kernel (CNative/kernels.c)
    /// evaluates erf within 1.5e-7 of the exact value, vectorised.
    public func gelu() -> Tensor {
        unaryC("gelu", forward: { skd_gelu_forward($0, $1, $2) },
               backward: { x, _, g, dx, n in skd_gelu_backward(x, g, dx, n) })
    }

    /// A unary op whose forward (x -> y) and backward (dx += f'(x, y) g) are C loops over
    /// contiguous ranges, run in parallel.
    private func unaryC(_ name: String, forward: (UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void,
                        backward: @escaping (_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ g: UnsafePointer<Float>,
                                             _ dx: UnsafeMutablePointer<Float>, _ n: Int) -> Void) -> Tensor {
        if let m = Tensor.metaResult([self], shape) { return m }
        let out = Tensor.empty(shape)
        let px = pointer, po = out.pointer
        parallelFor(count, grain: 1 << 14) { r in forward(px + r.lowerBound, po + r.lowerBound, r.count) }
        return out.record(name, [self]) { g in
            self.accumulateGrad { pd in
                let pg = g.pointer
                parallelFor(self.count, grain: 1 << 14) { r in
                    let i = r.lowerBound
                    backward(px + i, po + i, pg + i, pd + i, r.count)
                }
            }
        }
    }
}
