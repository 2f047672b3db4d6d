"""The coordinators' files: YAML with line numbers; flows, personas, the national standard's vocabulary, checks."""
