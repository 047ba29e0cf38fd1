import EcologyCore
import EcologyKernel

/// The kernel's inspection layer as the observatory's sources: the KPI module
/// (`Kernel.kpis`, docs/KPIS.md), so the page, `/metrics` and `ecology inspect kpis`
/// show the same numbers.
public struct KernelKPIs: KPISource {
    public let kernel: Kernel
    public init(kernel: Kernel) { self.kernel = kernel }

    public func kpis(window: Double?) throws -> (json: JSONValue, keys: [String]) {
        (try kernel.kpis(window: window).json, KPIReport.keys)
    }
}
