import XCTest
import Dense

final class SegmentationMetricsTests: XCTestCase {
    // truth      0 0 0 1 1 1 1 0
    // predicted  0 0 1 1 1 2 1 0
    // class 0: intersection 3, union 4 -> 3/4; class 1: 3 of 5 -> 3/5; class 2: predicted once,
    // never true -> 0 (counts: present in the prediction); class 3: absent from both -> not counted.
    let truth = [0, 0, 0, 1, 1, 1, 1, 0]
    let predicted = [0, 0, 1, 1, 1, 2, 1, 0]

    func testSmallConfusionMatrix() {
        var m = ConfusionMatrix(classCount: 4)
        m.add(truth: truth, predicted: predicted)
        XCTAssertEqual(m[0, 0], 3)
        XCTAssertEqual(m[0, 1], 1)
        XCTAssertEqual(m[1, 2], 1)
        XCTAssertEqual(m.classIoU, [0.75, 0.6, 0, nil])
        XCTAssertEqual(m.meanIoU!, (0.75 + 0.6 + 0) / 3, accuracy: 1e-15)
        XCTAssertEqual(m.pixelAccuracy, 0.75)
    }

    func testIgnoredPixelsAreSkipped() {
        var m = ConfusionMatrix(classCount: 4, ignoreLabel: 255)
        m.add(truth: truth + [255, 255], predicted: predicted + [3, 2])
        XCTAssertEqual(m.classIoU, [0.75, 0.6, 0, nil])
        XCTAssertEqual(m.pixelAccuracy, 0.75)
    }

    func testIgnoringTheBackgroundClass() {
        // Background (0) left out as ADE20K leaves out "other": its pixels are skipped and it has
        // no IoU, but predicting background on a garment still costs that garment.
        var m = ConfusionMatrix(classCount: 4, ignoreLabel: 0)
        m.add(truth: truth, predicted: predicted)
        // Class 1: truth at 3,4,5,6; predicted 1 at 3,4,6 (pixel 2 has ignored truth) -> 3 of 4.
        XCTAssertEqual(m.classIoU, [nil, 0.75, 0, nil])
        XCTAssertEqual(m.meanIoU!, 0.375, accuracy: 1e-15)
    }

    func testIoUIsOverTheWholeDatasetNotPerImage() {
        // Image 1: class 1 perfect on 1 pixel. Image 2: class 1 half right on 4 pixels.
        // Per-image IoUs would average (1 + 1/2) / 2; the dataset IoU is 3/5 (intersection 1 + 2,
        // union 1 + 4).
        var m = ConfusionMatrix(classCount: 2)
        m.add(truth: [1], predicted: [1])
        m.add(truth: [1, 1, 1, 1], predicted: [1, 1, 0, 0])
        XCTAssertEqual(m.classIoU[1], 0.6)
        var split1 = ConfusionMatrix(classCount: 2), split2 = ConfusionMatrix(classCount: 2)
        split1.add(truth: [1], predicted: [1])
        split2.add(truth: [1, 1, 1, 1], predicted: [1, 1, 0, 0])
        split1.add(split2)
        XCTAssertEqual(split1, m)
    }

    func testEmpty() {
        let m = ConfusionMatrix(classCount: 3)
        XCTAssertNil(m.meanIoU)
        XCTAssertNil(m.pixelAccuracy)
        XCTAssertEqual(m.classIoU, [nil, nil, nil])
    }

    func testUInt8Maps() {
        var m = ConfusionMatrix(classCount: 3)
        m.add(truth: [UInt8(0), 1, 2], predicted: [UInt8(0), 1, 2])
        XCTAssertEqual(m.meanIoU, 1)
    }
}
