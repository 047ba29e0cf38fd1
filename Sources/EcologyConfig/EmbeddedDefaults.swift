extension ConfigLoader {
    /// The text of `config/ecology.yaml`, compiled in so that `ecology` runs with its
    /// defaults where that file is missing. A test keeps the two identical.
    public static let embeddedDefaultsYAML = #"""
    # Ecology world configuration.
    #
    # Every key is optional: a key left out keeps the default shown here, and these
    # values are the built-in defaults (used as they are when this file is missing).
    # Unknown keys and out-of-range values are errors naming the key's full path.
    # Integers must be written as integers (1, not 1.0 or "1"); seconds may be
    # fractional where the key says so. docs/CONFIG.md lists every key and its bounds.
    #
    # Units: compute is CPU-milliseconds (CPU-ms); LLM tokens are tokens; money is
    # micro-dollars (1,000,000 = $1); sizes are bytes; times are seconds.

    resources:
      # Token buckets refill continuously at rate_per_second up to capacity; a new
      # principal starts with `initial` (a spawned one starts with nothing).
      compute:                      # CPU-ms per principal
        rate_per_second: 100
        capacity: 10000
        initial: 10000
      llm_rate:                     # LLM tokens per agent
        rate_per_second: 200
        capacity: 20000
        initial: 20000
      system_llm_rate:              # LLM tokens for the whole world (provider's limit)
        rate_per_second: 2000
        capacity: 100000
        initial: 100000
      disk_quota_bytes: 1048576     # bytes per principal (1 MiB)
      llm_budget_microdollars: 1000000  # micro-dollars per agent ($1.00)
      memory_limit_bytes: 268435456 # bytes per child process (256 MiB)

    costs:
      # Compute (CPU-ms) charged for the kernel's own work, on top of measured CPU.
      read_ms: 0
      write_ms: 1
      invoke_genesis_ms: 0
      llm_call_ms: 1

    limits:
      max_frame_bytes: 1048576      # bytes; largest wire frame (1 MiB)
      max_content_bytes: 262144     # bytes; largest artifact content (256 KiB)
      max_code_bytes: 65536         # bytes; largest artifact code (64 KiB)
      max_invoke_depth: 5           # nested invokes
      invoke_timeout_seconds: 5.0   # seconds (fractional allowed), wall clock per invoke
      contract_timeout_seconds: 1.0 # seconds (fractional allowed), per contract check
      max_output_bytes: 65536       # bytes; largest execution output (64 KiB)
      execution_cpu_seconds: 5      # CPU-seconds per execution (rlimit)
      execution_pids: 16            # processes per execution (cgroup)
      max_amount: 1000000000000     # largest amount in one action (scrip, CPU-ms, ...)

    mint:
      period_seconds: 20            # seconds between resolutions, aligned to the epoch
      slots: 1                      # winning bids per resolution
      mint_ratio: 1                 # scrip minted = score / mint_ratio
      minimum_bid: 1                # scrip
      ubi_floor: 0                  # scrip per agent per resolution; shortfall is minted
      scorer: "builtin"             # "builtin" (offline, deterministic) or "llm"

    world:
      tombstone_retention_seconds: 86400  # seconds a tombstone is kept (1 day)
      permission_cache_entries: 10000     # cached contract decisions (0 disables)

    retention:
      # 0 turns a limit off. Pruned events are archived first (DATA_DIR/archive/*.jsonl).
      interval_seconds: 60.0        # seconds (fractional allowed) between retention passes
      batch_rows: 1000              # rows per kind per transaction (writers never stall)
      trace_max_age_seconds: 604800 # seconds a trace is kept (7 days)
      trace_max_per_agent: 10000    # newest traces kept per agent
      memory_max_age_seconds: 0     # seconds since its last write a memory is kept (0: forever)
      memory_max_per_agent: 1000    # newest memory artifacts kept per owner
      event_max_age_seconds: 0      # seconds an event stays in the database (0: forever)
      event_max_rows: 0             # newest events kept in the database (0: all)

    sandbox:
      python: "/usr/bin/python3"    # absolute path of the interpreter for artifact code
      mode: "auto"                  # "auto" (strongest layers the host allows) or "none" (development only)

    supervisor:
      restart_intensity: 3          # restarts allowed within restart_period_seconds, then parked
      restart_period_seconds: 30.0  # seconds (fractional allowed)
      restart_backoff_seconds: 0.5  # seconds (fractional allowed) before a restart
      shutdown_timeout_seconds: 2.0 # seconds (fractional allowed) between SIGTERM and SIGKILL
      metrics_window_seconds: 1.0   # seconds (fractional allowed) per metrics window

    llm:
      base_url: "http://127.0.0.1:11434/v1"  # OpenAI-compatible endpoint (here: Ollama)
      model: "llama3.2"             # must have an entry in `prices`
      api_key_env: "ECOLOGY_LLM_API_KEY"     # name of the environment variable holding the key
      max_tokens: 512               # tokens per completion
      temperature: 0.7              # 0 to 2
      timeout_seconds: 60.0         # seconds (fractional allowed) per request
      structured_output: "tools"    # "tools", "json_schema" or "json_object"
      # Micro-dollars per million tokens. Models given here are added to this table;
      # a model without a price is a config error, never free by accident.
      prices:
        "llama3.2":
          input_per_million_microdollars: 0
          output_per_million_microdollars: 0

    # The agents of a new world. When given, this list replaces the default five.
    # Only `id` is required: scrip defaults to 100, mind to "heuristic" (or "llm"),
    # prompt to "You are <id>, an agent in an economy. Build useful tools, trade, and grow your scrip."
    agents:
      - id: "alpha"
        scrip: 100
        mind: "heuristic"
        prompt: "You are alpha, an agent in an economy. Build useful tools, trade, and grow your scrip."
      - id: "beta"
        scrip: 100
        mind: "heuristic"
        prompt: "You are beta, an agent in an economy. Build useful tools, trade, and grow your scrip."
      - id: "gamma"
        scrip: 100
        mind: "heuristic"
        prompt: "You are gamma, an agent in an economy. Build useful tools, trade, and grow your scrip."
      - id: "delta"
        scrip: 100
        mind: "heuristic"
        prompt: "You are delta, an agent in an economy. Build useful tools, trade, and grow your scrip."
      - id: "epsilon"
        scrip: 100
        mind: "heuristic"
        prompt: "You are epsilon, an agent in an economy. Build useful tools, trade, and grow your scrip."

    """#
}
