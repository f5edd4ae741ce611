/// A measured cell: one value per seed (top-1 %, or a derived quantity).
public struct CellValues: Codable {
    public var values: [Double]
    public init(values: [Double]) { self.values = values }
    public var mean: Double { values.reduce(0, +) / Double(max(values.count, 1)) }
    public var std: Double {
        guard values.count > 1 else { return 0 }
        let m = mean
        return (values.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(values.count - 1)).squareRoot()
    }
}
