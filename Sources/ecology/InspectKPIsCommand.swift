import ArgumentParser
import EcologyCore
import EcologyKernel
import Foundation

extension InspectCommand {
    /// `ecology inspect kpis`: the economic KPIs (docs/KPIS.md).
    struct KPIs: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "kpis", abstract: "Economic KPIs over the whole world or the last --window seconds (docs/KPIS.md).")
        @OptionGroup var global: GlobalOptions
        @Option(help: "Only the last SECONDS of world time (> 0, at most 100 years); default: the whole world.")
        var window: String?

        /// The window in seconds, or nil for the whole world; anything else is a clear error.
        static func parseWindow(_ text: String?) throws -> Double? {
            guard let text else { return nil }
            guard let seconds = Double(text.trimmingCharacters(in: .whitespaces)), seconds.isFinite else {
                throw ValidationError("--window must be a number of seconds, got '\(text.prefix(64))'")
            }
            guard seconds > 0, seconds <= KPIReport.maxWindowSeconds else {
                throw ValidationError("--window must be > 0 and at most 100 years (\(KPIReport.maxWindowSeconds) s), got \(text.prefix(64))")
            }
            return seconds
        }

        func validate() throws { _ = try Self.parseWindow(window) }

        func run() throws {
            let report = try global.openWorld().kpis(window: try Self.parseWindow(window))
            if global.json { Output.json(report.json); return }
            let values = report.json.objectValue ?? [:]
            let span = report.windowSeconds.map { "the last \(Self.format($0)) s" } ?? "the whole world"
            print("KPIs over \(span): world time \(Self.format(report.fromSeconds)) – \(Self.format(report.toSeconds)) (\(Self.format(report.durationSeconds)) s)")
            Output.table(["kpi", "value"], KPIReport.keys.map { key in
                switch values[key] {
                case .int(let i)?: return [key, "\(i)"]
                case .number(let d)?: return [key, String(format: "%.4f", d)]
                default: return [key, "?"]
                }
            })
        }

        static func format(_ seconds: Double) -> String { String(format: "%.1f", seconds) }
    }
}
