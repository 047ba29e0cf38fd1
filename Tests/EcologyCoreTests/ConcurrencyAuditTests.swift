import Foundation
import XCTest

/// The package builds in Swift 6 language mode, so the compiler checks every shared value;
/// `@unchecked Sendable` and `nonisolated(unsafe)` are the two ways to tell it "trust me".
/// Each use must carry its proof where it is declared: a `// Safe: …` comment on the lines
/// right under it (or above, for `nonisolated(unsafe)`), naming what protects each mutable
/// field. This test reads the sources and fails on an unexplained one, so the audit stays done.
final class ConcurrencyAuditTests: XCTestCase {
    /// How far from the declaration the proof may start (a declaration can wrap).
    static let proofWindow = 3

    func testEveryUncheckedSendableInSourcesCarriesAProof() throws {
        let sources = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Sources")
        let files = try swiftFiles(under: sources)
        XCTAssertGreaterThan(files.count, 50, "the sources were not found at \(sources.path)")
        var unproven: [String] = []
        var checked = 0
        for file in files {
            let lines = try String(contentsOf: file, encoding: .utf8).components(separatedBy: "\n")
            for (index, line) in lines.enumerated() where Self.isEscapeHatch(line) {
                checked += 1
                let after = lines[(index + 1)..<min(lines.count, index + 1 + Self.proofWindow)]
                let before = lines[max(0, index - Self.proofWindow)..<index]
                if !(after + before).contains(where: Self.isProof) {
                    unproven.append("\(file.path.replacingOccurrences(of: sources.path + "/", with: "")):\(index + 1): \(line.trimmingCharacters(in: .whitespaces))")
                }
            }
        }
        XCTAssertGreaterThan(checked, 0, "no escape hatch found at all: is the pattern still right?")
        XCTAssertEqual(unproven, [], "an @unchecked Sendable / nonisolated(unsafe) without a `// Safe:` proof next to it")
    }

    /// The detector itself: it must see a bare declaration and accept a proven one.
    func testTheDetectorSeesAnUnprovenDeclaration() {
        XCTAssertTrue(Self.isEscapeHatch("final class Box: @unchecked Sendable {"))
        XCTAssertTrue(Self.isEscapeHatch("nonisolated(unsafe) var counter = 0"))
        XCTAssertFalse(Self.isEscapeHatch("/// An `@unchecked Sendable` needs a proof."))
        XCTAssertTrue(Self.isProof("    // Safe: `value` is only touched while `lock` is held."))
        XCTAssertFalse(Self.isProof("    private var value = 0"))
    }

    static func isEscapeHatch(_ line: String) -> Bool {
        let code = line.trimmingCharacters(in: .whitespaces)
        guard !code.hasPrefix("//") else { return false }
        return code.contains("@unchecked Sendable") || code.contains("nonisolated(unsafe)")
    }

    static func isProof(_ line: String) -> Bool {
        line.trimmingCharacters(in: .whitespaces).hasPrefix("// Safe:")
    }

    private func swiftFiles(under root: URL) throws -> [URL] {
        guard let walker = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil) else { return [] }
        return walker.compactMap { $0 as? URL }.filter { $0.pathExtension == "swift" }.sorted { $0.path < $1.path }
    }
}
