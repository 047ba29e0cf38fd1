import XCTest
@testable import EcologySandbox
import EcologyCore

final class SandboxPolicyTests: XCTestCase {
    func testPoliciesPrintAndCompile() throws {
        for kind in ChildKind.allCases {
            let p = SandboxPolicy.for(kind: kind, config: WorldConfig())
            XCTAssertTrue(p.description.contains("seccomp"))
            XCTAssertEqual(p.json["kind"], .string(kind.rawValue))
            let prog = try SeccompCompiler.compile(p.seccomp)
            XCTAssertGreaterThan(prog.instructionCount, 20)
            XCTAssertEqual(prog.bpf.count % 8, 0)
        }
        let contract = SandboxPolicy.for(kind: .contract, config: WorldConfig())
        XCTAssertFalse(contract.kernelCallsAllowed)
        XCTAssertFalse(contract.seccomp.allowedNames.contains("clone"))
        XCTAssertFalse(SeccompPolicy.for(.artifact).allowedNames.contains("socket"))
        XCTAssertFalse(SeccompPolicy.for(.agent).allowedNames.contains("execve"))
    }

    func testSyscallNames() {
        XCTAssertEqual(SeccompCompiler.syscallName(41), "socket")
        XCTAssertEqual(SeccompCompiler.syscallNumber("socket"), 41)
    }
}
