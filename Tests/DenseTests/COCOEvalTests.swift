import Foundation
import XCTest
import Dense

/// Hand-built cases whose COCO numbers follow from the definitions, and a pycocotools
/// reference (Fixtures/coco_reference.json, written by tools/make_dense_fixtures.py).
final class COCOEvalTests: XCTestCase {
    typealias Image = EvaluationImage<Box>

    func box(_ x: Double, _ y: Double, _ w: Double, _ h: Double) -> Box { Box(x: x, y: y, width: w, height: h) }
    func gt(_ category: Int, _ b: Box, area: Double? = nil) -> Annotation<Box> { Annotation(category: category, region: b, area: area) }
    func dt(_ category: Int, _ score: Double, _ b: Box) -> Detection<Box> { Detection(category: category, score: score, region: b) }

    func summary(_ images: [Image], categories: Int = 2) -> COCOSummary {
        COCOEval.evaluateBoxes(images, categoryCount: categories).summary
    }

    func assertClose(_ a: Double?, _ b: Double?, accuracy: Double = 1e-12, _ message: String = "",
                     file: StaticString = #filePath, line: UInt = #line) {
        guard let a, let b else {
            XCTAssertEqual(a, b, "one is nil: \(message)", file: file, line: line)
            return
        }
        XCTAssertEqual(a, b, accuracy: accuracy, message, file: file, line: line)
    }

    /// Stats within 1e-12: like pycocotools, precision is tp / (tp + fp + np.spacing(1)), so a
    /// perfect detector scores 1 - 2e-16 rather than exactly 1.
    func assertStats(_ s: COCOSummary, _ expected: [Double?], file: StaticString = #filePath, line: UInt = #line) {
        for (ours, theirs) in zip(s.stats, expected) { assertClose(ours, theirs, file: file, line: line) }
    }

    func testThresholdsAreNumpyLinspace() {
        XCTAssertEqual(COCOEval.iouThresholds.count, 10)
        XCTAssertEqual(COCOEval.iouThresholds[2], 0.6)  // exactly, so an IoU of 0.6 counts at 0.60
        XCTAssertEqual(COCOEval.iouThresholds[5], 0.75)
        XCTAssertEqual(COCOEval.iouThresholds[8], 0.8999999999999999)  // numpy's value, not 0.9
        XCTAssertEqual(COCOEval.recallThresholds.count, 101)
        XCTAssertEqual(COCOEval.recallThresholds[7], 0.07)
        XCTAssertEqual(COCOEval.recallThresholds[100], 1)
    }

    func testBoxIoU() {
        XCTAssertEqual(box(0, 0, 10, 10).iou(box(0, 0, 10, 10)), 1)
        XCTAssertEqual(box(0, 0, 10, 10).iou(box(0, 0, 10, 6)), 0.6)
        XCTAssertEqual(box(0, 0, 10, 10).iou(box(5, 0, 10, 10)), 50.0 / 150.0)
        XCTAssertEqual(box(0, 0, 10, 10).iou(box(10, 0, 10, 10)), 0)  // touching
    }

    func testPerfectDetectorScoresOneInEveryBucket() {
        // Areas 100 (small), 2500 (medium), 14400 (large), two categories, two images.
        let images = [
            Image(groundTruth: [gt(0, box(0, 0, 10, 10)), gt(1, box(20, 20, 50, 50))],
                  detections: [dt(0, 0.9, box(0, 0, 10, 10)), dt(1, 0.8, box(20, 20, 50, 50))]),
            Image(groundTruth: [gt(0, box(5, 5, 120, 120))], detections: [dt(0, 0.3, box(5, 5, 120, 120))]),
        ]
        let s = summary(images)
        assertStats(s, [1, 1, 1, 1, 1, 1])
    }

    func testWrongClassDetectionScoresZero() {
        // The box is right but the class is not: category 0 has an object and no hit (AP 0);
        // category 1 has no ground truth, so it does not count and its false positive costs nothing.
        let images = [Image(groundTruth: [gt(0, box(0, 0, 40, 40))], detections: [dt(1, 0.9, box(0, 0, 40, 40))])]
        let result = COCOEval.evaluateBoxes(images, categoryCount: 2)
        XCTAssertEqual(result.summary.ap, 0)
        XCTAssertEqual(result.categoryAP(0), 0)
        XCTAssertNil(result.categoryAP(1))
    }

    func testDuplicateIsOneTruePositiveAndOneFalsePositive() {
        // Objects A and B; predictions A (0.9), A again (0.8), B (0.7): TP, FP, TP.
        // Recall 1/2 at precision 1, then 1 at precision 2/3: 51 recall points (0..0.50) at 1,
        // 50 at 2/3.
        let a = box(0, 0, 20, 20), b = box(50, 50, 20, 20)
        let images = [Image(groundTruth: [gt(0, a), gt(0, b)], detections: [dt(0, 0.9, a), dt(0, 0.8, a), dt(0, 0.7, b)])]
        assertClose(summary(images).ap, (51 + 50 * 2.0 / 3) / 101)
        // A duplicate ranked after every true positive costs nothing.
        let late = [Image(groundTruth: [gt(0, a), gt(0, b)], detections: [dt(0, 0.9, a), dt(0, 0.8, b), dt(0, 0.7, a)])]
        assertClose(summary(late).ap, 1)
    }

    func testDetectionAtIoU060CountsForThreeThresholds() {
        // IoU exactly 0.6: a hit at 0.50, 0.55 and 0.60, a miss above: AP = 3/10 of perfect.
        let images = [Image(groundTruth: [gt(0, box(0, 0, 10, 10))], detections: [dt(0, 0.9, box(0, 0, 10, 6))])]
        let s = summary(images)
        assertClose(s.ap, 0.3)
        assertClose(s.ap50, 1)
        XCTAssertEqual(s.ap75, 0)
        // Just under 0.6 (59/100): two thresholds.
        let under = [Image(groundTruth: [gt(0, box(0, 0, 10, 10))], detections: [dt(0, 0.9, box(0, 0, 10, 5.9))])]
        assertClose(summary(under).ap, 0.2)
    }

    func testHigherScoredWorseDuplicateTakesTheObjectAtLowThresholds() {
        // A loose box (IoU 0.6, score 0.9) and the exact box (0.8) on one object. Up to IoU
        // 0.60 the loose one matches and the exact one is a false positive (precision 1 at
        // recall 1); above, the loose one is a false positive first (precision 1/2 at
        // recall 1, for every recall point): AP = (3 * 1 + 7 * 0.5) / 10.
        let o = box(0, 0, 10, 10)
        let images = [Image(groundTruth: [gt(0, o)], detections: [dt(0, 0.9, box(0, 0, 10, 6)), dt(0, 0.8, o)])]
        assertClose(summary(images).ap, 0.65)
    }

    func testScoreOrderAcrossImages() {
        // One object per image; a background false positive in image 1. Ranked below both hits
        // it costs nothing; ranked above them precision is 1/2 at recall 1/2 and 2/3 at recall 1.
        let o = box(0, 0, 30, 30), far = box(100, 100, 30, 30)
        func images(fpScore: Double) -> [Image] {
            [Image(groundTruth: [gt(0, o)], detections: [dt(0, 0.8, o)]),
             Image(groundTruth: [gt(0, o)], detections: [dt(0, fpScore, far), dt(0, 0.7, o)])]
        }
        assertClose(summary(images(fpScore: 0.1)).ap, 1)
        // Order: FP (0.9), TP (0.8), TP (0.7): precision 0, 1/2, 2/3 -> interpolated 2/3 throughout.
        assertClose(summary(images(fpScore: 0.9)).ap, 2.0 / 3)
        // Between the hits: TP, FP, TP: 1 up to recall 0.5 (51 points), then 2/3.
        assertClose(summary(images(fpScore: 0.75)).ap, (51 + 50 * 2.0 / 3) / 101)
    }

    func testEqualScoresKeepInputOrder() {
        // Same score: the earlier prediction is ranked first (stable sort, as numpy's mergesort).
        let o = box(0, 0, 30, 30), far = box(100, 100, 30, 30)
        let hitFirst = [Image(groundTruth: [gt(0, o)], detections: [dt(0, 0.5, o), dt(0, 0.5, far)])]
        let missFirst = [Image(groundTruth: [gt(0, o)], detections: [dt(0, 0.5, far), dt(0, 0.5, o)])]
        assertClose(summary(hitFirst).ap, 1)
        assertClose(summary(missFirst).ap, 0.5)
    }

    func testEmptyPredictionsAndEmptyGroundTruth() {
        let o = box(0, 0, 30, 30)
        assertStats(summary([Image(groundTruth: [gt(0, o)], detections: [])]), [0, 0, 0, 0, nil, nil])
        assertStats(summary([]), [nil, nil, nil, nil, nil, nil])
        assertStats(summary([Image(groundTruth: [], detections: [dt(0, 0.9, o)])]), [nil, nil, nil, nil, nil, nil])
    }

    func testAreaBuckets() {
        // Objects of area 100 (small), 2500 (medium), 14400 (large); only the medium one found.
        let small = box(0, 0, 10, 10), medium = box(20, 20, 50, 50), large = box(100, 100, 120, 120)
        let images = [Image(groundTruth: [gt(0, small), gt(0, medium), gt(0, large)], detections: [dt(0, 0.9, medium)])]
        let s = summary(images)
        XCTAssertEqual(s.apSmall, 0)
        assertClose(s.apMedium, 1)
        XCTAssertEqual(s.apLarge, 0)
        // Recall 1/3 at precision 1: recall points 0.00...0.33.
        assertClose(s.ap, 34.0 / 101)
    }

    func testBucketsUseAnnotationAreaAndIncludeBothEdges() {
        // A 40x40 box annotated with area 900 is small, not medium (COCO uses the mask area).
        let b = box(0, 0, 40, 40)
        let s = summary([Image(groundTruth: [gt(0, b, area: 900)], detections: [dt(0, 0.9, b)])])
        assertClose(s.apSmall, 1)
        XCTAssertNil(s.apMedium)
        // Area exactly 32^2 is in both small and medium.
        let edge = summary([Image(groundTruth: [gt(0, b, area: 1024)], detections: [dt(0, 0.9, b)])])
        assertClose(edge.apSmall, 1)
        assertClose(edge.apMedium, 1)
        XCTAssertNil(edge.apLarge)
    }

    func testUnmatchedPredictionOutsideABucketIsIgnoredThere() {
        // A small object found, plus a large false positive: it lowers AP over all sizes but is
        // ignored by the small bucket.
        let small = box(0, 0, 10, 10)
        let images = [Image(groundTruth: [gt(0, small)], detections: [dt(0, 0.9, box(100, 100, 120, 120)), dt(0, 0.5, small)])]
        let s = summary(images)
        assertClose(s.apSmall, 1)
        assertClose(s.ap, 0.5)
    }

    func testOutOfBucketObjectIsMatchedButIgnored() {
        // The only prediction overlaps a large object: in the small bucket it is neither a true
        // nor a false positive, so the small object is simply missed (AP_S 0, not polluted).
        let small = box(0, 0, 10, 10), large = box(100, 100, 120, 120)
        let images = [Image(groundTruth: [gt(0, small), gt(0, large)], detections: [dt(0, 0.9, large)])]
        let s = summary(images)
        XCTAssertEqual(s.apSmall, 0)
        assertClose(s.apLarge, 1)
    }

    func testInBucketObjectIsPreferredOverABetterOutOfBucketOne() {
        // A small object A and a large one B overlap; the prediction has IoU 0.789 with A and
        // 0.95 with B. In the small bucket it takes A wherever it can (IoU 0.50...0.75, six
        // thresholds) although B overlaps it more; above 0.75 it takes B and is ignored:
        // AP_S = 6/10. Over all sizes it takes B: recall 1/2 at precision 1 (51/101).
        // (pycocotools: [0.50495, 0.50495, 0.50495, 0.6, -1, 1].)
        let a = box(0, 0, 30, 30), b = box(0, 0, 30, 40)
        let images = [Image(groundTruth: [gt(0, a, area: 900), gt(0, b, area: 20000)], detections: [dt(0, 0.9, box(0, 0, 30, 38))])]
        assertStats(summary(images), [51.0 / 101, 51.0 / 101, 51.0 / 101, 0.6, nil, 1])
    }

    func testAtMostOneHundredPredictionsPerImageAndCategory() {
        let o = box(0, 0, 30, 30)
        func images(misses: Int) -> [Image] {
            let fps = (0..<misses).map { dt(0, 0.9 - Double($0) * 0.001, box(200 + Double($0), 200, 10, 10)) }
            return [Image(groundTruth: [gt(0, o)], detections: fps + [dt(0, 0.1, o)])]
        }
        // 99 misses above it: the hit is the 100th prediction, precision 1/100.
        assertClose(summary(images(misses: 99)).ap, 0.01)
        XCTAssertEqual(summary(images(misses: 100)).ap, 0)
        // The cut is per category: predictions of another category do not push it out.
        var other = images(misses: 0)
        other[0].detections += (0..<150).map { _ in dt(1, 0.95, box(200, 200, 10, 10)) }
        assertClose(summary(other).ap, 1)
    }

    func testMaskIoUOnSmallMasks() {
        let a = BinaryMask(rows: ["1100", "1100", "0000", "0000"])
        let b = BinaryMask(rows: ["0110", "0110", "0000", "0000"])
        let c = BinaryMask(rows: ["0000", "0000", "0011", "0011"])
        let empty = BinaryMask(rows: ["0000", "0000", "0000", "0000"])
        XCTAssertEqual(a.iou(b), 2.0 / 6)
        XCTAssertEqual(a.iou(a), 1)
        XCTAssertEqual(a.iou(c), 0)
        XCTAssertEqual(a.iou(empty), 0)
        XCTAssertEqual(empty.iou(empty), 0)
        XCTAssertEqual(a.count, 4)
        XCTAssertEqual(a.tightBox, box(0, 0, 2, 2))
        XCTAssertEqual(c.tightBox, box(2, 2, 2, 2))
        XCTAssertNil(empty.tightBox)
        // An L shape and its box: IoU 3/4 of the box's pixels.
        let l = BinaryMask(rows: ["1000", "1100", "0000", "0000"])
        XCTAssertEqual(l.iou(a), 3.0 / 4)
    }

    func testMaskAP() {
        let a = BinaryMask(rows: ["11000", "11000", "00000", "00000", "00000"])
        let b = BinaryMask(rows: ["00000", "00000", "00111", "00111", "00111"])
        let near = BinaryMask(rows: ["00000", "00000", "00110", "00111", "00111"])  // IoU 8/9 with b
        let images = [EvaluationImage(groundTruth: [Annotation(category: 0, region: a), Annotation(category: 1, region: b)],
                                      detections: [Detection(category: 0, score: 0.9, region: a),
                                                   Detection(category: 1, score: 0.8, region: near)])]
        let result = COCOEval.evaluateMasks(images, categoryCount: 2).summary
        // Category 0 perfect; category 1 hits at every threshold up to 0.85 (8/9 = 0.889 < 0.90).
        assertClose(result.ap, (1 + 0.8) / 2)
        assertClose(result.ap75, 1)
    }

    func testScaledAreaRanges() {
        XCTAssertEqual(AreaRanges.coco, AreaRanges(smallMax: 1024, mediumMax: 9216))
        let canvas = AreaRanges.forCanvas(side: 96)
        XCTAssertEqual(canvas.smallMax, 23.04, accuracy: 1e-9)
        XCTAssertEqual(canvas.mediumMax, 207.36, accuracy: 1e-9)
        // The same detector under custom ranges: a 10x10 object is large when large starts at 64.
        let b = box(0, 0, 10, 10)
        let result = COCOEval.evaluateBoxes([Image(groundTruth: [gt(0, b)], detections: [dt(0, 0.9, b)])], categoryCount: 1,
                                            areaRanges: AreaRanges(smallMax: 16, mediumMax: 64)).summary
        assertStats(result, [1, 1, 1, nil, nil, 1])
    }

    // MARK: pycocotools reference

    struct Fixture: Decodable {
        struct BoxAnnotation: Decodable {
            var category: Int
            var box: [Double]
            var area: Double?
            var score: Double?
        }
        struct MaskAnnotation: Decodable {
            var category: Int
            var rows: [String]
            var area: Double?
            var score: Double?
        }
        struct Images<A: Decodable>: Decodable {
            var gt: [A]
            var dt: [A]
        }
        struct Case<A: Decodable>: Decodable {
            var categories: Int
            var images: [Images<A>]
            var stats: [Double?]
            var perCategoryAp: [Double?]
            var areaRanges: [Double]?
        }
        var box: Case<BoxAnnotation>
        var mask: Case<MaskAnnotation>
    }

    func loadFixture() throws -> Fixture {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/coco_reference.json")
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(Fixture.self, from: Data(contentsOf: url))
    }

    func assertMatches(_ result: COCOResult, stats: [Double?], perCategory: [Double?], _ what: String,
                       file: StaticString = #filePath, line: UInt = #line) {
        let names = ["AP", "AP50", "AP75", "AP_S", "AP_M", "AP_L"]
        for (i, (ours, theirs)) in zip(result.summary.stats, stats).enumerated() {
            assertClose(ours, theirs, "\(what) \(names[i])", file: file, line: line)
        }
        for k in perCategory.indices {
            assertClose(result.categoryAP(k), perCategory[k], "\(what) category \(k)", file: file, line: line)
        }
    }

    func testBoxAPMatchesPycocotools() throws {
        let c = try loadFixture().box
        func b(_ v: [Double]) -> Box { box(v[0], v[1], v[2], v[3]) }
        let images = c.images.map { image in
            Image(groundTruth: image.gt.map { gt($0.category, b($0.box), area: $0.area) },
                  detections: image.dt.map { dt($0.category, $0.score!, b($0.box)) })
        }
        XCTAssertEqual(images.count, 9)
        assertMatches(COCOEval.evaluateBoxes(images, categoryCount: c.categories), stats: c.stats,
                      perCategory: c.perCategoryAp, "box")
    }

    func testMaskAPMatchesPycocotools() throws {
        let c = try loadFixture().mask
        let images = c.images.map { image in
            EvaluationImage(groundTruth: image.gt.map { Annotation(category: $0.category, region: BinaryMask(rows: $0.rows), area: $0.area) },
                            detections: image.dt.map { Detection(category: $0.category, score: $0.score!, region: BinaryMask(rows: $0.rows)) })
        }
        let ranges = try XCTUnwrap(c.areaRanges)
        let result = COCOEval.evaluateMasks(images, categoryCount: c.categories,
                                            areaRanges: AreaRanges(smallMax: ranges[0], mediumMax: ranges[1]))
        assertMatches(result, stats: c.stats, perCategory: c.perCategoryAp, "mask")
    }
}
