import EcologyCore
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The EcologyLLM tests' fake OpenAI-compatible server (`Tests/EcologyLLMTests/Fixtures/
/// fake_openai_server.py`, one copy of the script for both targets), started once per test
/// process on 127.0.0.1 with a free port. It exits when our end of its stdin closes.
/// Options go in the base URL's path (see the script), e.g. `usage=5,20` or `tools=1`.
final class FakeOpenAIServer: @unchecked Sendable {
    static let shared: Result<FakeOpenAIServer, Error> = Result { try FakeOpenAIServer() }

    let port: Int
    private let process: Process
    private let stdin: Pipe

    private init() throws {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("EcologyLLMTests/Fixtures/fake_openai_server.py")
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script.path]
        stdin = Pipe()
        let stdout = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        try process.run()
        var line = Data()
        while !line.contains(UInt8(ascii: "\n")) {
            let chunk = stdout.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line.append(chunk)
        }
        guard let text = String(data: line, encoding: .utf8),
              let port = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw NSError(domain: "FakeOpenAIServer", code: 1,
                          userInfo: [NSLocalizedDescriptionKey: "the fixture server \(script.path) did not print its port"])
        }
        self.port = port
    }

    static func get() throws -> FakeOpenAIServer { try shared.get() }

    /// A base URL whose path carries the server's behaviour options, e.g. `["usage=5,20"]`.
    func baseURL(_ options: [String] = []) -> String {
        (["http://127.0.0.1:\(port)"] + options + ["v1"]).joined(separator: "/")
    }
}
