import Foundation
import XCTest

/// Runs the Python side's own tests (`sandbox/tests`: agent runtime, minds, tool
/// library) as part of the README's single test command.
final class PythonRuntimeTests: XCTestCase {
    func testSandboxPythonSuite() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let python = FileManager.default.isExecutableFile(atPath: "/usr/bin/python3") ? "/usr/bin/python3" : "python3"
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = [python, "-m", "unittest", "discover", "-s", "sandbox/tests", "-t", "sandbox"]
        p.currentDirectoryURL = root
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        XCTAssertEqual(p.terminationStatus, 0, "python unittest failed:\n\(text.suffix(4000))")
        XCTAssertTrue(text.contains("\nOK"), "python unittest ran no tests or did not pass:\n\(text.suffix(2000))")
        XCTAssertFalse(text.contains("Ran 0 tests"), "python unittest found no tests")
    }
}
