"""Personal data kept only as long as needed: the retention purge and the encryption keys' commands."""
