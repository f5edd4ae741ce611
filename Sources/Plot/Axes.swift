// Axis ranges, "nice" tick values and the data -> pixel transform.

import Foundation

/// A closed interval of data values shown along one axis; always `lower < upper`.
public struct AxisRange: Codable, Hashable, Sendable {
    public var lower: Double
    public var upper: Double

    /// A range; a degenerate or reversed interval is widened so that it is never empty.
    public init(lower: Double, upper: Double) {
        let (a, b) = AxisRange.widened(lower, upper)
        self.lower = a
        self.upper = b
    }

    public var span: Double { upper - lower }

    /// The range covering every finite value (NaN and infinities are skipped),
    /// with `padding` (a fraction of the span) added on both sides. No finite
    /// values gives [0, 1]; constant values give a unit-wide range around them.
    public static func fitting(_ values: [Double], padding: Double = 0.05) -> AxisRange {
        var low = Double.infinity, high = -Double.infinity
        for value in values where value.isFinite {
            low = min(low, value)
            high = max(high, value)
        }
        guard low <= high else { return AxisRange(lower: 0, upper: 1) }
        guard high > low else { return AxisRange(lower: low, upper: high) }
        let pad = (high - low) * padding
        return AxisRange(lower: low - pad, upper: high + pad)
    }

    /// Whether `value` lies in the range (with a little tolerance for rounding).
    public func contains(_ value: Double) -> Bool {
        let tolerance = span * 1e-9
        return value >= lower - tolerance && value <= upper + tolerance
    }

    private static func widened(_ a: Double, _ b: Double) -> (Double, Double) {
        guard a.isFinite, b.isFinite else { return (0, 1) }
        if b > a { return (a, b) }
        if a > b { return (b, a) }
        // Constant data: centre it in a range of width 1 (or 20% of its size).
        let half = max(0.5, abs(a) * 0.1)
        return (a - half, a + half)
    }
}

/// One labelled tick on an axis.
public struct TickMark: Codable, Hashable, Sendable {
    public var value: Double
    public var label: String

    public init(value: Double, label: String) {
        self.value = value
        self.label = label
    }
}

/// Tick placement at "nice" values: 1, 2 or 5 times a power of ten (Heckbert, 1990).
public enum NiceTicks {
    /// A nice number close to `value`; rounded to the nearest, or the next one up.
    public static func niceNumber(_ value: Double, round: Bool) -> Double {
        guard value > 0, value.isFinite else { return 1 }
        let exponent = floor(log10(value))
        let fraction = value / pow(10, exponent)
        let nice: Double
        if round {
            nice = fraction < 1.5 ? 1 : fraction < 3 ? 2 : fraction < 7 ? 5 : 10
        } else {
            nice = fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10
        }
        return nice * pow(10, exponent)
    }

    /// The step between about `count` ticks spanning `range`.
    public static func step(for range: AxisRange, count: Int) -> Double {
        niceNumber(range.span / Double(max(1, count - 1)), round: true)
    }

    /// Tick values: all multiples of the nice step that fall inside `range`.
    public static func values(in range: AxisRange, count: Int) -> [Double] {
        let step = step(for: range, count: count)
        let first = (range.lower / step).rounded(.up)
        let last = (range.upper / step).rounded(.down)
        guard first <= last else { return [] }
        // For steps below 1, divide by a power of ten instead of multiplying by
        // a fraction: 3 * 2 / 10 is exactly 0.6, while 3 * 0.2 is not.
        let exponent = floor(log10(step))
        let mantissa = (step / pow(10, exponent)).rounded()
        return stride(from: first, through: last, by: 1).map { index in
            let value = exponent < 0 ? index * mantissa / pow(10, -exponent) : index * step
            return value == 0 ? 0 : value  // no "-0"
        }
    }

    /// Labelled ticks for `range`, formatted with just enough decimals for the step.
    public static func ticks(in range: AxisRange, count: Int) -> [TickMark] {
        let step = step(for: range, count: count)
        return values(in: range, count: count).map { TickMark(value: $0, label: label($0, step: step)) }
    }

    /// Label every n-th of a run of cells `cellSize` pixels apart so that labels
    /// `labelSize` pixels long do not overlap; n is 1, 2, 5, 10, ... so that the
    /// labelled indices are round numbers.
    public static func indexStride(cellSize: Double, labelSize: Double) -> Int {
        guard cellSize > 0 else { return 1 }
        let raw = Int((labelSize / cellSize).rounded(.up))
        return raw <= 1 ? 1 : Int(niceNumber(Double(raw), round: false))
    }

    /// `value` formatted for a tick spacing of `step`.
    public static func label(_ value: Double, step: Double) -> String {
        if value == 0 { return "0" }
        let magnitude = max(abs(value), step)
        if magnitude >= 1e5 || step < 1e-4 {
            // Scientific: enough mantissa digits to tell neighbouring ticks apart.
            let digits = max(0, Int(floor(log10(magnitude)) - floor(log10(step))))
            return String(format: "%.\(min(digits, 6))e", value)
        }
        let decimals = max(0, Int((-log10(step) - 1e-9).rounded(.up)))
        return String(format: "%.\(decimals)f", value)
    }
}

/// Where a 2-D chart's data lands on the canvas: the plot area and the axis ranges.
public struct PlotFrame: Hashable, Sendable {
    /// The axes area in canvas pixels; data inside the ranges maps inside it.
    public let plotArea: Rect
    public let xRange: AxisRange
    public let yRange: AxisRange

    public init(plotArea: Rect, xRange: AxisRange, yRange: AxisRange) {
        self.plotArea = plotArea
        self.xRange = xRange
        self.yRange = yRange
    }

    /// The canvas position of data point (x, y); y grows upwards in data space.
    public func pixel(x: Double, y: Double) -> Point {
        Point(x: pixelX(x), y: pixelY(y))
    }

    /// The canvas column of data value `x`.
    public func pixelX(_ x: Double) -> Double {
        plotArea.minX + (x - xRange.lower) / xRange.span * plotArea.width
    }

    /// The canvas row of data value `y`.
    public func pixelY(_ y: Double) -> Double {
        plotArea.maxY - (y - yRange.lower) / yRange.span * plotArea.height
    }
}
