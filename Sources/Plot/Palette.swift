// Colour-blind-safe colours: Okabe-Ito for series, viridis for magnitudes.

/// Series colours and the sequential colour map used for heatmaps and 3-D views.
public enum Palette {
    /// The Okabe-Ito palette (Okabe & Ito, 2008), ordered so that the first
    /// colours are the most distinct on white; yellow and black come last.
    public static let okabeIto: [Color] = [
        Color(hex: 0x0072B2),  // blue
        Color(hex: 0xD55E00),  // vermillion
        Color(hex: 0x009E73),  // bluish green
        Color(hex: 0xE69F00),  // orange
        Color(hex: 0xCC79A7),  // reddish purple
        Color(hex: 0x56B4E9),  // sky blue
        Color(hex: 0xF0E442),  // yellow
        Color(hex: 0x000000),  // black
    ]

    /// The colour of series number `index`, cycling through Okabe-Ito.
    public static func seriesColor(_ index: Int) -> Color {
        okabeIto[((index % okabeIto.count) + okabeIto.count) % okabeIto.count]
    }

    /// Nine evenly spaced stops of matplotlib's viridis map (perceptually
    /// uniform and readable with every common colour-vision deficiency).
    static let viridisStops: [Color] = [
        Color(hex: 0x440154), Color(hex: 0x482878), Color(hex: 0x3E4989),
        Color(hex: 0x31688E), Color(hex: 0x26828E), Color(hex: 0x1F9E89),
        Color(hex: 0x35B779), Color(hex: 0x6ECE58), Color(hex: 0xFDE725),
    ]

    /// Viridis at `t` in [0, 1] (clamped; NaN gives the low end).
    public static func viridis(_ t: Double) -> Color {
        let clamped = t.isNaN ? 0 : max(0, min(1, t))
        let position = clamped * Double(viridisStops.count - 1)
        let index = min(Int(position), viridisStops.count - 2)
        return Color.mix(viridisStops[index], viridisStops[index + 1], position - Double(index))
    }

    /// The fill for missing (NaN) cells.
    public static let missing = Color(hex: 0xD0D0D0)
}
