"""Free text read against a question's buttons: candidates, fuzzy matching, negation."""
