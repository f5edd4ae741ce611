import Foundation

/// Pixel counts of (ground-truth class, predicted class) over a whole dataset, from which
/// mIoU is computed as mmsegmentation's `IoUMetric` does for ADE20K: per class
/// IoU = intersection / union summed over *all* images (not averaged per image), and mIoU
/// the mean over the classes whose union is non-zero, i.e. present in the ground truth *or*
/// the prediction (mmseg's `np.nanmean` over 0/0 = NaN classes). A class that is predicted
/// but absent from the ground truth therefore counts, with IoU 0.
///
/// Pixels whose ground truth is `ignoreLabel` are skipped (mmseg's ignore_index 255; ADE20K's
/// reduce_zero_label maps its "other" label 0 there). Whether a canvas's background (class 0
/// of `Canvas.semantic`) is scored is the caller's choice: pass `ignoreLabel: 0` to leave it
/// out, as ADE20K leaves out "other", or count it as class 0 (the default here). An
/// ignored label inside 0..<classCount has no IoU of its own either: predictions of it on
/// other pixels still count against those pixels' classes, but it never enters the mean
/// (mmseg's reduce_zero_label removes the class from the label set the same way).
public struct ConfusionMatrix: Equatable, Sendable {
    public let classCount: Int
    public let ignoreLabel: Int?
    /// counts[truth * classCount + predicted]
    public private(set) var counts: [Int]

    public init(classCount: Int, ignoreLabel: Int? = nil) {
        precondition(classCount > 0)
        self.classCount = classCount
        self.ignoreLabel = ignoreLabel
        counts = [Int](repeating: 0, count: classCount * classCount)
    }

    public subscript(truth: Int, predicted: Int) -> Int { counts[truth * classCount + predicted] }

    /// Adds one image's maps (same length; every label in 0..<classCount or `ignoreLabel`,
    /// every prediction in 0..<classCount).
    public mutating func add<T: BinaryInteger, U: BinaryInteger>(truth: [T], predicted: [U]) {
        precondition(truth.count == predicted.count, "label maps of \(truth.count) and \(predicted.count) pixels")
        for (t, p) in zip(truth, predicted) {
            let t = Int(t), p = Int(p)
            if let ignore = ignoreLabel, t == ignore { continue }
            precondition((0..<classCount).contains(t) && (0..<classCount).contains(p),
                         "label \(t) or prediction \(p) outside 0..<\(classCount)")
            counts[t * classCount + p] += 1
        }
    }

    public mutating func add(_ other: ConfusionMatrix) {
        precondition(other.classCount == classCount && other.ignoreLabel == ignoreLabel)
        for i in counts.indices { counts[i] += other.counts[i] }
    }

    /// Per-class IoU; nil for a class absent from both ground truth and prediction, and for
    /// the ignored label.
    public var classIoU: [Double?] {
        (0..<classCount).map { c in
            if c == ignoreLabel { return nil }
            let intersection = self[c, c]
            var truth = 0, predicted = 0
            for o in 0..<classCount {
                truth += self[c, o]
                predicted += self[o, c]
            }
            let union = truth + predicted - intersection
            return union == 0 ? nil : Double(intersection) / Double(union)
        }
    }

    /// Mean IoU over the classes present in the ground truth or the prediction; nil when no
    /// pixel was counted.
    public var meanIoU: Double? {
        let present = classIoU.compactMap { $0 }
        return present.isEmpty ? nil : present.reduce(0, +) / Double(present.count)
    }

    /// Overall pixel accuracy (mmseg's aAcc): correct pixels / counted pixels.
    public var pixelAccuracy: Double? {
        let total = counts.reduce(0, +)
        guard total > 0 else { return nil }
        return Double((0..<classCount).reduce(0) { $0 + self[$1, $1] }) / Double(total)
    }
}
