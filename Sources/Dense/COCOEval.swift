import Foundation

/// A ground-truth object. `area` decides its size bucket (AP_S/M/L); COCO stores it in the
/// annotation and, for box AP too, it is the *segmentation* area, not the box's. It
/// defaults to the region's own area; canvases pass the mask's pixel count for both.
public struct Annotation<Region: DenseRegion>: Sendable {
    public var category: Int
    public var region: Region
    public var area: Double

    public init(category: Int, region: Region, area: Double? = nil) {
        self.category = category
        self.region = region
        self.area = area ?? region.regionArea
    }
}

/// A prediction: category, confidence and region. Its area (for ignoring unmatched
/// predictions outside a size bucket) is the region's, as COCO's `loadRes` sets it.
public struct Detection<Region: DenseRegion>: Sendable {
    public var category: Int
    public var score: Double
    public var region: Region

    public init(category: Int, score: Double, region: Region) {
        self.category = category
        self.score = score
        self.region = region
    }
}

/// One image's ground truth and predictions. Image order matters only for ties in score
/// across images (earlier image first, as pycocotools with ascending image ids).
public struct EvaluationImage<Region: DenseRegion>: Sendable {
    public var groundTruth: [Annotation<Region>]
    public var detections: [Detection<Region>]

    public init(groundTruth: [Annotation<Region>], detections: [Detection<Region>]) {
        self.groundTruth = groundTruth
        self.detections = detections
    }
}

/// COCO's size buckets, by ground-truth area: all [0, 1e10], small [0, 32^2],
/// medium [32^2, 96^2], large [96^2, 1e10]. Both ends are inclusive, as in pycocotools, so an
/// object of area exactly 32^2 counts as small *and* medium.
///
/// Scaling for small canvases: COCO's thresholds are absolute pixel areas on images of
/// about 640x480. `scaled(by: f)` multiplies both thresholds by f^2 (a linear scale f of
/// the image), and `forCanvas(side:)` uses f = side / 640, i.e. treats the canvas as a
/// COCO image shrunk to `side` pixels on its long side: on a 96x96 canvas small is
/// < 4.8^2 = 23.04 px and medium < 14.4^2 = 207.36 px. Which set an experiment uses is its
/// choice and must be stated with its numbers; `.coco` is the default everywhere here.
public struct AreaRanges: Equatable, Hashable, Sendable {
    public var smallMax: Double
    public var mediumMax: Double

    public init(smallMax: Double, mediumMax: Double) {
        precondition(0 < smallMax && smallMax <= mediumMax, "area thresholds must satisfy 0 < small <= medium")
        self.smallMax = smallMax
        self.mediumMax = mediumMax
    }

    public static let coco = AreaRanges(smallMax: 32 * 32, mediumMax: 96 * 96)

    /// Both thresholds times `linearFactor`^2.
    public func scaled(by linearFactor: Double) -> AreaRanges {
        AreaRanges(smallMax: smallMax * linearFactor * linearFactor, mediumMax: mediumMax * linearFactor * linearFactor)
    }

    /// COCO's buckets for a canvas whose long side is `side` pixels (COCO's is 640).
    public static func forCanvas(side: Int) -> AreaRanges { coco.scaled(by: Double(side) / 640) }

    /// [lo, hi] of `bucket`, both inclusive.
    public func range(_ bucket: AreaBucket) -> (lo: Double, hi: Double) {
        switch bucket {
        case .all: return (0, 1e10)
        case .small: return (0, smallMax)
        case .medium: return (smallMax, mediumMax)
        case .large: return (mediumMax, 1e10)
        }
    }
}

public enum AreaBucket: Int, CaseIterable, Sendable {
    case all, small, medium, large
}

/// The six AP numbers of COCO's summary (stats[0...5]), as fractions in [0, 1]. nil where
/// pycocotools prints -1: no category has a ground-truth object in that bucket.
public struct COCOSummary: Equatable, Sendable {
    public var ap: Double?
    public var ap50: Double?
    public var ap75: Double?
    public var apSmall: Double?
    public var apMedium: Double?
    public var apLarge: Double?

    public var stats: [Double?] { [ap, ap50, ap75, apSmall, apMedium, apLarge] }
}

/// The accumulated precision table and the summary read from it.
public struct COCOResult: Sendable {
    public let areaRanges: AreaRanges
    public let categoryCount: Int
    /// precision[bucket][category]: per IoU threshold, the 101 interpolated precisions at
    /// `COCOEval.recallThresholds`; nil when the category has no ground truth in the bucket.
    public let precision: [[[[Double]]?]]

    /// Mean precision over the given IoU thresholds (all when nil), recall thresholds and the
    /// categories with ground truth in `bucket`: pycocotools' `_summarize(ap=1)`.
    public func averagePrecision(bucket: AreaBucket = .all, iouIndex: Int? = nil,
                                 categories: [Int]? = nil) -> Double? {
        var values = [Double]()
        for category in categories ?? Array(0..<categoryCount) {
            guard let table = precision[bucket.rawValue][category] else { continue }
            for (t, q) in table.enumerated() where iouIndex == nil || iouIndex == t { values.append(contentsOf: q) }
        }
        return values.isEmpty ? nil : values.reduce(0, +) / Double(values.count)
    }

    /// AP over IoU 0.50:0.95 of one category (bucket all); nil without ground truth.
    public func categoryAP(_ category: Int) -> Double? { averagePrecision(categories: [category]) }

    public var summary: COCOSummary {
        COCOSummary(ap: averagePrecision(), ap50: averagePrecision(iouIndex: 0), ap75: averagePrecision(iouIndex: 5),
                    apSmall: averagePrecision(bucket: .small), apMedium: averagePrecision(bucket: .medium),
                    apLarge: averagePrecision(bucket: .large))
    }
}

/// COCO detection metrics with pycocotools' `COCOeval` semantics (iouType "bbox" with
/// `Box`, "segm" with `BinaryMask`; useCats = 1; no crowd or ignored annotations):
///
/// - per image and category, predictions sorted by score (stable, so equal scores keep their
///   input order) and cut to `maxDetections` (100; the cut is per image *and category*, as in
///   `evaluateImg`);
/// - per IoU threshold 0.50:0.05:0.95 (numpy's linspace values), each prediction in score
///   order takes the unmatched ground truth of highest IoU >= the threshold (on equal IoU the
///   later ground truth, ground truth outside the bucket sorted last and only taken when no
///   in-bucket one matches); a prediction matched to an out-of-bucket object, or unmatched
///   with its own area outside the bucket, is ignored;
/// - per category and bucket, predictions of all images merged by score, precision made
///   monotone from the right and read at the 101 recall thresholds 0:0.01:1 (the first
///   prediction reaching each recall; 0 beyond the last recall reached);
/// - precision is tp / (tp + fp + np.spacing(1)), as in pycocotools, so a perfect detector
///   scores 1 - 2e-16, not exactly 1;
/// - AP is the mean over thresholds, recall points and the categories that have ground truth
///   in the bucket. Categories with predictions but no ground truth do not count, so their
///   predictions cost nothing (as in COCO).
public enum COCOEval {
    /// np.linspace(.5, .95, 10): i * (0.45 / 9) + 0.5, the last exactly 0.95.
    public static let iouThresholds: [Double] = linspace(0.5, 0.95, 10)
    /// np.linspace(0, 1, 101).
    public static let recallThresholds: [Double] = linspace(0, 1, 101)

    /// numpy's linspace, operation for operation (start + i * step, stop at the end), so the
    /// thresholds compare with IoUs exactly as in pycocotools.
    static func linspace(_ start: Double, _ stop: Double, _ count: Int) -> [Double] {
        let step = (stop - start) / Double(count - 1)
        return (0..<count).map { $0 == count - 1 ? stop : Double($0) * step + start }
    }

    public static func evaluate<Region>(_ images: [EvaluationImage<Region>], categoryCount: Int,
                                        areaRanges: AreaRanges = .coco, maxDetections: Int = 100) -> COCOResult {
        precondition(categoryCount > 0 && maxDetections > 0)
        let buckets = AreaBucket.allCases
        // perImage[k] lists, in image order, the evaluated (image, category k) pairs per bucket.
        var perCategory = [[[ImageMatches]]](repeating: [[ImageMatches]](repeating: [], count: buckets.count),
                                             count: categoryCount)
        for image in images {
            var gtByCategory = [[Annotation<Region>]](repeating: [], count: categoryCount)
            var dtByCategory = [[Detection<Region>]](repeating: [], count: categoryCount)
            for g in image.groundTruth {
                precondition((0..<categoryCount).contains(g.category), "ground-truth category \(g.category) out of range")
                gtByCategory[g.category].append(g)
            }
            for d in image.detections {
                precondition((0..<categoryCount).contains(d.category), "detection category \(d.category) out of range")
                precondition(d.score.isFinite, "detection score must be finite")
                dtByCategory[d.category].append(d)
            }
            for k in 0..<categoryCount where !gtByCategory[k].isEmpty || !dtByCategory[k].isEmpty {
                let gts = gtByCategory[k]
                let dts = sortedByScore(dtByCategory[k]).prefix(maxDetections).map { $0 }
                let ious = dts.map { d in gts.map { d.region.iou($0.region) } }
                for bucket in buckets {
                    perCategory[k][bucket.rawValue].append(
                        match(gts: gts, dts: dts, ious: ious, range: areaRanges.range(bucket)))
                }
            }
        }
        let precision = buckets.map { bucket in
            (0..<categoryCount).map { k in accumulate(perCategory[k][bucket.rawValue]) }
        }
        return COCOResult(areaRanges: areaRanges, categoryCount: categoryCount, precision: precision)
    }

    /// Box AP: each image's boxes against its ground-truth boxes.
    public static func evaluateBoxes(_ images: [EvaluationImage<Box>], categoryCount: Int,
                                     areaRanges: AreaRanges = .coco) -> COCOResult {
        evaluate(images, categoryCount: categoryCount, areaRanges: areaRanges)
    }

    /// Mask AP: the same evaluation with pixel IoU of binary masks.
    public static func evaluateMasks(_ images: [EvaluationImage<BinaryMask>], categoryCount: Int,
                                     areaRanges: AreaRanges = .coco) -> COCOResult {
        evaluate(images, categoryCount: categoryCount, areaRanges: areaRanges)
    }

    /// Stable sort by descending score (numpy's mergesort of -score).
    static func sortedByScore<Region>(_ dts: [Detection<Region>]) -> [Detection<Region>] {
        dts.enumerated().sorted { a, b in
            a.element.score != b.element.score ? a.element.score > b.element.score : a.offset < b.offset
        }.map(\.element)
    }

    /// One (image, category, bucket): pycocotools' `evaluateImg` result.
    struct ImageMatches {
        var scores: [Double]          // predictions in score order
        var matched: [[Bool]]         // [threshold][prediction]
        var ignored: [[Bool]]         // [threshold][prediction]
        var gtInBucket: Int           // ground truth not ignored
    }

    static func match<Region>(gts: [Annotation<Region>], dts: [Detection<Region>], ious: [[Double]],
                              range: (lo: Double, hi: Double)) -> ImageMatches {
        let gtIgnoreUnsorted = gts.map { $0.area < range.lo || $0.area > range.hi }
        // In-bucket ground truth first, order otherwise kept (argsort mergesort of the flags).
        let order = gts.indices.filter { !gtIgnoreUnsorted[$0] } + gts.indices.filter { gtIgnoreUnsorted[$0] }
        let gtIgnore = order.map { gtIgnoreUnsorted[$0] }
        let thresholds = iouThresholds
        var matched = [[Bool]](repeating: [Bool](repeating: false, count: dts.count), count: thresholds.count)
        var ignored = matched
        for (t, threshold) in thresholds.enumerated() {
            var gtTaken = [Bool](repeating: false, count: order.count)
            for d in dts.indices {
                var best = min(threshold, 1 - 1e-10)
                var m = -1
                for (g, source) in order.enumerated() {
                    if gtTaken[g] { continue }
                    // Matched to an in-bucket object: out-of-bucket ones (sorted last) cannot replace it.
                    if m > -1 && !gtIgnore[m] && gtIgnore[g] { break }
                    let iou = ious[d][source]
                    if iou < best { continue }
                    best = iou
                    m = g
                }
                if m == -1 { continue }
                ignored[t][d] = gtIgnore[m]
                matched[t][d] = true
                gtTaken[m] = true
            }
            for d in dts.indices where !matched[t][d] {
                let area = dts[d].region.regionArea
                if area < range.lo || area > range.hi { ignored[t][d] = true }
            }
        }
        return ImageMatches(scores: dts.map(\.score), matched: matched, ignored: ignored,
                            gtInBucket: gtIgnore.filter { !$0 }.count)
    }

    /// pycocotools' `accumulate` for one category and bucket (maxDets = the cut above):
    /// 101 interpolated precisions per IoU threshold, nil without ground truth.
    static func accumulate(_ images: [ImageMatches]) -> [[Double]]? {
        if images.isEmpty { return nil }
        let positives = images.reduce(0) { $0 + $1.gtInBucket }
        if positives == 0 { return nil }
        var scores = [Double](), offsets = [Int]()
        for image in images {
            offsets.append(scores.count)
            scores.append(contentsOf: image.scores)
        }
        // Merge by score, stable across images (earlier image first on ties).
        let order = scores.indices.sorted { scores[$0] != scores[$1] ? scores[$0] > scores[$1] : $0 < $1 }
        func flags(_ t: Int, _ field: KeyPath<ImageMatches, [[Bool]]>) -> [Bool] {
            var all = [Bool]()
            all.reserveCapacity(scores.count)
            for image in images { all.append(contentsOf: image[keyPath: field][t]) }
            return order.map { all[$0] }
        }
        let eps = Double.ulpOfOne  // np.spacing(1)
        let recallThresholds = recallThresholds
        return iouThresholds.indices.map { t in
            let matched = flags(t, \.matched), ignored = flags(t, \.ignored)
            var tp = 0.0, fp = 0.0
            var recall = [Double](), precision = [Double]()
            recall.reserveCapacity(order.count)
            precision.reserveCapacity(order.count)
            for i in order.indices {
                if !ignored[i] {
                    if matched[i] { tp += 1 } else { fp += 1 }
                }
                recall.append(tp / Double(positives))
                precision.append(tp / (fp + tp + eps))
            }
            for i in stride(from: precision.count - 1, to: 0, by: -1) where precision[i] > precision[i - 1] {
                precision[i - 1] = precision[i]
            }
            // np.searchsorted(recall, thresholds, side="left"); 0 past the end.
            var q = [Double](repeating: 0, count: recallThresholds.count)
            var i = 0
            for (r, threshold) in recallThresholds.enumerated() {
                while i < recall.count && recall[i] < threshold { i += 1 }
                if i == recall.count { break }
                q[r] = precision[i]
            }
            return q
        }
    }
}
