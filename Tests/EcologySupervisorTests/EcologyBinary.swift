import Foundation
#if canImport(Glibc)
import Glibc
#endif
import XCTest

/// The `ecology` binary built next to this test bundle (`.build/…/debug/ecology`), run as
/// an operator would, and the process tree it leaves: for the crash-safety and
/// kill-loop tests.
enum EcologyBinary {
    /// The repository root (for `config/ecology.yaml`).
    static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func url() throws -> URL {
        let exe = URL(fileURLWithPath: try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
        let candidate = exe.deletingLastPathComponent().appendingPathComponent("ecology")
        guard FileManager.default.isExecutableFile(atPath: candidate.path) else {
            XCTFail("no ecology binary at \(candidate.path): build it with the tests (`swift build --build-tests`)")
            throw CocoaError(.fileNoSuchFile)
        }
        return candidate
    }

    struct Started {
        let process: Process
        let out: URL, err: URL
        var pid: Int32 { process.processIdentifier }
        func output() -> String { (try? String(contentsOf: out, encoding: .utf8)) ?? "" }
        func errors() -> String { (try? String(contentsOf: err, encoding: .utf8)) ?? "" }
    }

    /// The repository's configuration file.
    static var repoConfig: String { repoRoot.appendingPathComponent("config/ecology.yaml").path }

    /// Starts `ecology ARGS --config CONFIG` (the repository's file unless told; no
    /// `--config` at all when `config` is nil) in `directory` (the repository root unless
    /// told), its output in files under `scratch`. With `ownProcessGroup` it leads a process
    /// group of its own, as a shell's foreground job does: signalling the group is what
    /// a terminal's Ctrl-C does.
    static func start(_ args: [String], scratch: URL, config: String? = repoConfig, directory: URL? = nil,
                      ownProcessGroup: Bool = false) throws -> Started {
        let p = Process()
        let arguments = args + (config.map { ["--config", $0] } ?? [])
        if ownProcessGroup {
            // setpgid then exec: the pid stays the binary's, and so the group's id.
            p.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
            p.arguments = ["-c", "import os, sys; os.setpgid(0, 0); os.execv(sys.argv[1], sys.argv[1:])", try url().path] + arguments
        } else {
            p.executableURL = try url()
            p.arguments = arguments
        }
        p.currentDirectoryURL = directory ?? repoRoot
        let out = scratch.appendingPathComponent("out-\(UUID().uuidString)"), err = scratch.appendingPathComponent("err-\(UUID().uuidString)")
        FileManager.default.createFile(atPath: out.path, contents: nil)
        FileManager.default.createFile(atPath: err.path, contents: nil)
        p.standardOutput = try FileHandle(forWritingTo: out)
        p.standardError = try FileHandle(forWritingTo: err)
        p.standardInput = FileHandle.nullDevice
        try p.run()
        return Started(process: p, out: out, err: err)
    }

    /// Runs `ecology ARGS` to completion; returns (exit status, stdout, stderr).
    @discardableResult
    static func run(_ args: [String], scratch: URL, timeout: Double = 60, config: String? = repoConfig,
                    directory: URL? = nil) throws -> (Int32, String, String) {
        let p = try start(args, scratch: scratch, config: config, directory: directory)
        let deadline = Date().addingTimeInterval(timeout)
        while p.process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        if p.process.isRunning { p.process.terminate(); XCTFail("ecology \(args.first ?? "") did not finish in \(timeout) s") }
        p.process.waitUntilExit()
        defer { try? FileManager.default.removeItem(at: p.out); try? FileManager.default.removeItem(at: p.err) }
        return (p.process.terminationStatus, p.output(), p.errors())
    }
}
