import XCTest
import Foundation
#if canImport(Glibc)
import Glibc
#endif
@testable import EcologySandbox

/// The supervisor's reading of the zygote's control messages (`Zygote.parseControl`): the
/// `spawned` record carries the child's socket (SCM_RIGHTS) and its pid (SCM_CREDENTIALS).
final class ZygoteControlTests: XCTestCase {
    func cmsg(level: Int32, type: Int32, _ payload: [Int32]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 16)
        let len = UInt64(16 + 4 * payload.count)
        withUnsafeBytes(of: len) { out.replaceSubrange(0..<8, with: $0) }
        withUnsafeBytes(of: level) { out.replaceSubrange(8..<12, with: $0) }
        withUnsafeBytes(of: type) { out.replaceSubrange(12..<16, with: $0) }
        for p in payload { withUnsafeBytes(of: p) { out += $0 } }
        while out.count % 8 != 0 { out.append(0) }
        return out
    }

    func testRightsAndCredentialsAreBothRead() {
        let bytes = cmsg(level: SOL_SOCKET, type: Int32(SCM_RIGHTS), [42])
            + cmsg(level: SOL_SOCKET, type: 2, [1234, 0, 0])
        let (pid, fds) = bytes.withUnsafeBytes { Zygote.parseControl($0) }
        XCTAssertEqual(pid, 1234)
        XCTAssertEqual(fds, [42])
    }

    func testMalformedControlDataIsIgnored() {
        // A length beyond the buffer, a length below the header, and an empty buffer.
        var long = cmsg(level: SOL_SOCKET, type: Int32(SCM_RIGHTS), [7])
        withUnsafeBytes(of: UInt64(1 << 40)) { long.replaceSubrange(0..<8, with: $0) }
        var short = cmsg(level: SOL_SOCKET, type: Int32(SCM_RIGHTS), [7])
        withUnsafeBytes(of: UInt64(3)) { short.replaceSubrange(0..<8, with: $0) }
        for bytes in [long, short, []] {
            let (pid, fds) = bytes.withUnsafeBytes { Zygote.parseControl($0) }
            XCTAssertNil(pid)
            XCTAssertEqual(fds, [])
        }
    }
}
