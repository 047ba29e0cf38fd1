import EcologyCore
@testable import EcologyKernel
import XCTest

/// Class 1 of issue 9: nothing untrusted traps the runtime.
///
/// Each test is a hostile agent acting through `Kernel.handle` with the parameters an
/// agent child would send: raw JSON text parsed by the same `JSONCodec.decode` that
/// decodes frames, so `1e300`, `9.3e18` and `-9223372036854775809` arrive exactly as they
/// would on the wire. A Swift trap kills the test process (and, in production, the
/// supervisor with every agent); each test asserts the documented code instead, that the
/// ledger is intact, and that the kernel keeps serving.
final class UntrustedNumberAttackTests: XCTestCase {
    /// What an agent child sends: JSON text, decoded as the supervisor decodes a frame.
    func params(_ json: String, file: StaticString = #filePath, line: UInt = #line) throws -> JSONValue {
        try JSONCodec.decode(json)
    }

    /// The kernel still answers a cheap action and the ledger's invariants hold.
    func assertStillServing(_ w: TestWorld, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertTrue(w.act("alpha", "noop", [:]).isOK, "the kernel stopped serving", file: file, line: line)
        XCTAssertTrue(w.act("beta", "observe", [:]).isOK, "observe failed", file: file, line: line)
        w.assertInvariants(file: file, line: line)
    }

    // MARK: - inputSchema bounds (JSONSchema)

    /// A tool whose `inputSchema` has bounds beyond Int64. Refusing an argument used to
    /// format the bound with `Int64(bound)`, which traps for 1e300 (or 1e19): one invoke
    /// by anyone killed the supervisor.
    func testSchemaBoundsBeyondInt64AnswerInvalidArgs() throws {
        let w = try TestWorld()
        let tool = try params("""
            {"artifact_id": "bounded", "code": "echo", "content": "a tool with absurd bounds",
             "interface": {"tools": [
               {"name": "low", "description": "x ≥ 1e300", "inputSchema": {"type": "object", "required": ["x"],
                 "properties": {"x": {"type": "number", "minimum": 1e300}}}},
               {"name": "high", "description": "x ≤ -1e19", "inputSchema": {"type": "object", "required": ["x"],
                 "properties": {"x": {"type": "number", "maximum": -1e19}}}},
               {"name": "int", "description": "x ≤ 9.3e18", "inputSchema": {"type": "object", "required": ["x"],
                 "properties": {"x": {"type": "integer", "maximum": 9.3e18, "minimum": -9.3e18}}}}
             ]}}
            """)
        try XCTUnwrapOK(w.act("alpha", "write", tool))
        // minLength / maxLength that are not exact non-negative integers are malformed: refused when written.
        let lengths = try params("""
            {"artifact_id": "lengths", "code": "echo", "content": "lengths of 1e300",
             "interface": {"tools": [{"name": "len", "description": "s of length ≥ 1e300", "inputSchema": {"type": "object",
               "required": ["s"], "properties": {"s": {"type": "string", "minLength": 1e300, "maxLength": -1e300}}}}]}}
            """)
        let refused = w.act("alpha", "write", lengths)
        XCTAssertCode(refused, .invalidArgs)
        XCTAssertEqual(refused.error?.details?["keyword"], "maxLength", "\(refused)")
        let before = try w.snapshot()
        let low = w.act("beta", "invoke", try params(#"{"artifact_id": "bounded", "method": "low", "args": [{"x": 0}]}"#))
        XCTAssertCode(low, .invalidArgs)
        XCTAssertEqual(low.error?.message.contains("1e+300"), true, "the bound is named as written: \(low)")
        XCTAssertCode(w.act("beta", "invoke", try params(#"{"artifact_id": "bounded", "method": "high", "args": [{"x": 0}]}"#)), .invalidArgs)
        // Int64.max is within ±9.3e18; the exact comparison must not round it past the bound either.
        XCTAssertTrue(w.act("beta", "invoke", try params(#"{"artifact_id": "bounded", "method": "int", "args": [{"x": 9223372036854775807}]}"#)).isOK)
        XCTAssertCode(w.act("beta", "invoke", try params(#"{"artifact_id": "bounded", "method": "int", "args": [{"x": 1e300}]}"#)), .invalidArgs)
        XCTAssertEqual(try w.snapshot().filter { !$0.hasPrefix("events") && !$0.hasPrefix("principals") },
                       before.filter { !$0.hasPrefix("events") && !$0.hasPrefix("principals") })
        assertStillServing(w)
    }

    /// Exact comparison of integers with integer bounds: 2^53 + 1 is above a maximum of
    /// 2^53 although both are the same double.
    func testIntegerBoundsCompareExactly() throws {
        let w = try TestWorld()
        try XCTUnwrapOK(w.act("alpha", "write", try params("""
            {"artifact_id": "exact", "code": "echo", "interface": {"tools": [{"name": "run", "description": "n ≤ 2^53",
              "inputSchema": {"type": "object", "properties": {"n": {"type": "integer", "maximum": 9007199254740992}}}}]}}
            """)))
        XCTAssertTrue(w.act("beta", "invoke", try params(#"{"artifact_id": "exact", "method": "run", "args": [{"n": 9007199254740992}]}"#)).isOK)
        XCTAssertCode(w.act("beta", "invoke", try params(#"{"artifact_id": "exact", "method": "run", "args": [{"n": 9007199254740993}]}"#)), .invalidArgs)
        assertStillServing(w)
    }

    // MARK: - a contract's content

    /// A contract that declares an absurd cache lifetime. Caching its answer computed
    /// `now + Int64(ttl × 1e6)`: 1e300 traps the conversion, 9.3e12 s the addition. The
    /// answer is cached "forever" (the lifetime saturates) and the read is served.
    func testContractCacheLifetimeBeyondInt64IsClamped() throws {
        for ttl in ["1e300", "9.3e12", "9223372036854.775807"] {
            let w = try TestWorld()
            try XCTUnwrapOK(w.act("alpha", "write", try params("""
                {"artifact_id": "forever", "kind": "contract", "code": "requesters=*;actions=*",
                 "content": "{\\"cache_ttl_seconds\\": \(ttl)}",
                 "interface": {"tools": [{"name": "check_permission", "description": "decides access"}]}}
                """)))
            try XCTUnwrapOK(w.act("alpha", "write", try params(#"{"artifact_id": "guarded", "content": "hello", "contract": "forever"}"#)))
            let read = try XCTUnwrapOK(w.act("beta", "read", try params(#"{"artifact_id": "guarded"}"#)))
            XCTAssertEqual(read["content"], "hello")
            // Cached: the second read does not run the contract again.
            let runs = w.executor.count(.contract)
            XCTAssertTrue(w.act("beta", "read", ["artifact_id": "guarded"]).isOK)
            XCTAssertEqual(w.executor.count(.contract), runs, "ttl \(ttl): the answer was not cached")
            assertStillServing(w)
        }
    }

    // MARK: - token buckets (compute) with large configured quotas

    /// A world configured with the largest compute quotas the config allows
    /// (9,223,372,036,854 CPU-ms: Int64.max scaled units). Crediting a full bucket did
    /// `scaled + units × 1e6` and overflowed; a capacity above that made every refill's
    /// `capacity × 1e6` overflow, on the next action of its holder.
    func testBucketArithmeticAtTheConfiguredMaximumDoesNotTrap() throws {
        let maxUnits: Int64 = 9_223_372_036_854
        var config = WorldConfig()
        config.limits.maxAmount = 1 << 53
        config.resources.compute = BucketConfig(ratePerSecond: maxUnits, capacity: maxUnits, initial: maxUnits)
        // Within the config's bounds (ConfigNumberAttackTests holds the loader to them).
        let w = try TestWorld(config: config)
        XCTAssertTrue(w.act("alpha", "observe", [:]).isOK)
        // beta's bucket is full: one more CPU-ms does not fit, and nothing moves.
        let credit = try params("""
            {"artifact_id": "genesis_rights_registry", "method": "transfer_quota",
             "args": [{"to": "beta", "resource": "compute", "amount": 1000000000000}]}
            """)
        w.assertFailsCleanly(.invalidArgs) { w.act("alpha", "invoke", credit) }
        // Capacity beyond what a bucket can hold is accepted and saturates on refill.
        try XCTUnwrapOK(w.act("alpha", "invoke", try params("""
            {"artifact_id": "genesis_rights_registry", "method": "transfer_quota",
             "args": [{"to": "beta", "resource": "compute_capacity", "amount": \(maxUnits)}]}
            """)))
        XCTAssertEqual(try w.principal("beta")?.compute.capacity, 2 * maxUnits)
        XCTAssertEqual(try w.principal("alpha")?.compute.capacity, 0)
        w.clock.advance(seconds: 3600)
        XCTAssertTrue(w.act("beta", "observe", [:]).isOK)
        XCTAssertTrue(w.act("alpha", "observe", [:]).isOK)
        XCTAssertEqual(try w.compute("beta"), maxUnits, "a bucket holds at most Int64.max scaled units")
        assertStillServing(w)
    }

    /// A quota transfer whose sum does not fit 64 bits is refused, not wrapped.
    func testQuotaTransferOverflowIsInvalidArgs() throws {
        var config = WorldConfig()
        config.limits.maxAmount = 1 << 53
        let w = try TestWorld(config: config)
        // beta already holds a disk quota near Int64.max (set directly: no config allows it).
        try w.database.write { db in try db.execute(sql: "UPDATE principals SET disk_quota = 9223372036854775000 WHERE id = 'beta'") }
        try w.database.write { db in try db.execute(sql: "UPDATE principals SET disk_quota = 9007199254740992 WHERE id = 'alpha'") }
        let give = try params("""
            {"artifact_id": "genesis_rights_registry", "method": "transfer_quota",
             "args": [{"to": "beta", "resource": "disk", "amount": 9007199254740000}]}
            """)
        let error = w.assertFailsCleanly(.invalidArgs) { w.act("alpha", "invoke", give) }
        XCTAssertEqual(error?.message.contains("overflow"), true, "\(String(describing: error))")
        assertStillServing(w)
    }

    // MARK: - genesis_debt terms

    /// `due_in_seconds × 1e6` with a term near the configured max_amount overflowed.
    func testDebtTermBeyondInt64MicrosIsInvalidArgs() throws {
        var config = WorldConfig()
        config.limits.maxAmount = 1 << 53
        // Within the config's bounds (ConfigNumberAttackTests holds the loader to them).
        let w = try TestWorld(config: config)
        for term in ["9007199254740992", "9223372036855", "9.007e15"] {
            let issue = try params("""
                {"artifact_id": "genesis_debt", "method": "issue",
                 "args": [{"creditor": "beta", "amount": 10, "repay_amount": 9007199254740992, "due_in_seconds": \(term)}]}
                """)
            w.assertFailsCleanly(.invalidArgs) { w.act("alpha", "invoke", issue) }
        }
        // A long but representable term still works.
        let ok = try XCTUnwrapOK(w.act("alpha", "invoke", try params("""
            {"artifact_id": "genesis_debt", "method": "issue",
             "args": [{"creditor": "beta", "amount": 10, "repay_amount": 9007199254740992, "due_in_seconds": 3153600000}]}
            """)))
        XCTAssertEqual(ok["status"], "requested")
        assertStillServing(w)
    }

    // MARK: - integers that are not exact Int64s

    /// Every integer argument must be an exact integer within Int64 (then within the
    /// action's own bounds): 1e300, -1e300, 9.3e18, 2^63, 1.5 and -2^63-1 are INVALID_ARGS
    /// wherever an integer is required, and nothing moves.
    func testIntegerArgumentsMustBeExactInt64() throws {
        let w = try TestWorld()
        let hostile = ["1e300", "-1e300", "9.3e18", "9223372036854775808", "-9223372036854775809", "1.5",
                       "9223372036854775807", "-9223372036854775808", "0", "-1", "1e-300", "123456789012345678901234567890"]
        for n in hostile {
            let transfer = try params(#"{"artifact_id": "genesis_ledger", "method": "transfer", "args": [{"to": "beta", "amount": \#(n)}]}"#)
            let bid = try params(#"{"artifact_id": "genesis_mint", "method": "bid", "args": [{"artifact_id": "alpha", "amount": \#(n)}]}"#)
            let page = try params(#"{"artifact_id": "genesis_ledger", "method": "all_balances", "args": [{"limit": \#(n)}]}"#)
            w.assertFailsCleanly(.invalidArgs) { w.act("alpha", "invoke", transfer) }
            w.assertFailsCleanly(.invalidArgs) { w.act("alpha", "invoke", bid) }
            w.assertFailsCleanly(.invalidArgs) { w.act("alpha", "invoke", page) }
            XCTAssertCode(w.act("alpha", "invoke", try params(#"{"artifact_id": "genesis_event_log", "method": "read", "args": [{"limit": \#(n)}]}"#)), .invalidArgs)
            XCTAssertCode(w.act("alpha", "invoke", try params(#"{"artifact_id": "genesis_store", "method": "list", "args": [{"limit": \#(n)}]}"#)), .invalidArgs)
            XCTAssertCode(w.act("alpha", "invoke", try params(#"{"artifact_id": "genesis_store", "method": "search", "args": [{"query": "alpha", "limit": \#(n)}]}"#)), .invalidArgs)
        }
        // An exact integer written with an exponent is an integer.
        XCTAssertTrue(w.act("alpha", "invoke", try params(#"{"artifact_id": "genesis_ledger", "method": "transfer", "args": [{"to": "beta", "amount": 1e1}]}"#)).isOK)
        XCTAssertEqual(try w.scrip("beta"), 110)
        assertStillServing(w)
    }

    /// What the JSON grammar cannot carry never becomes a number: NaN, infinities and
    /// overflowing exponents are refused by the parser (INVALID_ARGS; PROTOCOL_ERROR for a
    /// child's frame); negative zero and subnormals parse, and are no positive amount.
    func testNonFiniteAndEdgeNumbersAreRefusedOrExact() throws {
        for text in ["NaN", "-NaN", "Infinity", "-Infinity", "1e999", "-1e400", "0x10", "+1", ".5", "1.", "01", "1e", "--1"] {
            XCTAssertThrowsError(try params(#"{"amount": \#(text)}"#), text) { error in
                XCTAssertEqual((error as? KernelError)?.code, .invalidArgs, text)
            }
        }
        XCTAssertEqual(try params(#"{"a": -0}"#)["a"]?.intValue, 0)
        XCTAssertEqual(try params(#"{"a": -0.0}"#)["a"]?.intValue, 0)
        XCTAssertEqual(try params(#"{"a": 9007199254740991.0}"#)["a"]?.intValue, 9_007_199_254_740_991)
        XCTAssertNil(try params(#"{"a": 9007199254740992.0}"#)["a"]?.intValue, "beyond 2^53 − 1 a double is no integer")
        XCTAssertNil(try params(#"{"a": 5e-324}"#)["a"]?.intValue)
        let w = try TestWorld()
        for amount in ["-0", "-0.0", "5e-324", "-5e-324"] {
            let transfer = try params(#"{"artifact_id": "genesis_ledger", "method": "transfer", "args": [{"to": "beta", "amount": \#(amount)}]}"#)
            w.assertFailsCleanly(.invalidArgs) { w.act("alpha", "invoke", transfer) }
        }
        assertStillServing(w)
    }

    /// Offsets beyond anything stored are empty pages, not traps or errors.
    func testHugeOffsetsAndListingIDsAreHandled() throws {
        let w = try TestWorld()
        for n in ["9223372036854775807", "1e15", "9007199254740991"] {
            XCTAssertEqual(try XCTUnwrapOK(w.act("alpha", "invoke", try params(#"{"artifact_id": "genesis_event_log", "method": "read", "args": [{"offset": \#(n)}]}"#))), .array([]))
            XCTAssertEqual(try XCTUnwrapOK(w.act("alpha", "invoke", try params(#"{"artifact_id": "genesis_store", "method": "list", "args": [{"offset": \#(n)}]}"#))), .array([]))
            XCTAssertCode(w.act("alpha", "invoke", try params(#"{"artifact_id": "genesis_escrow", "method": "purchase", "args": [{"listing_id": \#(n)}]}"#)), .notFound)
            XCTAssertCode(w.act("alpha", "invoke", try params(#"{"artifact_id": "genesis_mint", "method": "check", "args": [{"round": \#(n)}]}"#)), .notFound)
        }
        for n in ["1e300", "1e18", "-9223372036854775809"] {
            XCTAssertCode(w.act("alpha", "invoke", try params(#"{"artifact_id": "genesis_escrow", "method": "purchase", "args": [{"listing_id": \#(n)}]}"#)), .invalidArgs)
        }
        assertStillServing(w)
    }

    // MARK: - sizes an agent multiplies

    /// `edit` of 200,000 × "a" with old "a" and a 200,000-byte `new` used to build the
    /// 40 GB result before checking the content limit: one action could exhaust the
    /// supervisor's memory. The result is sized first (with overflow-checked arithmetic).
    func testEditCannotMultiplyContentBeforeTheLimit() throws {
        let w = try TestWorld()
        try XCTUnwrapOK(w.act("alpha", "write", ["artifact_id": "aaaa", "content": .string(String(repeating: "a", count: 200_000))]))
        let bomb: JSONValue = ["artifact_id": "aaaa", "old": "a", "new": .string(String(repeating: "b", count: 200_000))]
        let error = w.assertFailsCleanly(.invalidArgs) { w.act("alpha", "edit", bomb) }
        XCTAssertEqual(error?.message.contains("would exceed"), true, "\(String(describing: error))")
        // An edit that fits still works.
        try XCTUnwrapOK(w.act("alpha", "edit", ["artifact_id": "aaaa", "old": "aaaa", "new": "b"]))
        XCTAssertEqual(try w.artifact("aaaa")?.content, String(repeating: "b", count: 50_000))
        assertStillServing(w)
    }

    // MARK: - scrip at the edge of Int64

    /// A balance that cannot take more: the credit is refused instead of SQLite turning the
    /// sum into a REAL (which the next read of the row would fail to decode).
    func testScripCreditBeyondInt64IsRefused() throws {
        let w = try TestWorld()
        try w.database.write { db in
            try db.execute(sql: "UPDATE principals SET scrip = 9223372036854775800 WHERE id = 'beta'")
            try db.execute(sql: "UPDATE world_meta SET value = CAST(CAST(value AS INTEGER) + 9223372036854775700 AS TEXT) WHERE key = 'initial_scrip'")
        }
        let transfer = try params(#"{"artifact_id": "genesis_ledger", "method": "transfer", "args": [{"to": "beta", "amount": 50}]}"#)
        w.assertFailsCleanly(.invalidArgs) { w.act("alpha", "invoke", transfer) }
        XCTAssertEqual(try w.scrip("beta"), 9223372036854775800)
        XCTAssertTrue(w.act("alpha", "invoke", try params(#"{"artifact_id": "genesis_ledger", "method": "all_balances", "args": []}"#)).isOK)
        XCTAssertTrue(w.act("alpha", "noop", [:]).isOK)
    }
}
