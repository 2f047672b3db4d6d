"""The channel-neutral dialogue engine: one turn of one conversation, its typed state, the flow machine."""
