/// Pure formulas of the economic KPIs (docs/KPIS.md), on plain arrays.
///
/// Every measure is total: an empty or all-zero input gives 0, never NaN, because the
/// KPIs travel as JSON, which cannot carry NaN or infinities. Sums are taken in `Double`,
/// so balances near `Int64.max` cannot overflow them.
public enum EconomicMeasures {
    /// `numerator / denominator`, or 0 when the denominator is not positive.
    public static func ratio(_ numerator: Double, _ denominator: Double) -> Double {
        guard denominator > 0, numerator.isFinite, denominator.isFinite else { return 0 }
        return numerator / denominator
    }

    /// The Gini coefficient of non-negative holdings: 0 when everyone holds the same,
    /// (n−1)/n when one holder has everything. Negative values count as 0 (scrip never is).
    /// G = Σᵢ (2i − n − 1)·xᵢ / (n · Σ x), with x sorted ascending and i from 1.
    public static func gini(_ values: [Int64]) -> Double {
        let sorted = values.map { Double(max(0, $0)) }.sorted()
        let n = Double(sorted.count)
        let total = sorted.reduce(0, +)
        guard n > 0, total > 0 else { return 0 }
        var weighted = 0.0
        for (index, x) in sorted.enumerated() { weighted += (2 * Double(index + 1) - n - 1) * x }
        return weighted / (n * total)
    }

    /// The Herfindahl–Hirschman index of shares: Σ (xᵢ / Σ x)², in [1/n, 1]; 1 when one
    /// holder has everything, 0 for no (or only non-positive) amounts.
    public static func herfindahl(_ amounts: [Double]) -> Double {
        let positive = amounts.filter { $0 > 0 && $0.isFinite }
        let total = positive.reduce(0, +)
        guard total > 0 else { return 0 }
        return positive.reduce(0) { $0 + ($1 / total) * ($1 / total) }
    }

    /// The coefficient of variation (population standard deviation over the mean): 0 when
    /// every value is equal, when there are no values, or when their mean is not positive.
    public static func coefficientOfVariation(_ values: [Double]) -> Double {
        let finite = values.filter(\.isFinite)
        guard !finite.isEmpty else { return 0 }
        let n = Double(finite.count)
        let mean = finite.reduce(0, +) / n
        guard mean > 0 else { return 0 }
        let variance = finite.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / n
        return variance.squareRoot() / mean
    }
}
