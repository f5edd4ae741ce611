import XCTest
import Tensor
@testable import Datasets

final class AugmentTests: XCTestCase {
    /// A 32x32 test image: a bright off-center rectangle on black with a ramp inside.
    func testImage() -> [Float] {
        var image = [Float](repeating: 0, count: 1024)
        for y in 6..<20 { for x in 4..<14 { image[y * 32 + x] = Float(x + y) / 40 } }
        return image
    }

    func run(_ body: (UnsafeMutableBufferPointer<Float>, UnsafeMutableBufferPointer<Float>) -> Void) -> [Float] {
        var image = testImage()
        var scratch = [Float](repeating: 0, count: 1024)
        image.withUnsafeMutableBufferPointer { i in scratch.withUnsafeMutableBufferPointer { s in body(i, s) } }
        return image
    }

    func testEveryOpKeepsRawRangeAndIsDeterministic() {
        for op in RandAugmentOp.allCases {
            for level: Float in [0, 0.5, 1] {
                let a = run { i, s in
                    var rng = RandomGenerator(seed: 1)
                    RandAugmentConfig.apply(op, level: level, to: i, size: 32, scratch: s, rng: &rng)
                }
                let b = run { i, s in
                    var rng = RandomGenerator(seed: 1)
                    RandAugmentConfig.apply(op, level: level, to: i, size: 32, scratch: s, rng: &rng)
                }
                XCTAssertEqual(a, b, "\(op)")
                XCTAssertTrue(a.allSatisfy { $0.isFinite && $0 >= 0 && $0 <= 1 }, "\(op) at \(level) left [0, 1]")
            }
        }
    }

    func testZeroLevelGeometryIsIdentity() {
        for op: RandAugmentOp in [.rotate, .shearX, .shearY, .translateX, .translateY, .identity] {
            let out = run { i, s in
                var rng = RandomGenerator(seed: 3)
                RandAugmentConfig.apply(op, level: 0, to: i, size: 32, scratch: s, rng: &rng)
            }
            XCTAssertEqual(out, testImage(), "\(op)")
        }
    }

    func testPhotometricOps() {
        let original = testImage()
        let solarized = run { i, _ in ImageOps.solarize(i, threshold: 0.5) }
        for (o, s) in zip(original, solarized) { XCTAssertEqual(s, o >= 0.5 ? 1 - o : o) }
        let posterized = run { i, _ in ImageOps.posterize(i, bits: 1) }
        XCTAssertTrue(posterized.allSatisfy { $0 == 0 || $0 == 128 / 255 })
        let stretched = run { i, _ in ImageOps.autocontrast(i) }
        XCTAssertEqual(stretched.min(), 0)
        XCTAssertEqual(stretched.max()!, 1, accuracy: 1e-6)
        let equalized = run { i, _ in ImageOps.equalize(i) }
        XCTAssertEqual(equalized.max()!, 1, accuracy: 0.05)
        let dark = run { i, _ in ImageOps.brightness(i, factor: 0.5) }
        for (o, d) in zip(original, dark) { XCTAssertEqual(d, o * 0.5, accuracy: 1e-6) }
        let flat = run { i, _ in ImageOps.contrast(i, factor: 0) }
        XCTAssertTrue(flat.allSatisfy { abs($0 - flat[0]) < 1e-6 })
    }

    func testRotationBy90MovesPixelsAroundCenter() {
        var image = [Float](repeating: 0, count: 16)
        image[0 * 4 + 3] = 1  // top right
        var scratch = [Float](repeating: 0, count: 16)
        image.withUnsafeMutableBufferPointer { i in
            scratch.withUnsafeMutableBufferPointer { s in ImageOps.rotate(i, size: 4, degrees: 90, scratch: s) }
        }
        // Counter-clockwise: top right goes to top left.
        XCTAssertEqual(image[0], 1, accuracy: 1e-5)
        XCTAssertEqual(image.reduce(0, +), 1, accuracy: 1e-5)
    }

    func testFlipTwiceIsIdentityAndCropShifts() {
        XCTAssertEqual(run { i, _ in ImageOps.flipHorizontal(i, size: 32); ImageOps.flipHorizontal(i, size: 32) }, testImage())
        let shifted = run { i, s in ImageOps.shift(i, size: 32, dx: 2, dy: -1, scratch: s) }
        XCTAssertEqual(shifted[7 * 32 + 2], testImage()[6 * 32 + 4])
    }

    func testRandomErasingHitsOneRectangle() {
        var erased = 0
        for seed in 0..<50 {
            let out = run { i, _ in
                var rng = RandomGenerator(seed: UInt64(seed))
                Augmentation.erase(i, size: 32, probability: 1, rng: &rng)
            }
            let changed = zip(out, testImage()).filter { $0 != $1 }.count
            XCTAssertGreaterThanOrEqual(changed, Int(0.02 * 1024) - 12)
            XCTAssertLessThanOrEqual(changed, 1024 / 3 + 40)
            if changed > 0 { erased += 1 }
        }
        XCTAssertGreaterThan(erased, 45)
    }

    func testStrategiesAreSeededPerSample() {
        for augmentation in [Augmentation.traditional, .advanced] {
            func augmented(seed: UInt64) -> [Float] {
                run { i, s in
                    var rng = RandomGenerator(seed: seed)
                    augmentation.apply(to: i, size: 32, mean: 0.286, std: 0.353, scratch: s, rng: &rng)
                }
            }
            XCTAssertEqual(augmented(seed: 5), augmented(seed: 5))
            XCTAssertNotEqual(augmented(seed: 5), augmented(seed: 6))
        }
        // .none only normalizes.
        let plain = run { i, s in
            var rng = RandomGenerator(seed: 0)
            Augmentation.none.apply(to: i, size: 32, mean: 0.25, std: 0.5, scratch: s, rng: &rng)
        }
        XCTAssertEqual(plain, testImage().map { ($0 - 0.25) / 0.5 })
    }

    func testMixupAndCutmixSoftLabels() {
        for mix in [MixConfig(mixupAlpha: 0.8, cutmixAlpha: 0), MixConfig(mixupAlpha: 0, cutmixAlpha: 1)] {
            var images = (0..<4).flatMap { k in [Float](repeating: Float(k), count: 1024) }
            var rng = RandomGenerator(seed: 9)
            let soft = mix.apply(images: &images, labels: [0, 1, 2, 3], size: 32, classes: 5, rng: &rng)
            XCTAssertEqual(soft.count, 20)
            for i in 0..<4 { XCTAssertEqual(soft[(i * 5)..<(i * 5 + 5)].reduce(0, +), 1, accuracy: 1e-5) }
            // Sample 0 is mixed with sample 3: its mean pixel is lam * 0 + (1 - lam) * 3.
            let lam = soft[0]
            XCTAssertEqual(soft[3], 1 - lam, accuracy: 1e-6)
            let mean0 = images[0..<1024].reduce(0, +) / 1024
            XCTAssertEqual(mean0, (1 - lam) * 3, accuracy: 1e-3)
        }
    }

    func testBetaSamplesHaveRightMean() {
        var rng = RandomGenerator(seed: 11)
        for alpha: Float in [0.2, 0.8, 1, 2] {
            let samples = (0..<4000).map { _ in MixConfig.beta(alpha, rng: &rng) }
            XCTAssertTrue(samples.allSatisfy { $0 >= 0 && $0 <= 1 })
            XCTAssertEqual(samples.reduce(0, +) / 4000, 0.5, accuracy: 0.03)
        }
    }
}
