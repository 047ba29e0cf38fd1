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

/// The kernel's agent statements (`Kernel.statement(of:limit:)`, docs/KPIS.md), so the
/// agent page shows the statement `ecology inspect statement` prints.
public struct KernelStatements: StatementSource {
    public let kernel: Kernel
    public init(kernel: Kernel) { self.kernel = kernel }

    public func statement(of agent: String, limit: Int?) throws -> JSONValue {
        try kernel.statement(of: agent, limit: limit).json
    }
}
