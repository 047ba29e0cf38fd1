import Foundation

/// Finds the `sandbox/` directory (zygote.py, runner.py, wire.py) at run time.
/// Order: `$ECOLOGY_SANDBOX_DIR`; next to or above the running executable (`sandbox/`,
/// `share/ecology/sandbox/`); above the current directory; the source tree this module was
/// compiled from. That covers `swift run`, `swift test`, an installed binary
/// (`PREFIX/bin/ecology` + `PREFIX/share/ecology/sandbox`) and the Docker image.
public enum SandboxLocator {
    public static let environmentVariable = "ECOLOGY_SANDBOX_DIR"

    public static func locate() throws -> String {
        var candidates: [String] = []
        if let env = ProcessInfo.processInfo.environment[environmentVariable], !env.isEmpty {
            candidates.append(env)
        }
        func walkUp(from start: String) {
            var dir = URL(fileURLWithPath: start).standardizedFileURL
            for _ in 0..<8 {
                candidates.append(dir.appendingPathComponent("sandbox").path)
                candidates.append(dir.appendingPathComponent("share/ecology/sandbox").path)
                let parent = dir.deletingLastPathComponent()
                if parent.path == dir.path { break }
                dir = parent
            }
        }
        if let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            walkUp(from: URL(fileURLWithPath: exe).deletingLastPathComponent().path)
        }
        walkUp(from: FileManager.default.currentDirectoryPath)
        // Sources/EcologySandbox/SandboxLocator.swift -> repository root.
        let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        candidates.append(source.appendingPathComponent("sandbox").path)
        for c in candidates where FileManager.default.fileExists(atPath: c + "/zygote.py") {
            return URL(fileURLWithPath: c).standardizedFileURL.path
        }
        throw SandboxError("sandbox/zygote.py not found; set \(environmentVariable) (looked in: \(candidates.prefix(6).joined(separator: ", ")) ...)")
    }
}
