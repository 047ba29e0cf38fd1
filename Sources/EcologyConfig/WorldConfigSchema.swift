import EcologyCore
import Yams

/// The keys of `config/ecology.yaml`, their bounds, and where each lands in `WorldConfig`.
/// `docs/CONFIG.md` documents exactly these keys (a test holds it to that).
enum WorldConfigSchema {
    static let maxInt64 = Int64.max
    static let mebibyte: Int64 = 1_048_576
    /// The largest quantity (scrip, bytes, micro-dollars, an amount): 2^53, exact as a JSON
    /// double too, and far enough from Int64.max that sums of a few of them cannot overflow.
    static let maxQuantity: Int64 = 1 << 53
    /// The largest token-bucket value (CPU-ms, tokens, per second too): Int64.max scaled units.
    static let maxBucketUnits: Int64 = TokenBucket.maxUnits
    /// The longest duration, in seconds: 100 years. In nanoseconds it still fits Int64, so
    /// no timer, deadline or `Int(seconds)` conversion built from a duration can overflow.
    static let maxDurationSeconds: Int64 = NumberBound.maxDurationSeconds
    /// The largest size of one content, code or output: the largest frame (they travel in one).
    static let maxFrameSize = 64 * 1_048_576

    static let entries: [ConfigEntry<WorldConfig>] = [
        .section("resources", \.resources, [
            .section("compute", \.compute, bucket),
            .section("llm_rate", \.llmRate, bucket),
            .section("system_llm_rate", \.systemLLMRate, bucket),
            .integer("disk_quota_bytes", \.diskQuotaBytes, 0...maxQuantity),
            .integer("llm_budget_microdollars", \.llmBudgetMicrodollars, 0...maxQuantity),
            .integer("memory_limit_bytes", \.memoryLimitBytes, 16 * mebibyte...maxQuantity),
        ]),
        .section("costs", \.costs, [
            .integer("read_ms", \.readMs, 0...maxBucketUnits),
            .integer("write_ms", \.writeMs, 0...maxBucketUnits),
            .integer("invoke_genesis_ms", \.invokeGenesisMs, 0...maxBucketUnits),
            .integer("llm_call_ms", \.llmCallMs, 0...maxBucketUnits),
        ]),
        .section("limits", \.limits, [
            .integer("max_frame_bytes", \.maxFrameBytes, 4_096...64 * 1_048_576),
            .integer("max_content_bytes", \.maxContentBytes, 1...maxFrameSize),
            .integer("max_code_bytes", \.maxCodeBytes, 1...maxFrameSize),
            .integer("max_invoke_depth", \.maxInvokeDepth, 1...64),
            .number("invoke_timeout_seconds", \.invokeTimeoutSeconds, .duration),
            .number("contract_timeout_seconds", \.contractTimeoutSeconds, .duration),
            .integer("max_output_bytes", \.maxOutputBytes, 1...maxFrameSize),
            .integer("execution_cpu_seconds", \.executionCPUSeconds, 1...Int(maxDurationSeconds)),
            .integer("execution_pids", \.executionPids, 1...4_096),
            .integer("max_amount", \.maxAmount, 1...maxQuantity),
        ]),
        .section("mint", \.mint, [
            .integer("period_seconds", \.periodSeconds, 1...maxDurationSeconds),
            .integer("slots", \.slots, 1...Int.max),
            .integer("mint_ratio", \.mintRatio, 1...maxInt64),
            .integer("minimum_bid", \.minimumBid, 0...maxQuantity),
            .integer("ubi_floor", \.ubiFloor, 0...maxQuantity),
            .choice("scorer", \.scorer, ["builtin", "llm"]),
        ]),
        .section("world", \.world, [
            .integer("tombstone_retention_seconds", \.tombstoneRetentionSeconds, 0...maxDurationSeconds),
            .integer("permission_cache_entries", \.permissionCacheEntries, 0...Int.max),
        ]),
        .section("retention", \.retention, [
            .number("interval_seconds", \.intervalSeconds, .duration),
            .integer("batch_rows", \.batchRows, 1...1_000_000),
            .integer("trace_max_age_seconds", \.traceMaxAgeSeconds, 0...maxDurationSeconds),
            .integer("trace_max_per_agent", \.traceMaxPerAgent, 0...Int.max),
            .integer("memory_max_age_seconds", \.memoryMaxAgeSeconds, 0...maxDurationSeconds),
            .integer("memory_max_per_agent", \.memoryMaxPerAgent, 0...Int.max),
            .integer("event_max_age_seconds", \.eventMaxAgeSeconds, 0...maxDurationSeconds),
            .integer("event_max_rows", \.eventMaxRows, 0...maxInt64),
        ]),
        .section("sandbox", \.sandbox, [
            .text("python", \.python) { $0.hasPrefix("/") ? nil : "must be an absolute path" },
            .choice("mode", \.mode, ["auto", "none"]),
        ]),
        .section("supervisor", \.supervisor, [
            .integer("restart_intensity", \.restartIntensity, 0...Int.max),
            .number("restart_period_seconds", \.restartPeriodSeconds, .duration),
            .number("restart_backoff_seconds", \.restartBackoffSeconds, .durationOrZero),
            .number("shutdown_timeout_seconds", \.shutdownTimeoutSeconds, .duration),
            .number("metrics_window_seconds", \.metricsWindowSeconds, .duration),
        ]),
        .section("llm", \.llm, [
            .text("base_url", \.baseURL) {
                ($0.hasPrefix("http://") || $0.hasPrefix("https://")) && $0.count > "https://".count
                    ? nil : "must be an http:// or https:// URL"
            },
            .text("model", \.model) { $0.isEmpty ? "must not be empty" : nil },
            .text("api_key_env", \.apiKeyEnv) {
                isEnvironmentVariableName($0)
                    ? nil : "must be the name of an environment variable (letters, digits and '_', not starting with a digit)"
            },
            .integer("max_tokens", \.maxTokens, 1...1_000_000),
            .number("temperature", \.temperature, .range(0...2)),
            .number("timeout_seconds", \.timeoutSeconds, .duration),
            .choice("structured_output", \.structuredOutput, ["tools", "json_schema", "json_object"]),
            prices,
        ]),
        agents,
    ]

    static let bucket: [ConfigEntry<BucketConfig>] = [
        .integer("rate_per_second", \.ratePerSecond, 0...maxBucketUnits),
        .integer("capacity", \.capacity, 0...maxBucketUnits),
        .integer("initial", \.initial, 0...maxBucketUnits),
    ]

    static let price: [ConfigEntry<ModelPrice>] = [
        .integer("input_per_million_microdollars", \.inputPerMillionMicrodollars, 0...maxInt64),
        .integer("output_per_million_microdollars", \.outputPerMillionMicrodollars, 0...maxInt64),
    ]

    static let agent: [ConfigEntry<AgentSpec>] = [
        .text("id", \.id) { id in
            if !ArtifactID.isValid(id) {
                return "must be an artifact ID of 1-\(ArtifactID.maxLength) letters, digits, '_', '.' or '-'"
            }
            return id.hasPrefix("genesis_") ? "must not start with \"genesis_\" (reserved for genesis artifacts)" : nil
        },
        .integer("scrip", \.scrip, 0...maxQuantity),
        .text("mind", \.mind, problem: AgentMind.problem(with:)),
        .text("prompt", \.prompt) { _ in nil },
    ]

    /// `llm.prices`: model name → price. Given models are added to (or replace fields of)
    /// the defaults; a model new to the table must give both prices.
    static let prices = ConfigEntry<LLMSettings>(
        key: "prices",
        decode: { node, path, llm in
            if ConfigScalar.isNull(node) { return }
            guard case .mapping(let mapping) = node else {
                throw ConfigError.invalid(path, "must be a mapping of model name to price, got \(ConfigScalar.describe(node))")
            }
            for (modelNode, priceNode) in mapping {
                guard let model = ConfigScalar.text(modelNode), !model.isEmpty else {
                    throw ConfigError.invalid(path, "model names must be non-empty strings, got \(ConfigScalar.describe(modelNode))")
                }
                let modelPath = joinPath(path, model)
                let known = llm.prices[model]
                var value = known ?? ModelPrice(inputPerMillionMicrodollars: 0, outputPerMillionMicrodollars: 0)
                let given = try ConfigMapping.decode(priceNode, path: modelPath, entries: price, into: &value)
                if known == nil, let missing = price.first(where: { !given.contains($0.key) }) {
                    throw ConfigError.invalid(joinPath(modelPath, missing.key),
                                              "is required for a model without a default price")
                }
                llm.prices[model] = value
            }
        },
        check: { llm, path in
            for model in llm.prices.keys.sorted() {
                if model.isEmpty { throw ConfigError.invalid(path, "model names must not be empty") }
                try ConfigMapping.check(llm.prices[model]!, path: joinPath(path, model), entries: price)
            }
        },
        emit: { llm, indent in
            guard !llm.prices.isEmpty else { return ["\(indent)prices: {}"] }
            return ["\(indent)prices:"] + llm.prices.keys.sorted().flatMap { model in
                ["\(indent)  \(ConfigScalar.quoted(model)):"]
                    + ConfigMapping.emit(llm.prices[model]!, indent: indent + "    ", entries: price)
            }
        },
        leafPaths: { path in ConfigMapping.leafPaths(joinPath(path, "<model>"), entries: price) }
    )

    /// `agents`: the list replaces the default five when given. `id` is required;
    /// `scrip` defaults to 100, `mind` to heuristic, `prompt` to the standard prompt.
    static let agents = ConfigEntry<WorldConfig>(
        key: "agents",
        decode: { node, path, config in
            if ConfigScalar.isNull(node) { return }
            guard case .sequence(let sequence) = node else {
                throw ConfigError.invalid(path, "must be a list of agents, got \(ConfigScalar.describe(node))")
            }
            config.agents = try sequence.enumerated().map { index, agentNode in
                let agentPath = "\(path)[\(index)]"
                guard case .mapping = agentNode else {
                    throw ConfigError.invalid(agentPath, "must be a mapping with at least an id, got \(ConfigScalar.describe(agentNode))")
                }
                var spec = AgentSpec(id: "")
                let given = try ConfigMapping.decode(agentNode, path: agentPath, entries: agent, into: &spec)
                guard given.contains("id") else { throw ConfigError.invalid(joinPath(agentPath, "id"), "is required") }
                if !given.contains("prompt") { spec.prompt = AgentSpec.defaultPrompt(for: spec.id) }
                return spec
            }
        },
        check: { config, path in
            var firstIndex: [String: Int] = [:]
            for (index, spec) in config.agents.enumerated() {
                let agentPath = "\(path)[\(index)]"
                try ConfigMapping.check(spec, path: agentPath, entries: agent)
                if let first = firstIndex[spec.id] {
                    throw ConfigError.invalid(joinPath(agentPath, "id"),
                                              "duplicates \(path)[\(first)].id, got \(ConfigScalar.quoted(spec.id))")
                }
                firstIndex[spec.id] = index
            }
            // The world's scrip is one Int64 sum (conservation is checked on it): keep it far from overflowing.
            var total: Int64 = 0
            for spec in config.agents {
                let (sum, overflow) = total.addingReportingOverflow(spec.scrip)
                guard !overflow, sum <= maxQuantity else {
                    throw ConfigError.invalid(path, "must be agents whose scrip totals at most \(maxQuantity), got more")
                }
                total = sum
            }
        },
        emit: { config, indent in
            guard !config.agents.isEmpty else { return ["\(indent)agents: []"] }
            return ["\(indent)agents:"] + config.agents.flatMap { spec in
                var lines = ConfigMapping.emit(spec, indent: indent + "    ", entries: agent)
                lines[0] = indent + "  - " + lines[0].dropFirst(indent.count + 4)
                return lines
            }
        },
        leafPaths: { path in ConfigMapping.leafPaths(path + "[]", entries: agent) }
    )

    /// Every key path of the file, in file order (`agents[].id`, `llm.prices.<model>.…`).
    static var leafPaths: [String] { ConfigMapping.leafPaths("", entries: entries) }

    static func isEnvironmentVariableName(_ name: String) -> Bool {
        guard let first = name.utf8.first, !(first >= 0x30 && first <= 0x39) else { return false }
        return name.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x5F }
    }
}
