import EcologyCore

extension WorldConfig {
    /// Throws the first problem that makes this configuration unusable, with its key path:
    /// every value within its bounds (as `docs/CONFIG.md` lists them), then the rules
    /// that tie keys together.
    ///
    /// `ConfigLoader` calls this on everything it loads; call it again after changing a
    /// configuration in code (`withAgents(count:)`, `withMind(_:)`, CLI flags).
    public func validate() throws {
        try ConfigMapping.check(self, path: "", entries: WorldConfigSchema.entries)
        try checkRelations()
    }

    private func checkRelations() throws {
        for (key, bucket) in [("compute", resources.compute), ("llm_rate", resources.llmRate),
                              ("system_llm_rate", resources.systemLLMRate)]
        where bucket.initial > bucket.capacity {
            throw ConfigError.invalid("resources.\(key).initial",
                                      "must be at most resources.\(key).capacity (\(bucket.capacity)), got \(bucket.initial)")
        }
        // A write carries content and code in one frame; an execution's output comes back in one.
        let write = limits.maxContentBytes + limits.maxCodeBytes
        if write > limits.maxFrameBytes {
            throw ConfigError.invalid("limits.max_frame_bytes",
                                      "must be at least limits.max_content_bytes + limits.max_code_bytes (\(write)), got \(limits.maxFrameBytes)")
        }
        if limits.maxOutputBytes > limits.maxFrameBytes {
            throw ConfigError.invalid("limits.max_output_bytes",
                                      "must be at most limits.max_frame_bytes (\(limits.maxFrameBytes)), got \(limits.maxOutputBytes)")
        }
        // An unpriced model would be billed at $0 and drain nothing: refuse it instead.
        if llm.prices[llm.model] == nil {
            throw ConfigError.invalid("llm.model",
                                      "has no price in llm.prices (add llm.prices.\(llm.model) with both prices; 0 for a free local model), got \(ConfigScalar.quoted(llm.model))")
        }
    }
}
