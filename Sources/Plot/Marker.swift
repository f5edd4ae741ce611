// Marker shapes: a second cue besides colour, so series stay apart in greyscale.

/// The shape drawn at each data point.
public enum Marker: String, Codable, CaseIterable, Sendable {
    case circle, square, triangle, diamond, none

    /// The automatic marker of series number `index` (cycles through the filled shapes).
    public static func automatic(_ index: Int) -> Marker {
        let shapes: [Marker] = [.circle, .square, .triangle, .diamond]
        return shapes[((index % shapes.count) + shapes.count) % shapes.count]
    }
}

extension Canvas {
    /// Draws `marker` centred on `center`; `radius` is the half-size of the shape.
    public mutating func drawMarker(_ marker: Marker, at center: Point, radius: Double, color: Color) {
        let r = radius
        switch marker {
        case .none:
            return
        case .circle:
            fillCircle(center: center, radius: r, color: color)
        case .square:
            let side = r * 1.8
            fillRect(Rect(x: center.x - side / 2, y: center.y - side / 2, width: side, height: side), color: color)
        case .triangle:
            let h = r * 1.15
            fillPolygon([Point(x: center.x, y: center.y - h * 1.1),
                         Point(x: center.x + h, y: center.y + h * 0.75),
                         Point(x: center.x - h, y: center.y + h * 0.75)], color: color)
        case .diamond:
            let d = r * 1.3
            fillPolygon([Point(x: center.x, y: center.y - d), Point(x: center.x + d, y: center.y),
                         Point(x: center.x, y: center.y + d), Point(x: center.x - d, y: center.y)], color: color)
        }
    }
}
