import NN
import Tensor
import TestSupport
import XCTest

/// Proves the training loop (not speed): tiny models learn small synthetic tasks.
final class TrainingTests: XCTestCase {
    /// Points in 2-D labelled by which of 4 rotated quadrant-like sectors they fall in.
    func syntheticPoints(_ n: Int, seed: UInt64) -> (Tensor, [Int]) {
        var rng = RandomGenerator(seed: seed)
        var xs = [Float](), ys = [Int]()
        for _ in 0..<n {
            let a = rng.nextFloat() * 2 - 1, b = rng.nextFloat() * 2 - 1
            xs += [a, b]
            ys.append((a + 0.3 * b > 0 ? 1 : 0) + (b - 0.2 * a > 0 ? 2 : 0))
        }
        return (Tensor(shape: [n, 2], values: xs), ys)
    }

    func accuracy(_ logits: Tensor, _ labels: [Int]) -> Double {
        Double(zip(logits.argmaxLastAxis(), labels).filter { $0 == $1 }.count) / Double(labels.count)
    }

    func testTinyMLPLearns() {
        var rng = RandomGenerator(seed: 1)
        let mlp = MLP(2, hidden: 32, out: 4, activation: .relu, rng: &rng)
        let (x, y) = syntheticPoints(512, seed: 2)
        let opt = AdamW(parameterSlots(mlp.namedParameters(), weightDecay: 0.01))
        for _ in 0..<300 {
            opt.zeroGradients()
            mlp(x).crossEntropy(labels: y).backward()
            opt.step(learningRate: 0.02)
        }
        let (tx, ty) = syntheticPoints(512, seed: 3)
        let acc = withoutGrad { accuracy(mlp(tx), ty) }
        XCTAssertGreaterThan(acc, 0.95, "tiny MLP test accuracy")
    }

    /// 8x8 images with a bright horizontal or vertical bar, at a random place, plus noise.
    func syntheticBars(_ n: Int, seed: UInt64) -> (Tensor, [Int]) {
        var rng = RandomGenerator(seed: seed)
        var xs = [Float](repeating: 0, count: n * 64), ys = [Int]()
        for i in 0..<n {
            let label = rng.nextInt(below: 2), pos = rng.nextInt(below: 8)
            for j in 0..<64 { xs[i * 64 + j] = (rng.nextFloat() - 0.5) * 0.6 }
            for t in 0..<8 { xs[i * 64 + (label == 0 ? pos * 8 + t : t * 8 + pos)] += 1 }
            ys.append(label)
        }
        return (Tensor(shape: [n, 1, 8, 8], values: xs), ys)
    }

    func testTinyCNNLearns() {
        final class TinyCNN: Module {
            let conv1: Conv2d, bn1: BatchNorm2d, conv2: Conv2d, fc: Linear
            init(rng: inout RandomGenerator) {
                conv1 = Conv2d(1, 8, kernel: 3, padding: 1, bias: false, rng: &rng)
                bn1 = BatchNorm2d(8)
                conv2 = Conv2d(8, 16, kernel: 3, stride: 2, padding: 1, rng: &rng)
                fc = Linear(16, 2, rng: &rng)
            }
            func callAsFunction(_ x: Tensor) -> Tensor {
                let h = conv2(bn1(conv1(x)).relu()).relu().maxPool2d(kernel: 2)
                return fc(h.mean(axes: [2, 3]))
            }
        }
        var rng = RandomGenerator(seed: 4)
        let net = TinyCNN(rng: &rng)
        let (x, y) = syntheticBars(256, seed: 5)
        let opt = SGD(parameterSlots(net.namedParameters(), weightDecay: 1e-4), momentum: 0.9, nesterov: true)
        let schedule = LRSchedule(kind: .cosine, baseLR: 0.1, totalSteps: 120, warmupSteps: 10)
        for step in 0..<120 {
            opt.zeroGradients()
            net(x).crossEntropy(labels: y, labelSmoothing: 0.05).backward()
            clipGradientNorm(net.parameters(), maxNorm: 5)
            opt.step(learningRate: schedule.learningRate(atStep: step))
        }
        net.setTraining(false)
        let (tx, ty) = syntheticBars(256, seed: 6)
        let acc = withoutGrad { accuracy(net(tx), ty) }
        XCTAssertGreaterThan(acc, 0.95, "tiny CNN test accuracy")
    }
}

final class OptimizerTests: XCTestCase {
    func param(_ v: [Float], grad: [Float]) -> Tensor {
        let p = Tensor(shape: [v.count], values: v, requiresGrad: true)
        p.isParameter = true
        p.grad = Tensor(shape: [v.count], values: grad)
        return p
    }

    func testSGDMatchesPyTorchUpdateRule() {
        let p = param([1, -2], grad: [0.5, 0.25])
        let sgd = SGD([ParameterSlot(name: "w", tensor: p, weightDecay: 0.1)], momentum: 0.9, nesterov: false)
        sgd.step(learningRate: 0.1)
        // d = g + wd p = [0.6, 0.05]; buf = d; p -= 0.1 d
        assertClose(p.values, [0.94, -2.005], atol: 1e-6)
        sgd.step(learningRate: 0.1)
        // d = [0.5 + 0.094, 0.25 - 0.2005] ; buf = 0.9*buf + d
        let d: [Float] = [0.5 + 0.094, 0.25 - 0.2005], buf: [Float] = [0.9 * 0.6 + d[0], 0.9 * 0.05 + d[1]]
        assertClose(p.values, [0.94 - 0.1 * buf[0], -2.005 - 0.1 * buf[1]], atol: 1e-6)
    }

    func testAdamWFirstStepIsSignStepPlusDecay() {
        let p = param([1, -2, 3], grad: [0.5, -0.25, 0])
        let opt = AdamW([ParameterSlot(name: "w", tensor: p, weightDecay: 0.05)])
        opt.step(learningRate: 0.01)
        // p *= 1 - lr*wd, then p -= lr * g/(|g| + eps)
        assertClose(p.values, [1 * 0.9995 - 0.01, -2 * 0.9995 + 0.01, 3 * 0.9995], atol: 1e-6)
    }

    func testLAMBTrustRatio() {
        let p = param([3, 4], grad: [1, 1])
        let opt = LAMB([ParameterSlot(name: "w", tensor: p, weightDecay: 0)])
        opt.step(learningRate: 0.1)
        // update ~ [1, 1], ||p|| = 5, ||u|| = sqrt(2): p -= 0.1 * 5/sqrt(2) * u
        let s = 0.1 * 5 / Float(2).squareRoot()
        assertClose(p.values, [3 - s, 4 - s], atol: 1e-4)
    }

    func testClipGradientNorm() {
        let p = param([0, 0], grad: [3, 4])
        XCTAssertEqual(clipGradientNorm([p], maxNorm: 1), 5, accuracy: 1e-6)
        assertClose(p.grad!.values, [0.6, 0.8], atol: 1e-5)
    }

    func testWeightDecayExclusions() {
        var rng = RandomGenerator(seed: 1)
        let lin = Linear(3, 2, rng: &rng)
        let slots = parameterSlots(lin.namedParameters() + [("pos_embed", parameter([1, 4, 3], constant: 0))], weightDecay: 0.05)
        XCTAssertEqual(slots.map(\.weightDecay), [0.05, 0, 0])
    }

    func testSchedules() {
        let cos = LRSchedule(kind: .cosine, baseLR: 1, totalSteps: 110, minLR: 0.1, warmupSteps: 10, warmupStartFactor: 0.25)
        XCTAssertEqual(cos.learningRate(atStep: 0), 0.25, accuracy: 1e-6)
        XCTAssertEqual(cos.learningRate(atStep: 10), 1, accuracy: 1e-6)
        XCTAssertEqual(cos.learningRate(atStep: 60), 0.55, accuracy: 1e-5)
        XCTAssertEqual(cos.learningRate(atStep: 110), 0.1, accuracy: 1e-6)
        let step = LRSchedule(kind: .step, baseLR: 0.1, totalSteps: 100, milestones: [30, 60, 90])
        XCTAssertEqual(step.learningRate(atStep: 29), 0.1, accuracy: 1e-7)
        XCTAssertEqual(step.learningRate(atStep: 65), 0.001, accuracy: 1e-7)
    }
}
