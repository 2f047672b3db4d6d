"""The coordinators' and operators' commands: flows check, test and graph, catalogue import, mediators' accounts."""
