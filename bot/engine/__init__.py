"""The channel-neutral dialogue engine: flows, state machine, matching, and the engine itself."""
