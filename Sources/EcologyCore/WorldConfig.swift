/// Every number that shapes a world. Plain values: the EcologyConfig module loads
/// and validates them from YAML (`config/ecology.yaml`); tests build them in code.
/// Units are in the names: scrip is integer, dollars are micro-dollars, compute is CPU-ms.
public struct WorldConfig: Sendable, Equatable, Codable {
    public var resources = ResourceConfig()
    public var costs = CostConfig()
    public var limits = LimitConfig()
    public var mint = MintConfig()
    public var world = WorldSettings()
    public var retention = RetentionSettings()
    public var sandbox = SandboxSettings()
    public var supervisor = SupervisorSettings()
    public var llm = LLMSettings()
    public var agents: [AgentSpec] = AgentSpec.defaultFive

    public init() {}
}

public struct BucketConfig: Sendable, Equatable, Codable {
    public var ratePerSecond: Int64
    public var capacity: Int64
    /// Balance a new principal starts with (spawned principals start with nothing).
    public var initial: Int64
    public init(ratePerSecond: Int64, capacity: Int64, initial: Int64) {
        self.ratePerSecond = ratePerSecond; self.capacity = capacity; self.initial = initial
    }
}

public struct ResourceConfig: Sendable, Equatable, Codable {
    /// Compute in CPU-milliseconds.
    public var compute = BucketConfig(ratePerSecond: 100, capacity: 10_000, initial: 10_000)
    /// LLM tokens per agent.
    public var llmRate = BucketConfig(ratePerSecond: 200, capacity: 20_000, initial: 20_000)
    /// LLM tokens for the whole world (the provider's tokens-per-minute limit).
    public var systemLLMRate = BucketConfig(ratePerSecond: 2_000, capacity: 100_000, initial: 100_000)
    public var diskQuotaBytes: Int64 = 1_048_576
    public var llmBudgetMicrodollars: Int64 = 1_000_000
    public var memoryLimitBytes: Int64 = 256 * 1_048_576
    public init() {}
}

/// Compute charged by the kernel for its own work, in CPU-ms, on top of measured CPU.
public struct CostConfig: Sendable, Equatable, Codable {
    public var readMs: Int64 = 0
    public var writeMs: Int64 = 1
    public var invokeGenesisMs: Int64 = 0
    public var llmCallMs: Int64 = 1
    public init() {}
}

public struct LimitConfig: Sendable, Equatable, Codable {
    public var maxFrameBytes: Int = 1_048_576
    public var maxContentBytes: Int = 262_144
    public var maxCodeBytes: Int = 65_536
    public var maxInvokeDepth: Int = 5
    public var invokeTimeoutSeconds: Double = 5
    public var contractTimeoutSeconds: Double = 1
    public var maxOutputBytes: Int = 65_536
    public var executionCPUSeconds: Int = 5
    public var executionPids: Int = 16
    public var maxAmount: Int64 = 1_000_000_000_000
    public init() {}
}

public struct MintConfig: Sendable, Equatable, Codable {
    /// Resolution happens every `periodSeconds`, aligned to the world's epoch.
    public var periodSeconds: Int64 = 20
    public var slots: Int = 1
    /// Scrip minted = score / mintRatio (integer division).
    public var mintRatio: Int64 = 1
    public var minimumBid: Int64 = 1
    /// Minimum UBI per agent per resolution; the shortfall is minted.
    public var ubiFloor: Int64 = 0
    /// "builtin" (offline, deterministic) or "llm" (through the gateway).
    public var scorer: String = "builtin"
    public init() {}
}

public struct WorldSettings: Sendable, Equatable, Codable {
    public var tombstoneRetentionSeconds: Int64 = 86_400
    public var permissionCacheEntries: Int = 10_000
    public init() {}
}

/// How long traces, memories and events are kept, so that a world running for months
/// stays bounded (tombstones: `WorldSettings.tombstoneRetentionSeconds`). A limit of 0
/// is off. The supervisor prunes in passes of at most `batchRows` rows per kind and per
/// transaction, every `intervalSeconds` (sooner while a backlog remains).
public struct RetentionSettings: Sendable, Equatable, Codable {
    public var intervalSeconds: Double = 60
    public var batchRows: Int = 1_000
    /// Traces (the `traces` table) older than this are deleted.
    public var traceMaxAgeSeconds: Int64 = 604_800
    /// Only the newest this many traces of each agent are kept.
    public var traceMaxPerAgent: Int = 10_000
    /// Memory artifacts (kind "memory") not written for this long are deleted (tombstoned).
    public var memoryMaxAgeSeconds: Int64 = 0
    /// Only the newest this many memory artifacts of each owner are kept.
    public var memoryMaxPerAgent: Int = 1_000
    /// Events older than this are archived to JSONL and then deleted from the database.
    public var eventMaxAgeSeconds: Int64 = 0
    /// Only the newest this many events stay in the database; older ones are archived first.
    public var eventMaxRows: Int64 = 0
    public init() {}
}

public struct SandboxSettings: Sendable, Equatable, Codable {
    public var python: String = "/usr/bin/python3"
    /// "auto" picks the strongest layers the host allows; "none" is for development only.
    public var mode: String = "auto"
    public init() {}
}

public struct SupervisorSettings: Sendable, Equatable, Codable {
    public var restartIntensity: Int = 3
    public var restartPeriodSeconds: Double = 30
    public var restartBackoffSeconds: Double = 0.5
    public var shutdownTimeoutSeconds: Double = 2
    public var metricsWindowSeconds: Double = 1
    public init() {}
}

public struct ModelPrice: Sendable, Equatable, Codable {
    public var inputPerMillionMicrodollars: Int64
    public var outputPerMillionMicrodollars: Int64
    public init(inputPerMillionMicrodollars: Int64, outputPerMillionMicrodollars: Int64) {
        self.inputPerMillionMicrodollars = inputPerMillionMicrodollars
        self.outputPerMillionMicrodollars = outputPerMillionMicrodollars
    }
}

public struct LLMSettings: Sendable, Equatable, Codable {
    /// OpenAI-compatible base URL, e.g. http://127.0.0.1:11434/v1 for Ollama.
    public var baseURL: String = "http://127.0.0.1:11434/v1"
    public var model: String = "llama3.2"
    /// Name of the environment variable that holds the API key (never the key itself).
    public var apiKeyEnv: String = "ECOLOGY_LLM_API_KEY"
    public var maxTokens: Int = 512
    public var temperature: Double = 0.7
    public var timeoutSeconds: Double = 60
    /// "tools" (function calling) or "json_schema" / "json_object" structured output.
    public var structuredOutput: String = "tools"
    public var prices: [String: ModelPrice] = ["llama3.2": ModelPrice(inputPerMillionMicrodollars: 0, outputPerMillionMicrodollars: 0)]
    public init() {}
}

public struct AgentSpec: Sendable, Equatable, Codable {
    public var id: String
    public var scrip: Int64
    /// "heuristic" or "llm".
    public var mind: String
    public var prompt: String
    public init(id: String, scrip: Int64 = 100, mind: String = "heuristic", prompt: String = "") {
        self.id = id; self.scrip = scrip; self.mind = mind; self.prompt = prompt
    }

    public static let defaultFive: [AgentSpec] = ["alpha", "beta", "gamma", "delta", "epsilon"].map {
        AgentSpec(id: $0, prompt: "You are \($0), an agent in an economy. Build useful tools, trade, and grow your scrip.")
    }
}
