// 8-bit RGBA colours.

/// An sRGB colour with 8-bit channels and straight (non-premultiplied) alpha.
public struct Color: Codable, Hashable, Sendable {
    public var red: UInt8
    public var green: UInt8
    public var blue: UInt8
    public var alpha: UInt8

    public init(red: UInt8, green: UInt8, blue: UInt8, alpha: UInt8 = 255) {
        self.red = red
        self.green = green
        self.blue = blue
        self.alpha = alpha
    }

    /// A colour from a 0xRRGGBB literal.
    public init(hex: UInt32, alpha: UInt8 = 255) {
        self.init(red: UInt8((hex >> 16) & 0xFF), green: UInt8((hex >> 8) & 0xFF),
                  blue: UInt8(hex & 0xFF), alpha: alpha)
    }

    public static let white = Color(hex: 0xFFFFFF)
    public static let black = Color(hex: 0x000000)
    /// Text and axis lines: near-black reads softer than pure black.
    public static let ink = Color(hex: 0x222222)
    public static let gridGray = Color(hex: 0xE6E6E6)
    public static let midGray = Color(hex: 0x888888)

    /// The colour with its RGB channels multiplied by `factor` (clamped), for shading.
    public func shaded(_ factor: Double) -> Color {
        func channel(_ value: UInt8) -> UInt8 {
            UInt8(max(0, min(255, (Double(value) * factor).rounded())))
        }
        return Color(red: channel(red), green: channel(green), blue: channel(blue), alpha: alpha)
    }

    /// The colour with a new alpha.
    public func withAlpha(_ alpha: UInt8) -> Color {
        Color(red: red, green: green, blue: blue, alpha: alpha)
    }

    /// Linear interpolation between two colours, `t` in [0, 1].
    public static func mix(_ a: Color, _ b: Color, _ t: Double) -> Color {
        func lerp(_ x: UInt8, _ y: UInt8) -> UInt8 {
            UInt8((Double(x) + (Double(y) - Double(x)) * t).rounded())
        }
        return Color(red: lerp(a.red, b.red), green: lerp(a.green, b.green),
                     blue: lerp(a.blue, b.blue), alpha: lerp(a.alpha, b.alpha))
    }
}
