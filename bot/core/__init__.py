"""The channel-neutral core: value types (Inbound, Reply, Turn), errors, slots, text normalisation, commands, clock."""
